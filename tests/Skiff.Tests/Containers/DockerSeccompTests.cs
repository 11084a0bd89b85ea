using System.Text.Json;
using Skiff.Engine.Containers;
using Skiff.Engine.Seccomp;
using Skiff.Oci;
using Skiff.Tests.Seccomp;
using Xunit.Abstractions;
using static Skiff.Tests.Containers.SpecFixture;
using static Skiff.Tests.Seccomp.SeccompReference;

namespace Skiff.Tests.Containers;

/// <summary>Docker's real default profile: shipped intact, converted as moby's setupSeccomp, compiled, decided.</summary>
public class DockerSeccompTests(ITestOutputHelper output)
{
    private const int EPERM = 1, ENOSYS = 38;
    private const int Ptrace = 101, Personality = 135, Mount = 165, Unshare = 272, Setns = 308, Clone = 56, Clone3 = 435,
        Bpf = 321, Chroot = 161, Reboot = 169, Socket = 41, ArchPrctl = 158, Kcmp = 312, Read = 0, OpenByHandleAt = 304;

    private static readonly Version Kernel = new(6, 1);

    private static LinuxSeccomp Convert(ulong caps, string arch = "amd64", Version? kernel = null) =>
        DockerSeccomp.Convert(DockerSeccomp.Default, caps, arch, kernel ?? Kernel)!;

    private static SeccompFilter Filter(params string[] capAdd) =>
        new(Convert(ContainerCapabilities.Resolve(false, capAdd, null)));

    private static byte[] DefaultJson() => File.ReadAllBytes(Path.Combine(RepoRoot(), "src", "Skiff.Engine", "Seccomp", "default.json"));

    [Fact]
    public void The_compiled_in_profile_is_the_json_file()
    {
        byte[] json = DefaultJson();
        Assert.Equal(13111, json.Length); // moby/profiles seccomp/default.json at 190fa92, byte for byte

        string parsed = JsonSerializer.Serialize(DockerSeccomp.Parse(json, "default.json"), DockerSeccompJson.Default.DockerSeccompProfile);
        string generated = JsonSerializer.Serialize(DockerSeccomp.Default, DockerSeccompJson.Default.DockerSeccompProfile);
        Assert.True(parsed == generated, "DefaultProfile.g.cs is stale: run src/Skiff.Engine/Seccomp/generate.py");
    }

    [Fact]
    public void The_profile_reads_as_dockers()
    {
        var p = DockerSeccomp.Default;

        Assert.Equal("SCMP_ACT_ERRNO", p.DefaultAction);
        Assert.Equal(1u, p.DefaultErrnoRet);
        Assert.Equal(8, p.ArchMap!.Count);
        Assert.Null(p.ArchMap[^1].SubArchitectures);
        Assert.Contains("uretprobe", p.Syscalls![0].Names!);
        Assert.Equal("4.8", p.Syscalls[1].Includes!.MinKernel);
        Assert.Equal(2114060288UL, p.Syscalls.First(r => r.Names![0] == "clone" && r.Args is not null).Args![0].Value);
    }

