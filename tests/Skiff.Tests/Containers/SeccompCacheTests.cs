using System.Diagnostics;
using Skiff.Engine.Containers;
using Skiff.Engine.Seccomp;
using Skiff.Oci;
using Xunit.Abstractions;
using static Skiff.Engine.Seccomp.SeccompCache;

namespace Skiff.Tests.Containers;

public sealed class SeccompCacheTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-bpf-cache").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static LinuxSeccomp Profile(ulong caps) =>
        DockerSeccomp.Convert(DockerSeccomp.Default, caps, DockerSeccomp.NativeArch, DockerSeccomp.Kernel)!;

    private string[] Files() => Directory.GetFiles(Path.Combine(_dir, "seccomp"));

    [Fact]
    public void A_miss_compiles_and_writes_the_next_is_a_hit_with_the_same_program()
    {
        var cache = new SeccompCache(_dir);
        var profile = Profile(ContainerCapabilities.DockerDefault);

        var first = cache.Compile(profile);
        Assert.Equal(CacheOutcome.Miss, cache.LastOutcome);
        Assert.Single(Files());
        Assert.DoesNotContain(Files(), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        var again = new SeccompCache(_dir).Compile(Profile(ContainerCapabilities.DockerDefault));
        Assert.Equal(first.Filter, again.Filter);
        Assert.Equal(first.Flags, again.Flags);
        Assert.Equal(Skiff.Oci.Seccomp.SeccompCompiler.Compile(profile).Filter, again.Filter);

        var hit = new SeccompCache(_dir);
        hit.Compile(profile);
        Assert.Equal(CacheOutcome.Hit, hit.LastOutcome);
    }

    [Fact]
    public void Another_capability_set_is_another_program()
    {
        var cache = new SeccompCache(_dir);
        var plain = cache.Compile(Profile(ContainerCapabilities.DockerDefault));
        var admin = cache.Compile(Profile(ContainerCapabilities.Resolve(false, ["SYS_ADMIN"], null)));

        Assert.Equal(CacheOutcome.Miss, cache.LastOutcome);
        Assert.NotEqual(plain.Filter, admin.Filter);
        Assert.Equal(2, Files().Length);
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public void A_corrupt_file_is_ignored_and_rewritten(string damage)
    {
        var profile = Profile(ContainerCapabilities.DockerDefault);
        var good = new SeccompCache(_dir).Compile(profile);
        string file = Assert.Single(Files());
        byte[] bytes = File.ReadAllBytes(file);
        switch (damage)
        {
            case "truncate": File.WriteAllBytes(file, bytes[..(bytes.Length - 9)]); break;
            case "flip": bytes[^3] ^= 0x40; File.WriteAllBytes(file, bytes); break;
            case "garbage": File.WriteAllText(file, "not a program"); break;
            case "empty": File.WriteAllBytes(file, []); break;
        }

        var cache = new SeccompCache(_dir);
        var program = cache.Compile(profile);
        Assert.Equal(CacheOutcome.Corrupt, cache.LastOutcome);
        Assert.Equal(good.Filter, program.Filter);
        Assert.Equal(bytes.Length, new FileInfo(file).Length);

        var after = new SeccompCache(_dir);
        after.Compile(profile);
        Assert.Equal(CacheOutcome.Hit, after.LastOutcome);
    }

    [Fact]
    public void An_unwritable_cache_still_compiles()
    {
        var blocked = Path.Combine(_dir, "blocked");
        File.WriteAllText(blocked, ""); // a file where the cache directory would be
        var cache = new SeccompCache(blocked);

        var program = cache.Compile(Profile(ContainerCapabilities.DockerDefault));
        Assert.NotEmpty(program.Filter);
        Assert.NotEqual(CacheOutcome.Hit, cache.LastOutcome);
    }

    [Fact]
    public void The_key_is_the_whole_profile()
    {
        var a = Profile(ContainerCapabilities.DockerDefault);
        var b = Profile(ContainerCapabilities.DockerDefault);
        Assert.Equal(Canonical(a), Canonical(b));

        b.Syscalls![0].Names[^1] = "writev2";
        Assert.NotEqual(Canonical(a), Canonical(b));
        b = Profile(ContainerCapabilities.DockerDefault);
        b.DefaultErrnoRet = 38;
        Assert.NotEqual(Canonical(a), Canonical(b));
        b = Profile(ContainerCapabilities.DockerDefault);
        b.Syscalls!.First(r => r.Args is not null).Args![0].Value++;
        Assert.NotEqual(Canonical(a), Canonical(b));
    }

    [Fact]
    public void Compile_and_cached_times_are_measured()
    {
        var profile = Profile(ContainerCapabilities.DockerDefault);
        Skiff.Oci.Seccomp.SeccompCompiler.Compile(profile); // warm the JIT
        new SeccompCache(_dir).Compile(profile);

        const int n = 50;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            Skiff.Oci.Seccomp.SeccompCompiler.Compile(profile);
        }
        var compile = sw.Elapsed / n;
        sw.Restart();
        for (int i = 0; i < n; i++)
        {
            new SeccompCache(_dir).Compile(profile);
        }
        var cached = sw.Elapsed / n;
        sw.Restart();
        for (int i = 0; i < n; i++)
        {
            Canonical(profile);
        }
        var key = sw.Elapsed / n;
        // Measured, not asserted: under the JIT and a parallel test run the numbers are noise.
        // The AOT numbers (a `run` process, cold) are in the report of this change.
        output.WriteLine($"compile {compile.TotalMicroseconds:F0} µs; cached {cached.TotalMicroseconds:F0} µs (of which the key {key.TotalMicroseconds:F0} µs)");
    }
}
