using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Skiff.Oci;

namespace Skiff.Runtime.Cgroups;

/// <summary>
/// cgroup v2 has no devices.allow file: device rules are an eBPF program of type
/// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup, as runc's devicefilter builds it.
/// Rules are checked last to first, so a later rule overrides an earlier one; what no rule
/// matches is denied.
/// </summary>
public static unsafe class DeviceFilter
{
    // eBPF opcodes (linux/bpf.h)
    private const byte LdxMemW = 0x61, And32K = 0x54, Rsh32K = 0x74, Mov64K = 0xb7, JneK = 0x55, JsetK = 0x45, Exit = 0x95;
    private const int DevBlock = 1, DevChar = 2;

    /// <summary>runc's AllowedDevices, allowed whatever the spec says (as the v1 path does).</summary>
    public static readonly DeviceCgroup[] Defaults =
    [
        Rule('c', null, null, "m"), Rule('b', null, null, "m"),
        Rule('c', 1, 3, "rwm"), Rule('c', 1, 5, "rwm"), Rule('c', 1, 7, "rwm"), Rule('c', 1, 8, "rwm"), Rule('c', 1, 9, "rwm"),
        Rule('c', 5, 0, "rwm"), Rule('c', 5, 1, "rwm"), Rule('c', 5, 2, "rwm"), Rule('c', 136, null, "rwm"), Rule('c', 10, 200, "rwm"),
    ];

    private static DeviceCgroup Rule(char type, long? major, long? minor, string access) =>
        new() { Allow = true, Type = type.ToString(), Major = major, Minor = minor, Access = access };

    /// <summary>The program as 8-byte eBPF instructions.</summary>
    public static byte[] Compile(IReadOnlyList<DeviceCgroup> rules)
    {
        var insns = new List<(byte Code, byte Dst, byte Src, short Off, int Imm)>
        {
            (LdxMemW, 2, 1, 0, 0), (And32K, 2, 0, 0, 0xffff), // r2 = device type
            (LdxMemW, 3, 1, 0, 0), (Rsh32K, 3, 0, 0, 16),     // r3 = access asked for
            (LdxMemW, 4, 1, 4, 0),                            // r4 = major
            (LdxMemW, 5, 1, 8, 0),                            // r5 = minor
        };
        bool matchesAll = false;
        for (int i = rules.Count - 1; i >= 0 && !matchesAll; i--)
        {
            var r = rules[i];
            var block = new List<(byte, byte, byte, short, int)>();
            int type = r.Type switch
            {
                null or "" or "a" => 0,
                "c" or "u" => DevChar,
                "b" => DevBlock,
                _ => throw SkiffException.Invalid($"linux.resources.devices[{i}].type: \"{r.Type}\" is not a, c or b"),
            };
            int access = 0;
            foreach (char c in string.IsNullOrEmpty(r.Access) ? "rwm" : r.Access)
            {
                access |= c switch
                {
                    'm' => 1,
                    'r' => 2,
                    'w' => 4,
                    _ => throw SkiffException.Invalid($"linux.resources.devices[{i}].access: \"{r.Access}\" is not made of r, w and m"),
                };
            }
            // Jumps go to the end of this block ("next rule"); offsets are patched below.
            if (type != 0)
            {
                block.Add((JneK, 2, 0, 0, type));
            }
            if (access != 7)
            {
                block.Add((JsetK, 3, 0, 0, ~access & 7)); // asks for something this rule does not grant
            }
            if (r.Major is { } major and >= 0)
            {
                block.Add((JneK, 4, 0, 0, (int)major));
            }
            if (r.Minor is { } minor and >= 0)
            {
                block.Add((JneK, 5, 0, 0, (int)minor));
            }
            block.Add((Mov64K, 0, 0, 0, r.Allow ? 1 : 0));
            block.Add((Exit, 0, 0, 0, 0));
            for (int j = 0; j < block.Count - 2; j++)
            {
                var (code, dst, src, _, imm) = block[j];
                block[j] = (code, dst, src, (short)(block.Count - j - 1), imm);
            }
            insns.AddRange(block);
            // A rule for every device: nothing after it can run, and the verifier refuses dead code.
            matchesAll = block.Count == 2;
        }
        if (!matchesAll)
        {
            insns.Add((Mov64K, 0, 0, 0, 0)); // what no rule matched is denied
            insns.Add((Exit, 0, 0, 0, 0));
        }

        var bytes = new byte[insns.Count * 8];
        for (int i = 0; i < insns.Count; i++)
        {
            var (code, dst, src, off, imm) = insns[i];
            var span = bytes.AsSpan(i * 8, 8);
            span[0] = code;
            span[1] = (byte)((src << 4) | dst);
            BinaryPrimitives.WriteInt16LittleEndian(span[2..], off);
            BinaryPrimitives.WriteInt32LittleEndian(span[4..], imm);
        }
        return bytes;
    }

