using System.Diagnostics;
using Skiff.Oci;
using Skiff.Oci.Seccomp;
using Xunit.Abstractions;
using static Skiff.Tests.Seccomp.SeccompReference;

namespace Skiff.Tests.Seccomp;

/// <summary>Whole profiles: the Docker-style default, a Podman-style one, and random ones against the reference.</summary>
public class SeccompProfileTests(ITestOutputHelper output)
{
    private const int EPERM = 1, ENOSYS = 38;

    [Fact]
    public void The_docker_style_profile_compiles_to_a_short_program()
    {
        var f = new SeccompFilter(DefaultProfile.Load());
        int longest = 0;
        for (int nr = 0; nr < 460; nr++)
        {
            longest = Math.Max(longest, ClassicBpf.Run(f.Code, SeccompData.X86_64(nr)).Steps);
        }
        output.WriteLine($"docker-style profile: {f.Length} instructions, at most {longest} run for an x86_64 call");

        Assert.InRange(f.Length, 50, 700);
        Assert.InRange(longest, 1, 30);
        Assert.Equal(0u, f.Program.Flags);
        Assert.False(f.Program.NeedsListener);
    }

    [Fact]
    public void The_docker_style_profile_decides_like_docker()
    {
        var f = new SeccompFilter(DefaultProfile.Load());

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(0)));             // read
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(59)));            // execve
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(158)));           // arch_prctl
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(101)));           // ptrace
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(165)));   // mount
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(246)));   // kexec_load
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(272)));   // unshare
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(435)));  // clone3
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(135, 0)));        // personality(PER_LINUX)
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(135, 0xFFFF_FFFF)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(135, 0x0040_0000)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(41, 2)));         // socket(AF_INET)
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(41, 40))); // socket(AF_VSOCK)
        // Newer than this host's tables (fchmodat2 = 452): ENOSYS, so libc falls back.
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(452)));

        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(3)));               // read
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(212)));             // chown32
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(102)));             // socketcall
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.I386(21)));      // mount
        Assert.Equal(RetAllow, f.Decide(SeccompData.I386(136, 8)));          // personality
        Assert.Equal(RetAllow, f.Decide(SeccompData.X32(0)));                // read
        Assert.Equal(RetAllow, f.Decide(SeccompData.X32(520)));              // execve
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X32(165)));      // mount
        Assert.Equal(RetKillThread, f.Decide(new SeccompData(63, SeccompData.AuditAarch64, 0)));
    }

    [Fact]
    public void The_docker_style_profile_matches_the_reference_on_every_number()
    {
        var profile = DefaultProfile.Load();
        var f = new SeccompFilter(profile);
        ulong[][] argSets = [[], [0], [8], [40], [0x1000_0000], [0xFFFF_FFFF], [0x1_0000_0000], [ulong.MaxValue]];
        foreach (var args in argSets)
        {
            for (int nr = 0; nr < 600; nr++)
            {
                foreach (var data in new[] { SeccompData.X86_64(nr, args), SeccompData.I386(nr, args), SeccompData.X32(nr, args) })
                {
                    Assert.True(Decide(profile, data) == f.Decide(data), $"nr {data.Nr:x} arch {data.Arch:x}");
                }
            }
        }
    }

    [Fact]
    public void A_podman_style_profile_denies_by_enosys_and_refuses_by_eperm()
    {
        var p = DefaultProfile.Load();
        p.DefaultErrnoRet = ENOSYS;
        p.Syscalls!.Insert(0, SeccompFilter.Rule("SCMP_ACT_ERRNO",
            ["bdflush", "kexec_file_load", "kexec_load", "mount", "umount2", "reboot", "swapon", "swapoff",
             "init_module", "finit_module", "delete_module", "pivot_root", "acct", "add_key", "keyctl",
             "request_key", "bpf", "perf_event_open", "lookup_dcookie", "quotactl", "setns", "unshare",
             "open_by_handle_at", "userfaultfd", "vm86", "vm86old", "iopl", "ioperm", "syslog"],
            errnoRet: EPERM));
        var f = new SeccompFilter(p);
        output.WriteLine($"podman-style profile: {f.Length} instructions");

        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(165)));   // mount: refused
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(450)));  // set_mempolicy_home_node: unlisted
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(153)));  // vhangup: unlisted
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(0)));
        for (int nr = 0; nr < 600; nr++)
        {
            var data = SeccompData.X86_64(nr, 8);
            Assert.True(Decide(p, data) == f.Decide(data), $"nr {nr}");
        }
    }

    [Fact]
    public void Random_profiles_decide_as_the_reference_does()
    {
        var random = new Random(20240611);
        for (int round = 0; round < 400; round++)
        {
            var profile = RandomProfile(random);
            SeccompFilter f;
            try
            {
                f = new SeccompFilter(profile);
            }
            catch (SkiffException e) when (e.Message.Contains("4096"))
            {
                continue;
            }
            foreach (var data in Probes(random, profile))
            {
                uint want = Decide(profile, data), got = f.Decide(data);
                if (want != got)
                {
                    Assert.Fail($"round {round}: nr 0x{data.Nr:x} arch 0x{data.Arch:x} args [{string.Join(", ", data.Args.Select(a => $"0x{a:x}"))}]: " +
                        $"want 0x{want:x8}, got 0x{got:x8}\n{System.Text.Json.JsonSerializer.Serialize(profile, OciJson.Default.LinuxSeccomp)}\n{ClassicBpf.Disassemble(f.Code)}");
                }
            }
        }
    }

    [Fact]
    public void Large_random_profiles_with_far_jumps_decide_as_the_reference_does()
    {
        var random = new Random(4242);
        int farJumps = 0, refused = 0, longest = 0;
        for (int round = 0; round < 40; round++)
        {
            var profile = RandomProfile(random, random.Next(40, 250), () => SyscallTable.Names[random.Next(SyscallTable.Count)]);
            SeccompFilter f;
            try
            {
                f = new SeccompFilter(profile);
            }
            catch (SkiffException e) when (e.Message.Contains("4096"))
            {
                refused++;
                continue;
            }
            longest = Math.Max(longest, f.Length);
            farJumps += f.Code.Any(i => i.Code == ClassicBpf.Ja) ? 1 : 0;
            var probes = Probes(random, profile).ToList();
            for (int i = 0; i < 600; i++)
            {
                int row = SyscallTable.IndexOf(profile.Syscalls![random.Next(profile.Syscalls.Count)].Names[0]);
                var args = probes[random.Next(probes.Count)].Args;
                probes.Add(SeccompData.X86_64(SyscallTable.X86_64[row], args));
                probes.Add(SeccompData.I386(SyscallTable.I386[row], args));
                probes.Add(new SeccompData(SyscallTable.X32[row], SeccompData.AuditX86_64, 0, args));
            }
            foreach (var data in probes)
            {
                uint want = Decide(profile, data), got = f.Decide(data);
                Assert.True(want == got, $"round {round}: nr 0x{data.Nr:x} arch 0x{data.Arch:x}: want 0x{want:x8}, got 0x{got:x8}");
            }
        }
        output.WriteLine($"{farJumps} of 40 programs used trampolines, {refused} were over 4096, the longest had {longest}");
        Assert.True(farJumps >= 5, $"only {farJumps} programs needed a trampoline");
    }

    [Fact]
    public void Compiling_the_docker_style_profile_is_quick_and_allocates_little()
    {
        var profile = DefaultProfile.Load();
        for (int i = 0; i < 50; i++)
        {
            SeccompCompiler.Compile(profile); // warm up the JIT
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        const int runs = 200;
        for (int i = 0; i < runs; i++)
        {
            SeccompCompiler.Compile(profile);
        }
        clock.Stop();
        long bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / runs;
        double micros = clock.Elapsed.TotalMicroseconds / runs;
        output.WriteLine($"compile: {micros:F1} µs, {bytes} bytes allocated per profile");

        Assert.InRange(bytes, 0, 64 * 1024);
        Assert.True(micros < 5000, $"{micros} µs per compile"); // generous: shared CI machines
    }

    private static readonly string[] Actions =
        ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_KILL"];
    private static readonly string[] Defaults = ["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG", "SCMP_ACT_TRAP"];
    private static readonly string[] Ops =
        ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
    private static readonly string[] Arches = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"];
    private static readonly ulong[] Interesting =
        [0, 1, 2, 8, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0001, 0xFFFF_FFFF_0000_0000, 0x8000_0000_0000_0000, ulong.MaxValue];

    private static ulong RandomValue(Random r) => r.Next(3) switch
    {
        0 => Interesting[r.Next(Interesting.Length)],
        1 => (ulong)r.Next(16) << (r.Next(2) * 32),
        _ => (ulong)r.NextInt64() ^ ((ulong)r.Next(2) << 63),
    };

    private static LinuxSeccomp RandomProfile(Random r) =>
        RandomProfile(r, r.Next(1, 14), () => r.Next(10) == 0 ? "no_such_call" : Known[r.Next(Known.Length)].Name);

    private static LinuxSeccomp RandomProfile(Random r, int entries, Func<string> name)
    {
        var p = SeccompFilter.Profile(Defaults[r.Next(Defaults.Length)]);
        if (p.DefaultAction == "SCMP_ACT_ERRNO" && r.Next(3) == 0)
        {
            p.DefaultErrnoRet = (uint)r.Next(1, 100);
        }
        p.Architectures = [.. Arches.Where(_ => r.Next(2) == 0)];
        for (int e = 0; e < entries; e++)
        {
            var names = new List<string>();
            for (int n = r.Next(1, 4); n > 0; n--)
            {
                names.Add(name());
            }
            var action = Actions[r.Next(Actions.Length)];
            uint? errno = action is "SCMP_ACT_ERRNO" or "SCMP_ACT_TRACE" && r.Next(2) == 0 ? (uint)r.Next(0, 200) : null;
            var args = new List<SeccompArg>();
            for (int a = r.Next(4) == 0 ? 0 : r.Next(1, 4); a > 0; a--)
            {
                args.Add(SeccompFilter.Arg((uint)r.Next(3), Ops[r.Next(Ops.Length)], RandomValue(r), RandomValue(r)));
            }
            p.Syscalls!.Add(SeccompFilter.Rule(action, [.. names], errno, [.. args]));
        }
        return p;
    }

    private static IEnumerable<SeccompData> Probes(Random r, LinuxSeccomp p)
    {
        var values = new List<ulong>(Interesting);
        foreach (var entry in p.Syscalls!)
        {
            foreach (var arg in entry.Args ?? [])
            {
                foreach (var v in new[] { arg.Value, arg.ValueTwo, arg.Value & arg.ValueTwo, arg.ValueTwo | ~arg.Value })
                {
                    values.Add(v);
                    values.Add(v + 1);
                    values.Add(v - 1);
                    values.Add(v ^ 0x1_0000_0000);
                    values.Add(v & 0xFFFF_FFFF);
                }
            }
        }
        ulong Pick() => values[r.Next(values.Count)];

        for (int i = 0; i < 150; i++)
        {
            var k = Known[r.Next(Known.Length)];
            ulong[] args = [Pick(), Pick(), Pick()];
            int nr = r.Next(8) switch
            {
                0 => r.Next(0, 600),
                1 => k.X86_64 + 1,
                _ => k.X86_64,
            };
            yield return SeccompData.X86_64(nr, args);
            yield return SeccompData.I386(r.Next(4) == 0 ? r.Next(0, 600) : k.I386, args);
            yield return SeccompData.X32(r.Next(4) == 0 ? r.Next(0, 600) : k.X32, args);
        }
        yield return new SeccompData(0, SeccompData.AuditAarch64, 0);
        yield return new SeccompData(0, SeccompData.AuditArm, 0);
        yield return SeccompData.X86_64(unchecked((int)0xFFFF_FFFF));
        yield return SeccompData.X86_64(0x3FFF_FFFF);
    }
}
