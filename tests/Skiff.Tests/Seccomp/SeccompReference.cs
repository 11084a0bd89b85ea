using Skiff.Oci;
using Skiff.Oci.Seccomp;

namespace Skiff.Tests.Seccomp;

/// <summary>
/// What a compiled filter should decide, worked out directly from the profile with no BPF
/// in between: the model the differential tests hold the compiler to.
/// </summary>
public static class SeccompReference
{
    public const uint RetKillProcess = 0x80000000, RetKillThread = 0, RetTrap = 0x00030000, RetErrno = 0x00050000;
    public const uint RetNotify = 0x7fc00000, RetTrace = 0x7ff00000, RetLog = 0x7ffc0000, RetAllow = 0x7fff0000;
    public const int X32Bit = 0x40000000;

    /// <summary>Syscall numbers from the kernel ABI, written out by hand (x32 without its bit); -1 = absent.</summary>
    public static readonly (string Name, int X86_64, int I386, int X32)[] Known =
    [
        ("read", 0, 3, 0),
        ("write", 1, 4, 1),
        ("open", 2, 5, 2),
        ("close", 3, 6, 3),
        ("mmap", 9, 90, 9),
        ("rt_sigaction", 13, 174, 512),
        ("ioctl", 16, 54, 514),
        ("getpid", 39, 20, 39),
        ("socket", 41, 359, 41),
        ("clone", 56, 120, 56),
        ("execve", 59, 11, 520),
        ("kill", 62, 37, 62),
        ("personality", 135, 136, 135),
        ("arch_prctl", 158, 384, 158),
        ("mount", 165, 21, 165),
        ("process_vm_readv", 310, 347, 539),
        ("clone3", 435, 435, 435),
        ("openat2", 437, 437, 437),
        ("futex_waitv", 449, 449, 449),
        ("set_mempolicy_home_node", 450, 450, 450),
        ("chown32", -1, 212, -1),
        ("socketcall", -1, 102, -1),
        ("_llseek", -1, 140, -1),
        ("waitpid", -1, 7, -1),
    ];

    public static uint Action(string name, uint? errnoRet) => name switch
    {
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => RetKillThread,
        "SCMP_ACT_KILL_PROCESS" => RetKillProcess,
        "SCMP_ACT_TRAP" => RetTrap,
        "SCMP_ACT_ERRNO" => RetErrno | (errnoRet ?? 1),
        "SCMP_ACT_TRACE" => RetTrace | (errnoRet ?? 1),
        "SCMP_ACT_ALLOW" => RetAllow,
        "SCMP_ACT_LOG" => RetLog,
        "SCMP_ACT_NOTIFY" => RetNotify,
        _ => throw new ArgumentException(name),
    };

    private enum Column { X86_64, I386, X32 }

    public static uint Decide(LinuxSeccomp profile, SeccompData data)
    {
        uint fallback = Action(profile.DefaultAction, profile.DefaultErrnoRet);
        var arches = new HashSet<string>(profile.Architectures ?? []) { "SCMP_ARCH_X86_64" };
        Column column;
        if (data.Arch == SeccompData.AuditX86_64)
        {
            if ((data.Nr & X32Bit) != 0 && !arches.Contains("SCMP_ARCH_X32"))
            {
                return RetKillThread; // libseccomp's bad-arch action
            }
            column = (data.Nr & X32Bit) != 0 ? Column.X32 : Column.X86_64;
        }
        else if (data.Arch == SeccompData.AuditI386 && arches.Contains("SCMP_ARCH_X86"))
        {
            column = Column.I386;
        }
        else if ((data.Arch == SeccompData.AuditAarch64 && arches.Contains("SCMP_ARCH_AARCH64")) ||
                 (data.Arch == SeccompData.AuditArm && arches.Contains("SCMP_ARCH_ARM")))
        {
            return fallback; // listed, but no names resolve on this host
        }
        else
        {
            return RetKillThread;
        }

        var syscalls = profile.Syscalls ?? [];
        bool stub = (fallback & 0xffff0000) is not (RetAllow or RetLog or RetTrace) && fallback != (RetErrno | 38);
        long highest = -1;
        foreach (var entry in syscalls)
        {
            foreach (var name in entry.Names)
            {
                highest = Math.Max(highest, Number(name, column));
            }
        }
        if (stub && highest >= 0 && (uint)data.Nr > highest)
        {
            return RetErrno | 38;
        }

        bool wide = column == Column.X86_64;
        foreach (var entry in syscalls)
        {
            if (!entry.Names.Exists(n => Number(n, column) == (uint)data.Nr))
            {
                continue;
            }
            uint action = Action(entry.Action, entry.ErrnoRet);
            var args = entry.Args ?? [];
            bool repeats = args.GroupBy(a => a.Index).Any(g => g.Count() > 1);
            bool match = args.Count == 0 ||
                (repeats ? args.Any(a => Holds(a, data, wide)) : args.All(a => Holds(a, data, wide)));
            if (match)
            {
                return action;
            }
        }
        return fallback;
    }

    private static long Number(string name, Column column)
    {
        foreach (var k in Known)
        {
            if (k.Name == name)
            {
                int nr = column switch { Column.X86_64 => k.X86_64, Column.I386 => k.I386, _ => k.X32 };
                return nr < 0 ? -1 : column == Column.X32 ? nr | X32Bit : nr;
            }
        }
        // Other names: the generated table, itself checked against Known.
        int row = SyscallTable.IndexOf(name);
        if (row < 0)
        {
            return -1;
        }
        return column switch
        {
            Column.X86_64 => SyscallTable.X86_64[row],
            Column.I386 => SyscallTable.I386[row],
            _ => SyscallTable.X32[row],
        };
    }

    private static bool Holds(SeccompArg arg, SeccompData data, bool wide)
    {
        ulong m = wide ? ulong.MaxValue : uint.MaxValue;
        ulong x = (arg.Index < data.Args.Length ? data.Args[arg.Index] : 0) & m;
        ulong v = arg.Value & m, v2 = arg.ValueTwo & m;
        return arg.Op switch
        {
            "SCMP_CMP_NE" => x != v,
            "SCMP_CMP_LT" => x < v,
            "SCMP_CMP_LE" => x <= v,
            "SCMP_CMP_EQ" => x == v,
            "SCMP_CMP_GE" => x >= v,
            "SCMP_CMP_GT" => x > v,
            "SCMP_CMP_MASKED_EQ" => (x & v) == (v2 & v),
            _ => throw new ArgumentException(arg.Op),
        };
    }
}
