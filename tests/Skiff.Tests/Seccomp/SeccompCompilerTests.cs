using Skiff.Oci;
using Skiff.Oci.Seccomp;
using static Skiff.Tests.Seccomp.SeccompFilter;
using static Skiff.Tests.Seccomp.SeccompReference;

namespace Skiff.Tests.Seccomp;

public class SeccompCompilerTests
{
    private const int EPERM = 1, EACCES = 13, ENOSYS = 38;

    // x86_64 numbers used below.
    private const int Read = 0, Write = 1, Open = 2, Close = 3, Getpid = 39, Socket = 41, Clone = 56;
    private const int Execve = 59, Kill = 62, Personality = 135, Mount = 165, Clone3 = 435;

    [Fact]
    public void Allowed_calls_return_allow_and_the_rest_the_default_errno()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO", Allow("read", "write", "close", "kill")));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Write)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Close)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Kill)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Open)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Getpid)));
        // Past the highest call the profile names: "newer than the profile", ENOSYS (runc's stub).
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(Mount)));
    }

    [Fact]
    public void DefaultErrnoRet_and_errnoRet_set_the_errno()
    {
        var p = Profile("SCMP_ACT_ERRNO",
            Allow("read"),
            Rule("SCMP_ACT_ERRNO", ["mount"], errnoRet: EACCES),
            Rule("SCMP_ACT_ERRNO", ["kill"]));
        p.DefaultErrnoRet = ENOSYS;
        var f = new SeccompFilter(p);

        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(Getpid)));
        Assert.Equal(RetErrno | EACCES, f.Decide(SeccompData.X86_64(Mount)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kill)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
    }

    [Theory]
    [InlineData("SCMP_ACT_KILL", RetKillThread)]
    [InlineData("SCMP_ACT_KILL_THREAD", RetKillThread)]
    [InlineData("SCMP_ACT_KILL_PROCESS", RetKillProcess)]
    [InlineData("SCMP_ACT_TRAP", RetTrap)]
    [InlineData("SCMP_ACT_ERRNO", RetErrno | EPERM)]
    [InlineData("SCMP_ACT_TRACE", RetTrace | EPERM)]
    [InlineData("SCMP_ACT_LOG", RetLog)]
    [InlineData("SCMP_ACT_NOTIFY", RetNotify)]
    public void Every_action_compiles_to_its_return_value(string action, uint expected)
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ALLOW", Rule(action, ["mount"])));

        Assert.Equal(expected, f.Decide(SeccompData.X86_64(Mount)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
    }

    [Fact]
    public void Trace_carries_errnoRet_as_its_data()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_TRACE", ["mount"], errnoRet: 4242)));

        Assert.Equal(RetTrace | 4242, f.Decide(SeccompData.X86_64(Mount)));
    }

    [Fact]
    public void Notify_asks_for_a_listener()
    {
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", ["mount"]));
        var program = SeccompCompiler.Compile(p);
        Assert.True(program.NeedsListener);
        Assert.Equal(8u, program.Flags); // SECCOMP_FILTER_FLAG_NEW_LISTENER

        p.Flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];
        program = SeccompCompiler.Compile(p);
        // TSYNC with a listener only loads with TSYNC_ESRCH (16), as libseccomp sets it.
        Assert.Equal(1u | 8u | 16u | 32u, program.Flags);
    }

    [Fact]
    public void Flags_map_to_their_bits()
    {
        var p = Profile("SCMP_ACT_ALLOW");
        Assert.Equal(0u, SeccompCompiler.Compile(p).Flags);
        Assert.False(SeccompCompiler.Compile(p).NeedsListener);

        p.Flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"];
        Assert.Equal(1u | 2u | 4u, SeccompCompiler.Compile(p).Flags);
    }

    [Fact]
    public void Rules_for_one_syscall_are_tried_in_profile_order()
    {
        var denyFirst = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ERRNO", ["personality"], errnoRet: EACCES, Arg(0, "SCMP_CMP_EQ", 8)),
            Allow("personality")));
        Assert.Equal(RetErrno | EACCES, denyFirst.Decide(SeccompData.X86_64(Personality, 8)));
        Assert.Equal(RetAllow, denyFirst.Decide(SeccompData.X86_64(Personality, 0)));

        var allowFirst = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Allow("personality"),
            Rule("SCMP_ACT_ERRNO", ["personality"], errnoRet: EACCES, Arg(0, "SCMP_CMP_EQ", 8))));
        Assert.Equal(RetAllow, allowFirst.Decide(SeccompData.X86_64(Personality, 8)));
    }

    [Fact]
    public void A_rule_with_the_default_action_still_shadows_later_rules()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ERRNO", ["personality"], args: Arg(0, "SCMP_CMP_EQ", 8)),
            Allow("personality")));

        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Personality, 8)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Personality, 9)));
    }

    [Fact]
    public void Rules_that_end_in_the_default_action_cost_nothing()
    {
        // A LOG default: no ENOSYS stub, whose bound would count the extra names.
        var plain = new SeccompFilter(Profile("SCMP_ACT_LOG", Rule("SCMP_ACT_ERRNO", ["read", "write"])));
        var padded = new SeccompFilter(Profile("SCMP_ACT_LOG",
            Rule("SCMP_ACT_ERRNO", ["read", "write"]),
            Rule("SCMP_ACT_LOG", ["mount", "kill"]),
            Rule("SCMP_ACT_LOG", ["write"], args: Arg(0, "SCMP_CMP_EQ", 5)),
            Rule("SCMP_ACT_LOG", ["clone"], null, Arg(0, "SCMP_CMP_GT", 5))));

        Assert.Equal(plain.Length, padded.Length);
        Assert.Equal(RetLog, padded.Decide(SeccompData.X86_64(Mount)));
        Assert.Equal(RetErrno | EPERM, padded.Decide(SeccompData.X86_64(Write, 5)));
    }

    [Fact]
    public void Args_in_one_rule_are_anded_and_rules_are_ored()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", ["socket"], null, Arg(0, "SCMP_CMP_EQ", 2), Arg(1, "SCMP_CMP_EQ", 1)),
            Rule("SCMP_ACT_ALLOW", ["socket"], null, Arg(0, "SCMP_CMP_EQ", 10))));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Socket, 2, 1)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Socket, 2, 2)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Socket, 3, 1)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Socket, 10, 99)));
    }

    [Fact]
    public void Two_comparisons_of_one_argument_are_ored_as_runc_and_crun_do()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", ["personality"], null, Arg(0, "SCMP_CMP_EQ", 0), Arg(0, "SCMP_CMP_EQ", 8))));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Personality, 0)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Personality, 8)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Personality, 1)));
    }

    public static TheoryData<string, ulong> Comparisons()
    {
        var data = new TheoryData<string, ulong>();
        foreach (var op in new[] { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT" })
        {
            foreach (var value in new ulong[] { 0, 5, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0005, 0x8000_0000_0000_0000, ulong.MaxValue })
            {
                data.Add(op, value);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Comparisons))]
    public void Comparisons_use_all_64_bits_on_x86_64(string op, ulong value)
    {
        var p = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", ["kill"], null, Arg(1, op, value)));
        var f = new SeccompFilter(p);

        foreach (var arg in Around(value))
        {
            var data = SeccompData.X86_64(Kill, 0, arg);
            Assert.True(Decide(p, data) == f.Decide(data), $"{op} 0x{value:x} on 0x{arg:x}");
        }
        // Spot checks that do not lean on the reference.
        if (op == "SCMP_CMP_LT" && value == 0x1_0000_0005)
        {
            Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Kill, 0, 0xFFFF_FFFF)));
            Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kill, 0, 0x2_0000_0000)));
            Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kill, 0, 0x1_0000_0005)));
        }
        if (op == "SCMP_CMP_EQ" && value == 0x1_0000_0005)
        {
            Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kill, 0, 5)));
        }
    }

    [Fact]
    public void Masked_equal_masks_both_words_and_the_datum()
    {
        const ulong mask = 0xFFFF_0000_0000_FFFF, datum = 0x1234_0000_0000_5678;
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", ["ioctl"], null, Arg(1, "SCMP_CMP_MASKED_EQ", mask, datum | 0x0000_1111_1111_0000))));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(16, 0, datum)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(16, 0, datum | 0x0000_FFFF_FFFF_0000)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(16, 0, datum ^ 0x0001_0000_0000_0000)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(16, 0, datum ^ 1)));
    }

    [Fact]
    public void Clone_namespace_flags_are_refused_by_a_masked_rule()
    {
        var f = new SeccompFilter(DefaultProfile.Load());
        const ulong threadFlags = 0x003D_0F00, newUser = 0x1000_0000;

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Clone, threadFlags)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Clone, threadFlags | newUser)));
        // The high word is outside the mask: ignored, as in libseccomp.
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Clone, 0xFFFF_FFFF_0000_0000 | threadFlags)));
    }

    [Fact]
    public void On_32_bit_abis_only_the_low_words_are_compared()
    {
        var p = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", ["kill"], null, Arg(1, "SCMP_CMP_EQ", 0x1_0000_0005)));
        p.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        var f = new SeccompFilter(p);

        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kill, 0, 5)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Kill, 0, 0x1_0000_0005)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(37, 0, 5)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X32(62, 0, 5)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X32(62, 0, 0xABCD_0000_0005)));
    }

    [Fact]
    public void Arches_not_in_the_profile_get_the_bad_arch_action()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", ["mount"])));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetKillThread, f.Decide(SeccompData.I386(3)));
        Assert.Equal(RetKillThread, f.Decide(new SeccompData(0, SeccompData.AuditAarch64, 0)));
        Assert.Equal(RetKillThread, f.Decide(new SeccompData(0, 0x12345678, 0)));
    }

    [Fact]
    public void A_listed_arch_without_a_table_gets_the_default_action()
    {
        var p = Profile("SCMP_ACT_ERRNO", Allow("read"));
        p.Architectures = ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
        var f = new SeccompFilter(p);

        Assert.Equal(RetErrno | EPERM, f.Decide(new SeccompData(63, SeccompData.AuditAarch64, 0)));
        Assert.Equal(RetErrno | EPERM, f.Decide(new SeccompData(3, SeccompData.AuditArm, 0)));
        // The native arch is always filtered, listed or not (libseccomp).
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetKillThread, f.Decide(SeccompData.I386(3)));
    }

    [Fact]
    public void X32_numbers_never_alias_x86_64_rules()
    {
        var p = Profile("SCMP_ACT_ERRNO", Allow("read", "execve"));
        var native = new SeccompFilter(p);

        Assert.Equal(RetAllow, native.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetKillThread, native.Decide(SeccompData.X32(Read)));
        Assert.Equal(RetKillThread, native.Decide(SeccompData.X86_64(unchecked((int)0xFFFF_FFFF))));

        p.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
        var withX32 = new SeccompFilter(p);
        Assert.Equal(RetAllow, withX32.Decide(SeccompData.X32(Read)));
        Assert.Equal(RetAllow, withX32.Decide(SeccompData.X32(520))); // x32 execve
        Assert.Equal(RetErrno | EPERM, withX32.Decide(SeccompData.X32(Execve))); // 59 is not execve on x32
        Assert.Equal(RetErrno | EPERM, withX32.Decide(SeccompData.X32(Getpid)));
        Assert.Equal(RetKillThread, withX32.Decide(SeccompData.I386(3)));
    }

    [Fact]
    public void I386_uses_its_own_numbers_and_names()
    {
        var p = Profile("SCMP_ACT_ERRNO", Allow("read", "chown32", "socketcall"));
        p.Architectures = ["SCMP_ARCH_X86"];
        var f = new SeccompFilter(p);

        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(3)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(212)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(102)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.I386(0)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(212))); // past x86_64's highest named call
    }

    [Fact]
    public void Unknown_names_are_skipped()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO", Allow("no_such_call", "read", "arm_fadvise64_64", "close")));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Write)));

        // Nothing resolves: no highest call, so no ENOSYS stub either.
        var none = new SeccompFilter(Profile("SCMP_ACT_ERRNO", Allow("no_such_call")));
        Assert.Equal(RetErrno | EPERM, none.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetErrno | EPERM, none.Decide(SeccompData.X86_64(Mount)));
    }

    [Fact]
    public void Calls_newer_than_the_profile_get_enosys_as_runc_does()
    {
        var f = new SeccompFilter(Profile("SCMP_ACT_ERRNO", Allow("read", "openat2")));

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(437)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(436)));
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(438)));
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(0x3FFF_FFFF)));

        // No stub when the default lets calls run, or already is ENOSYS.
        var permissive = new SeccompFilter(Profile("SCMP_ACT_LOG", Rule("SCMP_ACT_ERRNO", ["mount"])));
        Assert.Equal(RetLog, permissive.Decide(SeccompData.X86_64(500)));
        var p = Profile("SCMP_ACT_ERRNO", Allow("read"));
        p.DefaultErrnoRet = ENOSYS;
        Assert.Equal(RetErrno | ENOSYS, new SeccompFilter(p).Decide(SeccompData.X86_64(Write)));
    }

    [Fact]
    public void Hundreds_of_argument_rules_need_trampolines_and_still_decide_right()
    {
        var names = new List<string>();
        var numbers = new List<int>();
        for (int row = 0; row < SyscallTable.Count && names.Count < 300; row++)
        {
            int nr = SyscallTable.X86_64[row];
            if (nr >= 0)
            {
                names.Add(SyscallTable.Names[row]);
                numbers.Add(nr);
            }
        }
        var p = Profile("SCMP_ACT_ERRNO");
        for (int i = 0; i < names.Count; i++)
        {
            p.Syscalls!.Add(Rule("SCMP_ACT_ALLOW", [names[i]], null, Arg(0, "SCMP_CMP_EQ", (ulong)numbers[i] * 7)));
        }
        var f = new SeccompFilter(p);

        Assert.InRange(f.Length, 256, 4096);
        Assert.Contains(f.Code, i => i.Code == ClassicBpf.Ja);
        for (int i = 0; i < names.Count; i++)
        {
            Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(numbers[i], (ulong)numbers[i] * 7)));
            Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(numbers[i], (ulong)numbers[i] * 7 + 1)));
            Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(numbers[i], 0x1_0000_0000 | ((ulong)numbers[i] * 7))));
        }
    }

    [Fact]
    public void A_filter_over_4096_instructions_is_refused()
    {
        var p = Profile("SCMP_ACT_ERRNO");
        p.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        for (int row = 0; row < SyscallTable.Count; row++)
        {
            p.Syscalls!.Add(Rule("SCMP_ACT_ALLOW", [SyscallTable.Names[row]], null,
                Arg(0, "SCMP_CMP_EQ", 1), Arg(1, "SCMP_CMP_GE", 0x1_0000_0002), Arg(2, "SCMP_CMP_LT", (ulong)row)));
        }

        var e = Assert.Throws<SkiffException>(() => SeccompCompiler.Compile(p));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Contains("more than 4096 BPF instructions", e.Message);
        Assert.StartsWith("linux.seccomp:", e.Message);
    }

    [Fact]
    public void The_generated_table_agrees_with_the_kernel_abi()
    {
        foreach (var (name, x86_64, i386, x32) in Known)
        {
            int row = SyscallTable.IndexOf(name);
            Assert.True(row >= 0, name);
            Assert.Equal(x86_64, SyscallTable.X86_64[row]);
            Assert.Equal(i386, SyscallTable.I386[row]);
            Assert.Equal(x32 < 0 ? -1 : x32 | X32Bit, SyscallTable.X32[row]);
        }
        Assert.Equal(-1, SyscallTable.IndexOf("arm_fadvise64_64"));
        Assert.Equal(SyscallTable.Count, SyscallTable.X86_64.Length);
        Assert.Equal(SyscallTable.Count, SyscallTable.I386.Length);
        Assert.Equal(SyscallTable.Count, SyscallTable.X32.Length);
        Assert.Equal(SyscallTable.Count, SyscallTable.Names.Length);
        for (int row = 0; row < SyscallTable.Count; row++)
        {
            Assert.Equal(row, SyscallTable.IndexOf(SyscallTable.Names[row]));
        }
    }

    private static IEnumerable<ulong> Around(ulong v)
    {
        foreach (var d in new ulong[] { 0, 1, 2, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0001 })
        {
            yield return v + d;
            yield return v - d;
        }
        yield return 0;
        yield return ulong.MaxValue;
        yield return v & 0xFFFF_FFFF;
        yield return v & 0xFFFF_FFFF_0000_0000;
        yield return v ^ 0x8000_0000;
    }
}
