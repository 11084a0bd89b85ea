using System.Runtime.InteropServices;

namespace Skiff.Tests.Seccomp;

/// <summary>struct seccomp_data, the input of a seccomp filter.</summary>
public sealed record SeccompData(int Nr, uint Arch, ulong InstructionPointer, params ulong[] Args)
{
    public const uint AuditX86_64 = 0xC000003E;
    public const uint AuditI386 = 0x40000003;
    public const uint AuditAarch64 = 0xC00000B7;
    public const uint AuditArm = 0x40000028;

    public static SeccompData X86_64(int nr, params ulong[] args) => new(nr, AuditX86_64, 0, args);
    public static SeccompData I386(int nr, params ulong[] args) => new(nr, AuditI386, 0, args);
    public static SeccompData X32(int nr, params ulong[] args) => new(nr | 0x40000000, AuditX86_64, 0, args);

    /// <summary>The 64 bytes the kernel lays out for the filter, in host byte order.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[64];
        var span = bytes.AsSpan();
        MemoryMarshal.Write(span, Nr);
        MemoryMarshal.Write(span[4..], Arch);
        MemoryMarshal.Write(span[8..], InstructionPointer);
        for (int i = 0; i < 6; i++)
        {
            MemoryMarshal.Write(span[(16 + 8 * i)..], i < Args.Length ? Args[i] : 0UL);
        }
        return bytes;
    }
}

/// <summary>
/// A classic BPF machine for seccomp filters: checks a program the way the kernel does
/// (bpf_check_classic, seccomp_check_filter) and runs it on a seccomp_data.
/// </summary>
public static class ClassicBpf
{
    public readonly record struct Insn(ushort Code, byte Jt, byte Jf, uint K);

    public const ushort LdWAbs = 0x20, AluAndK = 0x54, Ja = 0x05, Jeq = 0x15, Jgt = 0x25, Jge = 0x35, Jset = 0x45, RetK = 0x06;

    public static Insn[] Decode(byte[] filter)
    {
        Assert.True(filter.Length % 8 == 0, $"filter is {filter.Length} bytes, not a whole number of sock_filter");
        var program = new Insn[filter.Length / 8];
        for (int i = 0; i < program.Length; i++)
        {
            var s = filter.AsSpan(8 * i, 8);
            program[i] = new Insn(MemoryMarshal.Read<ushort>(s), s[2], s[3], MemoryMarshal.Read<uint>(s[4..]));
        }
        return program;
    }

    /// <summary>Fails the test where the kernel would refuse the filter with EINVAL.</summary>
    public static void Validate(Insn[] program)
    {
        Assert.InRange(program.Length, 1, 4096);
        for (int pc = 0; pc < program.Length; pc++)
        {
            var insn = program[pc];
            switch (insn.Code)
            {
                case LdWAbs:
                    Assert.True(insn.K < 64 && insn.K % 4 == 0, $"[{pc}] load at offset {insn.K} outside seccomp_data");
                    break;
                case AluAndK:
                case RetK:
                    break;
                case Ja:
                    Assert.True((ulong)pc + 1 + insn.K < (ulong)program.Length, $"[{pc}] ja {insn.K} leaves the program");
                    break;
                case Jeq or Jgt or Jge or Jset:
                    Assert.True(pc + 1 + insn.Jt < program.Length && pc + 1 + insn.Jf < program.Length,
                        $"[{pc}] jump {insn.Jt}/{insn.Jf} leaves the program");
                    break;
                default:
                    Assert.Fail($"[{pc}] opcode 0x{insn.Code:x2} is not one this compiler should emit");
                    break;
            }
        }
        Assert.True(program[^1].Code == RetK, "the last instruction must be a return");
    }

    /// <summary>Runs the filter; returns the SECCOMP_RET_* value and how many instructions ran.</summary>
    public static (uint Action, int Steps) Run(Insn[] program, SeccompData data)
    {
        var input = data.ToBytes();
        uint a = 0;
        int pc = 0, steps = 0;
        while (true)
        {
            var insn = program[pc++];
            steps++;
            switch (insn.Code)
            {
                case LdWAbs:
                    a = MemoryMarshal.Read<uint>(input.AsSpan((int)insn.K, 4));
                    break;
                case AluAndK:
                    a &= insn.K;
                    break;
                case Ja:
                    pc += (int)insn.K;
                    break;
                case Jeq:
                    pc += a == insn.K ? insn.Jt : insn.Jf;
                    break;
                case Jgt:
                    pc += a > insn.K ? insn.Jt : insn.Jf;
                    break;
                case Jge:
                    pc += a >= insn.K ? insn.Jt : insn.Jf;
                    break;
                case Jset:
                    pc += (a & insn.K) != 0 ? insn.Jt : insn.Jf;
                    break;
                case RetK:
                    return (insn.K, steps);
                default:
                    throw new InvalidOperationException($"opcode 0x{insn.Code:x2}");
            }
        }
    }

    /// <summary>A readable listing, for failure messages.</summary>
    public static string Disassemble(Insn[] program)
    {
        var sb = new System.Text.StringBuilder();
        for (int pc = 0; pc < program.Length; pc++)
        {
            var i = program[pc];
            string text = i.Code switch
            {
                LdWAbs => $"ld [{i.K}]",
                AluAndK => $"and #0x{i.K:x}",
                Ja => $"ja {pc + 1 + i.K}",
                Jeq => $"jeq #0x{i.K:x} {pc + 1 + i.Jt} {pc + 1 + i.Jf}",
                Jgt => $"jgt #0x{i.K:x} {pc + 1 + i.Jt} {pc + 1 + i.Jf}",
                Jge => $"jge #0x{i.K:x} {pc + 1 + i.Jt} {pc + 1 + i.Jf}",
                Jset => $"jset #0x{i.K:x} {pc + 1 + i.Jt} {pc + 1 + i.Jf}",
                RetK => $"ret #0x{i.K:x8}",
                _ => $"0x{i.Code:x2}",
            };
            sb.Append(pc).Append(": ").AppendLine(text);
        }
        return sb.ToString();
    }
}