    [Fact]
    public void The_arch_map_picks_this_hosts_arches()
    {
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], Convert(ContainerCapabilities.DockerDefault).Architectures);
        Assert.Equal(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], Convert(ContainerCapabilities.DockerDefault, "arm64").Architectures);
        Assert.Equal(["SCMP_ARCH_RISCV64"], Convert(ContainerCapabilities.DockerDefault, "riscv64").Architectures);
    }

    [Fact]
    public void Rules_are_kept_by_capability_arch_and_kernel()
    {
        var plain = Convert(ContainerCapabilities.DockerDefault);
        Assert.DoesNotContain(plain.Syscalls!, r => r.Names.Contains("mount"));
        Assert.DoesNotContain(plain.Syscalls!, r => r.Names.Contains("kcmp"));
        Assert.Contains(plain.Syscalls!, r => r.Names.SequenceEqual(["arch_prctl"]));
        Assert.DoesNotContain(plain.Syscalls!, r => r.Names.Contains("s390_runtime_instr"));
        Assert.Contains(plain.Syscalls!, r => r.Names.Contains("chroot")); // CAP_SYS_CHROOT is a default
        Assert.Contains(plain.Syscalls!, r => r.Names.SequenceEqual(["clone3"]) && r.Action == "SCMP_ACT_ERRNO" && r.ErrnoRet == 38);
        Assert.Single(plain.Syscalls!, r => r.Names.SequenceEqual(["clone"]) && r.Args is { Count: 1 } a && a[0].Index == 0);
        Assert.Contains(plain.Syscalls!, r => r.Names.Contains("ptrace")); // minKernel 4.8

        var old = Convert(ContainerCapabilities.DockerDefault, kernel: new Version(4, 4));
        Assert.DoesNotContain(old.Syscalls!, r => r.Names.Contains("ptrace"));

        var admin = Convert(ContainerCapabilities.DockerDefault | Bit("CAP_SYS_ADMIN"));
        Assert.Contains(admin.Syscalls!, r => r.Names.Contains("mount") && r.Names.Contains("unshare") && r.Names.Contains("clone3"));
        Assert.DoesNotContain(admin.Syscalls!, r => r.Names.SequenceEqual(["clone"]) && r.Args is not null);
        Assert.DoesNotContain(admin.Syscalls!, r => r.Names.SequenceEqual(["clone3"]) && r.Action == "SCMP_ACT_ERRNO");

        var s390 = Convert(ContainerCapabilities.DockerDefault, "s390x");
        Assert.Single(s390.Syscalls!, r => r.Names.SequenceEqual(["clone"]) && r.Args is { Count: 1 } a && a[0].Index == 1);
    }

    [Fact]
    public void Each_container_gets_its_own_copy_of_the_rules()
    {
        var first = Convert(ContainerCapabilities.DockerDefault);
        first.Syscalls![0].Names.Clear();
        first.Syscalls.First(r => r.Args is not null).Args![0].Value = 7;

        var second = Convert(ContainerCapabilities.DockerDefault);
        Assert.Contains("read", second.Syscalls![0].Names);
        Assert.Equal(40UL, second.Syscalls.First(r => r.Args is not null).Args![0].Value);
    }

    [Fact]
    public void The_default_container_decides_like_docker()
    {
        var f = Filter();
        output.WriteLine($"Docker's default profile for the default capabilities: {f.Length} instructions");

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Read)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(ArchPrctl)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Ptrace)));           // allowed since 4.8 for everyone
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kcmp)));     // CAP_SYS_PTRACE only
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Mount)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Unshare)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Setns)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Bpf)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Reboot)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(OpenByHandleAt)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Chroot)));
        Assert.Equal(RetErrno | ENOSYS, f.Decide(SeccompData.X86_64(Clone3)));  // so libc falls back to clone
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Clone, 0x11 /* SIGCHLD|... */)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Clone, 0x10000000 /* CLONE_NEWUSER */)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Personality, 0)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Personality, 0xffffffff)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Personality, 0x0040000 /* ADDR_NO_RANDOMIZE */)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Socket, 2 /* AF_INET */)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Socket, 40 /* AF_VSOCK */)));
    }

    [Fact]
    public void Cap_add_sys_admin_opens_the_syscalls_docker_gates_on_it()
    {
        var f = Filter("SYS_ADMIN");

        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Mount)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Unshare)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Setns)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Clone3)));
        Assert.Equal(RetAllow, f.Decide(SeccompData.X86_64(Clone, 0x10000000)));
        Assert.Equal(RetErrno | EPERM, f.Decide(SeccompData.X86_64(Kcmp)));
    }

    [Fact]
    public void Cap_add_sys_ptrace_opens_kcmp_and_dropping_sys_chroot_closes_chroot()
    {
        Assert.Equal(RetAllow, Filter("SYS_PTRACE").Decide(SeccompData.X86_64(Kcmp)));

        var noChroot = new SeccompFilter(Convert(ContainerCapabilities.Resolve(false, null, ["SYS_CHROOT"])));
        Assert.Equal(RetErrno | EPERM, noChroot.Decide(SeccompData.X86_64(Chroot)));
    }

    [Fact]
    public void A_non_root_user_is_filtered_by_its_bounding_set_too()
    {
        var spec = Build(d => d.HostConfig.CapAdd = ["SYS_ADMIN"], Ctx(user: new Skiff.Runtime.ContainerUser(1000, 1000, [1000], "/")));

        Assert.Contains(spec.Linux!.Seccomp!.Syscalls!, r => r.Names.Contains("mount"));
    }

    [Fact]
    public void A_profile_file_in_docker_or_oci_form_is_loaded_and_bad_json_names_the_file()
    {
        string dir = Directory.CreateTempSubdirectory("skiff-seccomp").FullName;
        try
        {
            string docker = Path.Combine(dir, "docker.json");
            File.WriteAllText(docker, """
                {"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
                 "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO"},
                              {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_FOWNER"]}}]}
                """);
            var spec = Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + docker]).Linux!.Seccomp!;
            Assert.Equal("SCMP_ACT_ALLOW", spec.DefaultAction);
            Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], spec.Architectures);
            Assert.Equal(["mkdir"], Assert.Single(spec.Syscalls!).Names);

            string oci = Path.Combine(dir, "oci.json");
            File.WriteAllText(oci, """{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}""");
            Assert.Equal(["SCMP_ARCH_X86_64"], Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + oci]).Linux!.Seccomp!.Architectures);

            // The docker CLI sends the file's content rather than its name.
            var inline = Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + File.ReadAllText(oci)]).Linux!.Seccomp!;
            Assert.Equal("SCMP_ACT_ERRNO", inline.DefaultAction);

            string bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [ }");
            var e = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + bad]));
            Assert.StartsWith($"Decoding seccomp profile failed: {bad} (line 2)", e.Message);

            var missing = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + dir + "/none.json"]));
            Assert.Equal($"opening seccomp profile ({dir}/none.json) failed: no such file or directory", missing.Message);

            string both = Path.Combine(dir, "both.json");
            File.WriteAllText(both, """{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}""");
            Assert.Contains("use either 'architectures' or 'archMap'",
                Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["seccomp=" + both])).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static ulong Bit(string name) => 1UL << Array.IndexOf(Skiff.Linux.CapabilitySet.Names, name);

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Runtime.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Runtime.sln) is not above the test binaries");
    }
}