    /// <summary>Loads the program and attaches it to the cgroup directory (BPF_F_ALLOW_MULTI).</summary>
    public static void Attach(string cgroupDir, byte[] program)
    {
        int cgroup = Interop.Libc.open(cgroupDir, 0x10000 /* O_DIRECTORY */ | Interop.Libc.O_CLOEXEC);
        if (cgroup < 0)
        {
            throw new SystemCallException($"open {cgroupDir}", Marshal.GetLastPInvokeError());
        }
        try
        {
            byte* attr = stackalloc byte[128];
            new Span<byte>(attr, 128).Clear();
            byte[] license = "Apache-2.0\0"u8.ToArray();
            int prog;
            fixed (byte* insns = program)
            fixed (byte* lic = license)
            {
                *(uint*)(attr + 0) = 15;                        // BPF_PROG_TYPE_CGROUP_DEVICE
                *(uint*)(attr + 4) = (uint)(program.Length / 8); // insn_cnt
                *(ulong*)(attr + 8) = (ulong)insns;
                *(ulong*)(attr + 16) = (ulong)lic;
                prog = (int)Interop.Libc.bpf(5 /* BPF_PROG_LOAD */, attr, 128);
            }
            if (prog < 0)
            {
                int err = Marshal.GetLastPInvokeError();
                throw SkiffException.Internal($"load the cgroup v2 device filter (bpf BPF_PROG_LOAD): {Errno.Describe(err)}: {VerifierLog(program, license)}");
            }
            try
            {
                new Span<byte>(attr, 128).Clear();
                *(uint*)(attr + 0) = (uint)cgroup;
                *(uint*)(attr + 4) = (uint)prog;
                *(uint*)(attr + 8) = 6;  // BPF_CGROUP_DEVICE
                *(uint*)(attr + 12) = 2; // BPF_F_ALLOW_MULTI
                if (Interop.Libc.bpf(8 /* BPF_PROG_ATTACH */, attr, 128) < 0)
                {
                    throw new SystemCallException($"attach the device filter to {cgroupDir}", Marshal.GetLastPInvokeError());
                }
            }
            finally
            {
                Interop.Libc.close(prog); // the attachment holds the program
            }
        }
        finally
        {
            Interop.Libc.close(cgroup);
        }
    }

    /// <summary>Loads again with the verifier's log on, to say why the kernel refused the program.</summary>
    private static string VerifierLog(byte[] program, byte[] license)
    {
        byte* attr = stackalloc byte[128];
        new Span<byte>(attr, 128).Clear();
        var log = new byte[16384];
        fixed (byte* insns = program)
        fixed (byte* lic = license)
        fixed (byte* buf = log)
        {
            *(uint*)(attr + 0) = 15;
            *(uint*)(attr + 4) = (uint)(program.Length / 8);
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)lic;
            *(uint*)(attr + 24) = 1; // log_level
            *(uint*)(attr + 28) = (uint)log.Length;
            *(ulong*)(attr + 32) = (ulong)buf;
            long fd = Interop.Libc.bpf(5, attr, 128);
            if (fd >= 0)
            {
                Interop.Libc.close((int)fd);
            }
        }
        return System.Text.Encoding.UTF8.GetString(log).TrimEnd('\0').Trim().Replace('\n', ' ');
    }
}
