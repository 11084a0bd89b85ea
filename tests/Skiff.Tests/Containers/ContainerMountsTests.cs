using Skiff.Engine.Containers;
using Skiff.Oci;
using static Skiff.Tests.Containers.SpecFixture;

namespace Skiff.Tests.Containers;

public class ContainerMountsTests
{
    private static readonly string[] DefaultTargets = ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"];

    [Fact]
    public void The_default_mounts_are_dockers_in_dockers_order()
    {
        var mounts = Build().Mounts!;

        Assert.Equal(DefaultTargets, mounts.Select(m => m.Destination));
        Assert.Equal(["nosuid", "noexec", "nodev"], mounts[0].Options);
        Assert.Equal(("tmpfs", "tmpfs"), (mounts[1].Type, mounts[1].Source));
        Assert.Equal(["nosuid", "strictatime", "mode=755", "size=65536k"], mounts[1].Options);
        Assert.Equal(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"], mounts[2].Options);
        Assert.Equal(["nosuid", "noexec", "nodev", "ro"], mounts[3].Options);
        Assert.Equal("cgroup", mounts[4].Type);
        Assert.Contains("ro", mounts[4].Options!);
        Assert.Equal("mqueue", mounts[5].Type);
        Assert.Equal(["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"], mounts[6].Options);
    }

    [Fact]
    public void Devpts_gets_gid_5_only_when_the_container_maps_it()
    {
        Assert.Contains("gid=5", MountAt(Build(ctx: Ctx(Rootless)), "/dev/pts").Options!);
        Assert.DoesNotContain("gid=5", MountAt(Build(ctx: Ctx(RootlessSingle)), "/dev/pts").Options!);
    }

    [Fact]
    public void Binds_volumes_and_tmpfs_become_spec_mounts()
    {
        string src = Directory.CreateTempSubdirectory("skiff-mounts").FullName;
        try
        {
            var names = new List<string>();
            var spec = Build(d =>
            {
                d.HostConfig.Binds = [src + ":/data:ro", "cache:/var/cache", src + "/../" + Path.GetFileName(src) + ":/shared:rshared"];
                d.HostConfig.Mounts =
                [
                    new MountSpec { Type = "bind", Source = src, Target = "/opt/app/", ReadOnly = false, BindOptions = new BindOptions { Propagation = "rslave" } },
                    new MountSpec { Type = "volume", Source = "db", Target = "/var/lib/db", ReadOnly = true },
                    new MountSpec { Type = "tmpfs", Target = "/scratch", TmpfsOptions = new TmpfsOptions { SizeBytes = 64 << 20, Mode = 0x1c0 /* 0700 */ } },
                ];
                d.HostConfig.Tmpfs = new() { ["/run"] = "exec,size=1m", ["/tmp"] = "" };
            }, Ctx() with { ResolveVolume = n => { names.Add(n); return "/volumes/" + n + "/_data"; } });

            Assert.Equal(["cache", "db"], names);
            var data = MountAt(spec, "/data");
            Assert.Equal(("bind", src), (data.Type, data.Source));
            Assert.Equal(["rbind", "ro", "rprivate"], data.Options);
            Assert.Equal(["rbind", "rprivate"], MountAt(spec, "/var/cache").Options);
            Assert.Equal("/volumes/cache/_data", MountAt(spec, "/var/cache").Source);
            Assert.Equal(src, MountAt(spec, "/shared").Source); // cleaned
            Assert.Equal(["rbind", "rshared"], MountAt(spec, "/shared").Options);
            Assert.Equal(["rbind", "rslave"], MountAt(spec, "/opt/app").Options);
            Assert.Equal(["rbind", "ro", "rprivate"], MountAt(spec, "/var/lib/db").Options);
            Assert.Equal(["noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=700"], MountAt(spec, "/scratch").Options);
            Assert.Equal(["nosuid", "nodev", "rprivate", "exec", "size=1m"], MountAt(spec, "/run").Options);
            Assert.Equal(["noexec", "nosuid", "nodev", "rprivate"], MountAt(spec, "/tmp").Options);
            Assert.Equal("tmpfs", MountAt(spec, "/tmp").Type);
        }
        finally
        {
            Directory.Delete(src, true);
        }
    }

    [Fact]
    public void Mount_points_prepared_at_create_are_used_as_they_are()
    {
        string missing = Path.Combine(Path.GetTempPath(), "skiff-mp-" + Guid.NewGuid().ToString("N"));
        try
        {
            var spec = Build(d =>
            {
                d.HostConfig.Binds = ["/ignored:/ignored"]; // what create already read into MountPoints
                d.MountPoints =
                [
                    new Skiff.Engine.Volumes.MountPoint { Type = "bind", Source = missing, Destination = "/src", RW = true, CreateSource = true },
                    new Skiff.Engine.Volumes.MountPoint { Type = "volume", Name = "db", Source = "/vol/db/_data", Destination = "/var/lib/db", RW = false },
                    new Skiff.Engine.Volumes.MountPoint { Type = "tmpfs", Destination = "/run", TmpfsOptions = "size=64m,exec" },
                    new Skiff.Engine.Volumes.MountPoint { Type = "bind", Source = "/tmp", Destination = "/shared", RW = true, Propagation = "rslave" },
                ];
            });

            Assert.DoesNotContain(spec.Mounts!, m => m.Destination == "/ignored");
            Assert.Equal(["rbind", "rprivate"], MountAt(spec, "/src").Options);
            Assert.True(Directory.Exists(missing));
            Assert.Equal(("/vol/db/_data", "ro"), (MountAt(spec, "/var/lib/db").Source, MountAt(spec, "/var/lib/db").Options![1]));
            Assert.Equal(["nosuid", "nodev", "rprivate", "size=64m", "exec"], MountAt(spec, "/run").Options);
            Assert.Equal(["rbind", "rslave"], MountAt(spec, "/shared").Options);

            var refused = Assert.Throws<SkiffException>(() => Build(d => d.MountPoints =
                [new Skiff.Engine.Volumes.MountPoint { Type = "bind", Source = "/nonexistent/skiff", Destination = "/x" }]));
            Assert.Equal("invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/skiff", refused.Message);
        }
        finally
        {
            if (Directory.Exists(missing))
            {
                Directory.Delete(missing);
            }
        }
    }

    [Fact]
    public void User_mounts_come_after_the_defaults_shallow_before_deep()
    {
        var spec = Build(d =>
        {
            d.HostConfig.Tmpfs = new() { ["/a/b/c"] = "", ["/a"] = "", ["/z/y"] = "", ["/a/b"] = "" };
        });

        Assert.Equal([.. DefaultTargets, "/a", "/z/y", "/a/b", "/a/b/c"], spec.Mounts!.Select(m => m.Destination));
    }

    [Fact]
    public void A_user_mount_replaces_the_default_and_a_user_dev_replaces_all_of_dev()
    {
        var shm = Build(d => d.HostConfig.Tmpfs = new() { ["/dev/shm"] = "size=1g" });
        Assert.Equal("tmpfs", Assert.Single(shm.Mounts!, m => m.Destination == "/dev/shm").Source);
        Assert.Contains("size=1g", MountAt(shm, "/dev/shm").Options!);

        var dev = Build(d => d.HostConfig.Tmpfs = new() { ["/dev"] = "" });
        Assert.DoesNotContain(dev.Mounts!, m => m.Destination.StartsWith("/dev/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_generated_etc_files_are_bound_unless_the_user_mounts_there()
    {
        var spec = Build(d => d.HostConfig.Tmpfs = new() { ["/etc/hosts"] = "" },
            Ctx() with { HostsPath = "/d/hosts", HostnamePath = "/d/hostname", ResolvConfPath = "/d/resolv.conf" });

        Assert.Equal("tmpfs", MountAt(spec, "/etc/hosts").Type);
        Assert.Equal(("bind", "/d/hostname"), (MountAt(spec, "/etc/hostname").Type, MountAt(spec, "/etc/hostname").Source));
        Assert.Equal(["rbind", Skiff.Runtime.Oci.MountOptions.SkipIfUnwritable, "rprivate"], MountAt(spec, "/etc/resolv.conf").Options);
    }

    [Fact]
    public void The_etc_files_default_to_the_container_directorys()
    {
        var dir = Directory.CreateTempSubdirectory("skiff-etc").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "hosts"), "127.0.0.1 localhost\n");
            var spec = SpecBuilder.Build(Def(), Ctx() with
            {
                Dir = new Skiff.Runtime.ContainerDirectory(dir), HostsPath = null, HostnamePath = null, ResolvConfPath = null,
            });

            Assert.Equal(Path.Combine(dir, "hosts"), MountAt(spec, "/etc/hosts").Source);
            Assert.DoesNotContain(spec.Mounts!, m => m.Destination == "/etc/hostname"); // not written: not bound
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("/a:/x", "/b:/x/", "Duplicate mount point: /x")]
    [InlineData("/a:x", null, "invalid volume specification: '/a:x': invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute")]
    [InlineData("/a:/", null, "invalid mount config for type \"bind\": invalid specification: destination can't be '/'")]
    [InlineData("/a:/x:rw,ro", null, "invalid mode: rw,ro")]
    [InlineData("/a:/x:bogus", null, "invalid mode: bogus")]
    [InlineData("a:b:c:d", null, "invalid volume specification: 'a:b:c:d'")]
    [InlineData("-bad:/x", null, "\"-bad\" includes invalid characters for a local volume name")]
    public void Bad_binds_get_dockers_messages(string first, string? second, string message)
    {
        var e = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Binds = second is null ? [first] : [first, second],
            Ctx() with { ResolveVolume = n => "/v/" + n }));

        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Bad_mount_specs_get_dockers_messages()
    {
        string Fail(MountSpec m) => Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Mounts = [m])).Message;

