using Skiff.Oci;
using Skiff.Oci.Seccomp;

namespace Skiff.Tests.Seccomp;

/// <summary>A compiled, kernel-checked filter to ask for decisions, plus profile builders.</summary>
public sealed class SeccompFilter
{
    public SeccompProgram Program { get; }
    public ClassicBpf.Insn[] Code { get; }

    public SeccompFilter(LinuxSeccomp profile)
    {
        Program = SeccompCompiler.Compile(profile);
        Code = ClassicBpf.Decode(Program.Filter);
        ClassicBpf.Validate(Code);
    }

    public int Length => Code.Length;

    public uint Decide(SeccompData data) => ClassicBpf.Run(Code, data).Action;

    public static LinuxSeccomp Profile(string defaultAction, params SeccompSyscall[] syscalls) => new()
    {
        DefaultAction = defaultAction,
        Syscalls = [.. syscalls],
    };

    public static SeccompSyscall Rule(string action, string[] names, uint? errnoRet = null, params SeccompArg[] args) => new()
    {
        Names = [.. names],
        Action = action,
        ErrnoRet = errnoRet,
        Args = args.Length == 0 ? null : [.. args],
    };

    public static SeccompSyscall Allow(params string[] names) => Rule("SCMP_ACT_ALLOW", names);

    public static SeccompArg Arg(uint index, string op, ulong value, ulong valueTwo = 0) => new()
    {
        Index = index,
        Op = op,
        Value = value,
        ValueTwo = valueTwo,
    };
}
