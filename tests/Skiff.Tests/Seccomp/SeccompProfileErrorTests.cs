using Skiff.Oci;
using Skiff.Oci.Seccomp;
using static Skiff.Tests.Seccomp.SeccompFilter;

namespace Skiff.Tests.Seccomp;

public class SeccompProfileErrorTests
{
    private static void Refused(LinuxSeccomp profile, string message)
    {
        var e = Assert.Throws<SkiffException>(() => SeccompCompiler.Compile(profile));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Equal(message, e.Message);
    }

    private static LinuxSeccomp FourRules(SeccompSyscall fourth) =>
        Profile("SCMP_ACT_ERRNO", Allow("read"), Allow("write"), Allow("close"), fourth);

    [Fact]
    public void An_unknown_action_names_its_entry()
    {
        Refused(FourRules(Rule("SCMP_ACT_FOO", ["open"])),
            "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
    }

    [Fact]
    public void An_unknown_default_action_is_refused()
    {
        Refused(Profile("SCMP_ACT_ALOW"), "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_ALOW\"");
        Refused(Profile(""), "linux.seccomp.defaultAction: unknown action \"\"");
    }

    [Fact]
    public void Notify_cannot_be_the_default_action()
    {
        Refused(Profile("SCMP_ACT_NOTIFY"), "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    }

    [Theory]
    [InlineData("write")]
    [InlineData("sendmsg")]
    public void Notify_is_refused_for_the_calls_that_hand_the_listener_over(string name)
    {
        Refused(FourRules(Rule("SCMP_ACT_NOTIFY", ["mkdir", name])),
            $"linux.seccomp.syscalls[3]: SCMP_ACT_NOTIFY cannot be used for the {name} syscall (the runtime needs it to hand the listener over)");
    }

    [Fact]
    public void An_unknown_arch_names_its_index()
    {
        var p = Profile("SCMP_ACT_ERRNO");
        p.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"];
        Refused(p, "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
    }

    [Fact]
    public void Every_spec_arch_is_known()
    {
        var p = Profile("SCMP_ACT_ERRNO", Allow("read"));
        p.Architectures =
        [
            "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
            "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
            "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
            "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
        ];
        var f = new SeccompFilter(p);
        Assert.Equal(SeccompReference.RetErrno | 1, f.Decide(new SeccompData(0, 0x80000016, 0))); // s390x
        Assert.Equal(SeccompReference.RetErrno | 1, f.Decide(new SeccompData(0, 0xC00000F3, 0))); // riscv64
        Assert.Equal(SeccompReference.RetAllow, f.Decide(SeccompData.X86_64(0)));
    }

    [Fact]
    public void An_unknown_operator_names_its_argument()
    {
        Refused(Profile("SCMP_ACT_ERRNO",
                Rule("SCMP_ACT_ALLOW", ["socket"], null, Arg(0, "SCMP_CMP_EQ", 2), Arg(1, "SCMP_CMP_FOO", 1))),
            "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_FOO\"");
    }

    [Fact]
    public void An_argument_index_past_5_is_refused()
    {
        Refused(FourRules(Rule("SCMP_ACT_ALLOW", ["open"], null, Arg(6, "SCMP_CMP_EQ", 2))),
            "linux.seccomp.syscalls[3].args[0].index: 6 is not an argument index (0 to 5)");
    }

    [Fact]
    public void An_unknown_flag_names_its_index()
    {
        var p = Profile("SCMP_ACT_ERRNO");
        p.Flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE"];
        Refused(p, "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
    }

    [Fact]
    public void Wait_killable_recv_needs_a_notify_rule()
    {
        var p = Profile("SCMP_ACT_ERRNO", Allow("read"));
        p.Flags = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];
        Refused(p, "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule (the kernel refuses it without a listener)");
    }

    [Fact]
    public void ErrnoRet_only_goes_with_errno_and_trace()
    {
        Refused(FourRules(Rule("SCMP_ACT_ALLOW", ["open"], errnoRet: 1)),
            "linux.seccomp.syscalls[3].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW");

        var p = Profile("SCMP_ACT_KILL_PROCESS");
        p.DefaultErrnoRet = 38;
        Refused(p, "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL_PROCESS");

        Refused(FourRules(Rule("SCMP_ACT_ERRNO", ["open"], errnoRet: 70000)),
            "linux.seccomp.syscalls[3].errnoRet: 70000 does not fit the 16 bits of SECCOMP_RET_DATA");
    }

    [Fact]
    public void Entries_without_names_are_refused()
    {
        Refused(FourRules(Rule("SCMP_ACT_ALLOW", [])), "linux.seccomp.syscalls[3].names: no syscall named");
        Refused(FourRules(Rule("SCMP_ACT_ALLOW", ["open", ""])), "linux.seccomp.syscalls[3].names[1]: empty syscall name");
    }
}