        Assert.Equal("invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/skiff",
            Fail(new MountSpec { Type = "bind", Source = "/nonexistent/skiff", Target = "/x" }));
        Assert.Equal("invalid mount config for type \"bind\": field Source must not be empty", Fail(new MountSpec { Type = "bind", Target = "/x" }));
        Assert.Equal("invalid mount config for type \"tmpfs\": field Source must not be specified",
            Fail(new MountSpec { Type = "tmpfs", Source = "/tmp", Target = "/x" }));
        Assert.Equal("invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute",
            Fail(new MountSpec { Type = "bind", Source = "/tmp", Target = "x" }));
        Assert.Equal("invalid mount config for type \"bind\": field Target must not be empty", Fail(new MountSpec { Type = "bind", Source = "/tmp" }));
        Assert.Equal("invalid mount config for type \"npipe\": mount type unknown", Fail(new MountSpec { Type = "npipe", Target = "/x" }));
        Assert.Equal("invalid mount config for type \"bind\": invalid propagation mode: sideways",
            Fail(new MountSpec { Type = "bind", Source = "/tmp", Target = "/x", BindOptions = new BindOptions { Propagation = "sideways" } }));
        Assert.Contains("volumes are not available here", Fail(new MountSpec { Type = "volume", Source = "data", Target = "/x" }));
    }

    [Fact]
    public void The_same_bind_given_as_v_and_as_its_parsed_mount_is_one_mount()
    {
        var spec = Build(d =>
        {
            d.HostConfig.Binds = ["/tmp:/data:ro"];
            d.HostConfig.Mounts = [new MountSpec { Type = "bind", Source = "/tmp", Target = "/data", ReadOnly = true }];
        });

        Assert.Single(spec.Mounts!, m => m.Destination == "/data");
    }

    [Theory]
    [InlineData(new[] { "noexec", "nosuid", "nodev", "exec", "size=1m", "size=2m" }, new[] { "nosuid", "nodev", "exec", "size=2m" })]
    [InlineData(new[] { "rw", "ro", "defaults", "mode=1777" }, new[] { "ro", "mode=1777" })]
    public void Tmpfs_options_merge_as_dockers(string[] given, string[] merged)
    {
        Assert.Equal(merged, ContainerMounts.MergeTmpfs([.. given]));
    }

    [Fact]
    public void An_unknown_tmpfs_option_is_refused()
    {
        var e = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Tmpfs = new() { ["/t"] = "bogus=1" }));
        Assert.Equal("invalid tmpfs option [\"bogus=1\"]", e.Message);
    }
}
