using Skiff.Cli.CommandLine;
using Skiff.Cli.Commands;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Cli;

public sealed class ContainerFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-flags-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string? Host(string key) => key switch
    {
        "HOME_VAR" => "from-host",
        "QUOTED" => "'q'",
        _ => null,
    };

    private static ParsedContainer Run(params string[] args) =>
        ContainerFlags.Parse(FlagParser.Parse(ContainerFlags.RunTable, args), Host);

    private static ParsedContainer Create(params string[] args) =>
        ContainerFlags.Parse(FlagParser.Parse(ContainerFlags.Table, args), Host);

    private static string Usage(params string[] args) => Assert.Throws<UsageException>(() => Run(args)).Message;

    private static string Invalid(params string[] args)
    {
        var e = Assert.ThrowsAny<SkiffException>(() => Run(args));
        Assert.IsNotType<UsageException>(e);
        return e.Message;
    }

    [Fact]
    public void Flags_stop_at_the_image_and_combined_shorts_work()
    {
        var c = Run("-dit", "--name=web", "-e", "A=1", "busybox", "ls", "-la", "--rm");

        Assert.True(c.Detach);
        Assert.True(c.Config.Tty);
        Assert.True(c.Config.OpenStdin);
        Assert.Equal("web", c.Name);
        Assert.Equal("busybox", c.Image);
        Assert.Equal("busybox", c.Config.Image);
        Assert.Equal(["ls", "-la", "--rm"], c.Command);
        Assert.Equal(["ls", "-la", "--rm"], c.Config.Cmd);
        Assert.False(c.HostConfig.AutoRemove);
    }

    [Fact]
    public void Attach_streams_follow_dockers_rules()
    {
        var plain = Run("busybox");
        Assert.False(plain.Config.AttachStdin);
        Assert.True(plain.Config.AttachStdout);
        Assert.True(plain.Config.AttachStderr);
        Assert.False(plain.Config.StdinOnce);

        var interactive = Run("-i", "busybox");
        Assert.True(interactive.Config.AttachStdin);
        Assert.True(interactive.Config.OpenStdin);
        Assert.True(interactive.Config.StdinOnce);

        var onlyErr = Run("-a", "STDERR", "busybox");
        Assert.False(onlyErr.Config.AttachStdout);
        Assert.True(onlyErr.Config.AttachStderr);

        var detached = Run("-d", "-i", "busybox");
        Assert.True(detached.Config.OpenStdin);
        Assert.False(detached.Config.AttachStdin || detached.Config.AttachStdout || detached.Config.AttachStderr || detached.Config.StdinOnce);

        Assert.Equal("Conflicting options: -a and -d", Usage("-d", "-a", "stdout", "busybox"));
        Assert.Equal("invalid argument \"x\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", Usage("-a", "x", "busybox"));
        Assert.True(Run("busybox").SigProxy);
        Assert.False(Run("--sig-proxy=false", "busybox").SigProxy);
    }

    [Fact]
    public void Create_has_no_detach_flag()
    {
        Assert.Equal("unknown shorthand flag: 'd' in -d", Assert.Throws<UsageException>(() => Create("-d", "busybox")).Message);
        Assert.True(Create("--rm", "busybox").HostConfig.AutoRemove);
    }

    [Fact]
    public void Names_follow_dockers_rule()
    {
        Assert.Equal("a.b-c_1", Run("--name", "a.b-c_1", "busybox").Name);
        Assert.Equal("lead", Run("--name", "/lead", "busybox").Name);
        Assert.Equal("Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", Invalid("--name", "a", "busybox"));
        Assert.Equal("Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", Invalid("--name", "-x", "busybox"));
        Assert.Equal("Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", Invalid("--name", "a/b", "busybox"));
        Assert.Null(Run("busybox").Name);
    }

    [Fact]
    public void Environment_comes_from_files_then_flags_and_bare_keys_take_the_hosts_value()
    {
        string file = Path.Combine(_dir, "env");
        File.WriteAllText(file, "\uFEFF# a comment\n\n  FROM_FILE=1\nQUOTED_VALUE=\"two words\"\nHOME_VAR\nUNSET_IN_FILE\nTRAIL=x  \r\n");

        var c = Run("--env-file", file, "-e", "A=1", "-e", "HOME_VAR", "-e", "UNSET", "-e", "B=", "busybox");

        Assert.Equal(["FROM_FILE=1", "QUOTED_VALUE=two words", "HOME_VAR=from-host", "TRAIL=x  ", "A=1", "HOME_VAR=from-host", "UNSET", "B="], c.Config.Env);
        Assert.Null(Run("busybox").Config.Env);
        Assert.Equal("invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x", Usage("-e", "=x", "busybox"));
    }

    [Fact]
    public void Env_file_errors_are_dockers()
    {
        File.WriteAllText(Path.Combine(_dir, "spaced"), "A B=1\n");
        File.WriteAllText(Path.Combine(_dir, "nameless"), "=1\n");
        File.WriteAllBytes(Path.Combine(_dir, "latin1"), [(byte)'A', (byte)'=', 0xE9, (byte)'\n']);

        Assert.Equal($"open {_dir}/none: no such file or directory", Usage("--env-file", Path.Combine(_dir, "none"), "busybox"));
        Assert.Equal($"invalid env file ({_dir}/spaced): variable 'A B' contains whitespaces", Usage("--env-file", Path.Combine(_dir, "spaced"), "busybox"));
        Assert.Equal($"invalid env file ({_dir}/nameless): no variable name on line '=1'", Usage("--env-file", Path.Combine(_dir, "nameless"), "busybox"));
        Assert.StartsWith($"invalid env file ({_dir}/latin1): invalid utf8 bytes at line 1", Usage("--env-file", Path.Combine(_dir, "latin1"), "busybox"));
    }

    [Fact]
    public void Labels_come_from_files_then_flags_and_a_bare_file_key_is_dropped()
    {
        string file = Path.Combine(_dir, "labels");
        File.WriteAllText(file, "a=from-file\nbare\nb=2\n");

        var c = Run("--label-file", file, "-l", "a=flag", "--label", "empty", "busybox");

        Assert.Equal(new Dictionary<string, string> { ["a"] = "flag", ["b"] = "2", ["empty"] = "" }, c.Config.Labels);
        Assert.Empty(Run("busybox").Config.Labels!);
        Assert.Equal("invalid argument \"=v\" for \"-l, --label\" flag: invalid label '=v': empty name", Usage("-l", "=v", "busybox"));
        Assert.Equal("invalid argument \"a b=v\" for \"-l, --label\" flag: label 'a b' contains whitespaces", Usage("-l", "a b=v", "busybox"));
    }

    [Fact]
    public void Entrypoint_replaces_or_clears()
    {
        Assert.Null(Run("busybox").Config.Entrypoint);
        Assert.Equal(["/bin/sh"], Run("--entrypoint", "/bin/sh", "busybox").Config.Entrypoint);
        Assert.Equal([], Run("--entrypoint=", "busybox").Config.Entrypoint);
        Assert.Equal([], Run("--entrypoint", "", "busybox").Config.Entrypoint);
    }

    [Fact]
    public void Plain_values_land_where_docker_puts_them()
    {
        var c = Run("-w", "/srv", "-u", "1000:1000", "-h", "box", "--domainname", "example.org", "--read-only", "--privileged", "--init",
            "--stop-signal", "SIGUSR1", "--stop-timeout", "42", "--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN", "--cap-add", "ALL", "busybox");

        Assert.Equal("/srv", c.Config.WorkingDir);
        Assert.Equal("1000:1000", c.Config.User);
        Assert.Equal("box", c.Config.Hostname);
        Assert.Equal("example.org", c.Config.Domainname);
        Assert.True(c.HostConfig.ReadonlyRootfs);
        Assert.True(c.HostConfig.Privileged);
        Assert.True(c.HostConfig.Init);
        Assert.Equal("SIGUSR1", c.Config.StopSignal);
        Assert.Equal(42, c.Config.StopTimeout);
        Assert.Equal(["net_admin", "ALL"], c.HostConfig.CapAdd);
        Assert.Equal(["CAP_CHOWN"], c.HostConfig.CapDrop);

        var defaults = Run("busybox");
        Assert.Null(defaults.HostConfig.Init);
        Assert.Null(defaults.Config.StopTimeout);
        Assert.False(Run("--init=false", "busybox").HostConfig.Init);
        Assert.Equal("unknown capability: \"CAP_BOGUS\"", Invalid("--cap-add", "bogus", "busybox"));
        Assert.Equal("Invalid signal: SIGNOPE", Invalid("--stop-signal", "SIGNOPE", "busybox"));
        Assert.Equal("invalid argument \"soon\" for \"--stop-timeout\" flag: strconv.ParseInt: parsing \"soon\": invalid syntax", Usage("--stop-timeout", "soon", "busybox"));
    }

    [Theory]
    [InlineData("8388608", 8L << 20)]
    [InlineData("6m", 6L << 20)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("7340032b", 7340032)]
    public void Memory_reads_sizes_as_go_units_does(string value, long bytes) =>
        Assert.Equal(bytes, Run("-m", value, "busybox").HostConfig.Memory);

    [Fact]
    public void Memory_errors_are_dockers()
    {
        Assert.Equal("invalid argument \"abc\" for \"-m, --memory\" flag: invalid size: 'abc'", Usage("-m", "abc", "busybox"));
        Assert.Equal("invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'", Usage("--memory", "1x", "busybox"));
        Assert.Equal("invalid argument \"-1\" for \"-m, --memory\" flag: invalid size: '-1'", Usage("-m", "-1", "busybox"));
        Assert.Equal("Minimum memory limit allowed is 6MB", Invalid("-m", "4m", "busybox"));
        Assert.Equal("Minimum memoryswap limit should be larger than memory limit, see usage", Invalid("-m", "64m", "--memory-swap", "32m", "busybox"));
        Assert.Equal("You should always set the Memory limit when using Memoryswap limit, see usage", Invalid("--memory-swap", "32m", "busybox"));
        Assert.Equal(-1, Run("-m", "64m", "--memory-swap", "-1", "busybox").HostConfig.MemorySwap);
        Assert.Equal(128L << 20, Run("-m", "64m", "--memory-swap", "128m", "busybox").HostConfig.MemorySwap);
    }

    [Fact]
    public void Cpus_are_nano_cpus_within_the_hosts_count()
    {
        Assert.Equal(500_000_000, Run("--cpus", "0.5", "busybox").HostConfig.NanoCpus);
        Assert.Equal(1_500_000_000, Run("--cpus", "3/2", "busybox").HostConfig.NanoCpus);
        int n = Environment.ProcessorCount;
        Assert.Equal($"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available", Invalid("--cpus", (n + 1).ToString(), "busybox"));
        Assert.Equal("invalid argument \"lots\" for \"--cpus\" flag: failed to parse lots as a rational number", Usage("--cpus", "lots", "busybox"));
        Assert.Equal("invalid argument \"0.0000000001\" for \"--cpus\" flag: value is too precise", Usage("--cpus", "0.0000000001", "busybox"));
    }

    [Fact]
    public void Pids_limit_and_ulimits()
    {
        Assert.Equal(100, Run("--pids-limit", "100", "busybox").HostConfig.PidsLimit);
        Assert.Null(Run("--pids-limit", "-1", "busybox").HostConfig.PidsLimit);
        Assert.Null(Run("busybox").HostConfig.PidsLimit);
        Assert.Equal("invalid argument \"x\" for \"--pids-limit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax", Usage("--pids-limit", "x", "busybox"));

        var u = Run("--ulimit", "nofile=1024:2048", "--ulimit", "nproc=10", "--ulimit", "nofile=512", "--ulimit", "core=-1", "busybox").HostConfig.Ulimits!;
        Assert.Equal(["nproc 10 10", "nofile 512 512", "core -1 -1"], u.Select(x => $"{x.Name} {x.Soft} {x.Hard}"));
        Assert.Equal("invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile", Usage("--ulimit", "nofile", "busybox"));
        Assert.Equal("invalid argument \"bogus=1\" for \"--ulimit\" flag: invalid ulimit type: bogus", Usage("--ulimit", "bogus=1", "busybox"));
        Assert.Equal("invalid argument \"nofile=2:1\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1", Usage("--ulimit", "nofile=2:1", "busybox"));
        Assert.Equal("invalid argument \"nofile=-1:10\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 10", Usage("--ulimit", "nofile=-1:10", "busybox"));
        Assert.Equal("invalid argument \"nofile=1:2:3\" for \"--ulimit\" flag: too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`", Usage("--ulimit", "nofile=1:2:3", "busybox"));
    }

    [Fact]
    public void Restart_policies_and_their_conflict_with_rm()
    {
        Assert.Equal("", Run("busybox").HostConfig.RestartPolicy.Name);
        var r = Run("--restart", "on-failure:2", "busybox").HostConfig.RestartPolicy;
        Assert.Equal(("on-failure", 2), (r.Name, r.MaximumRetryCount));
        Assert.Equal("always", Run("--restart=always", "busybox").HostConfig.RestartPolicy.Name);
        Assert.True(Run("--restart", "no", "--rm", "busybox").HostConfig.AutoRemove);
        Assert.True(Run("-d", "--rm", "busybox").HostConfig.AutoRemove);

        Assert.Equal("Conflicting options: --restart and --rm", Usage("--restart", "always", "--rm", "busybox"));
        Assert.Equal("invalid restart policy format: maximum retry count must be an integer", Usage("--restart", "on-failure:x", "busybox"));
        Assert.Equal("invalid restart policy format: no policy provided before colon", Usage("--restart", ":3", "busybox"));
        Assert.Equal("invalid restart policy: maximum retry count can only be used with 'on-failure'", Invalid("--restart", "always:3", "busybox"));
        Assert.Equal("invalid restart policy: maximum retry count cannot be negative", Invalid("--restart", "on-failure:-1", "busybox"));
        Assert.Equal("invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", Invalid("--restart", "sometimes", "busybox"));
    }

    [Fact]
    public void Hosts_and_dns()
    {
        var c = Run("--add-host", "db:10.0.0.2", "--add-host", "gw=host-gateway", "--add-host", "v6:[::1]", "--dns", "1.1.1.1", "--dns", "::0001",
            "--dns-search", "example.com.", "--dns-option", "ndots:2", "--dns-opt", "edns0", "busybox");

        Assert.Equal(["db:10.0.0.2", "gw:host-gateway", "v6:::1"], c.HostConfig.ExtraHosts);
        Assert.Equal(["1.1.1.1", "::1"], c.HostConfig.Dns);
        Assert.Equal(["example.com"], c.HostConfig.DnsSearch);
        Assert.Equal(["ndots:2", "edns0"], c.HostConfig.DnsOptions);
        var none = Run("busybox").HostConfig;
        Assert.Equal([], none.Dns);
        Assert.Equal([], none.DnsSearch);
        Assert.Equal([], none.DnsOptions);
        Assert.Null(none.ExtraHosts);

        Assert.Equal("invalid argument \"x\" for \"--add-host\" flag: bad format for add-host: \"x\"", Usage("--add-host", "x", "busybox"));
        Assert.Equal("invalid argument \"h:1.2.3\" for \"--add-host\" flag: invalid IP address in add-host: \"1.2.3\"", Usage("--add-host", "h:1.2.3", "busybox"));
        Assert.Equal("invalid argument \"1.2.3.256\" for \"--dns\" flag: IP address is not correctly formatted: 1.2.3.256", Usage("--dns", "1.2.3.256", "busybox"));
        Assert.Equal("invalid argument \"-bad-\" for \"--dns-search\" flag: -bad- is not a valid domain", Usage("--dns-search", "-bad-", "busybox"));
    }

    [Fact]
    public void Network_modes()
    {
        Assert.Equal("private", Run("busybox").HostConfig.NetworkMode);
        Assert.Equal("private", Run("--network", "bridge", "busybox").HostConfig.NetworkMode);
        Assert.Equal("private", Run("--network=pasta", "busybox").HostConfig.NetworkMode);
        Assert.Equal("private", Run("--network", "slirp4netns", "busybox").HostConfig.NetworkMode);
        Assert.Equal("none", Run("--network", "none", "busybox").HostConfig.NetworkMode);
        Assert.Equal("host", Run("--net", "host", "busybox").HostConfig.NetworkMode);
        var e = Assert.ThrowsAny<SkiffException>(() => Run("--network", "mynet", "busybox"));
        Assert.Equal("network mynet not found", e.Message);
        Assert.Equal(ErrorCategory.NotFound, e.Category);
    }

    [Fact]
    public void Published_ports_become_bindings_and_exposed_ports()
    {
        var c = Run("-p", "127.0.0.1:18080:80", "-p", "53:53/udp", "-p", "9000", "-p", "8000-8001:7000-7001", "-p", "published=5000,target=500",
            "--expose", "3000-3001", "--expose", "4000/udp", "busybox");

        var b = c.HostConfig.PortBindings!;
        Assert.Equal(("127.0.0.1", "18080"), (b["80/tcp"][0].HostIp, b["80/tcp"][0].HostPort));
        Assert.Equal("53", b["53/udp"][0].HostPort);
        Assert.Equal(("", ""), (b["9000/tcp"][0].HostIp, b["9000/tcp"][0].HostPort));
        Assert.Equal("8001", b["7001/tcp"][0].HostPort);
        Assert.Equal("5000", b["500/tcp"][0].HostPort);
        Assert.Equal(
            ["3000/tcp", "3001/tcp", "4000/udp", "500/tcp", "53/udp", "7000/tcp", "7001/tcp", "80/tcp", "9000/tcp"],
            c.Config.ExposedPorts!.Keys.Order(StringComparer.Ordinal));
        Assert.Null(Run("busybox").HostConfig.PortBindings);
        Assert.Null(Run("busybox").Config.ExposedPorts);

        Assert.Contains("invalid containerPort: x", Assert.ThrowsAny<SkiffException>(() => Run("-p", "8080:x", "busybox")).Message);
        Assert.Equal("invalid port format for --expose: 1:2", Usage("--expose", "1:2", "busybox"));
        Assert.StartsWith("invalid range format for --expose: 9-1, error: ", Usage("--expose", "9-1", "busybox"));
    }

    [Fact]
    public void Volume_flags_split_into_binds_and_anonymous_volumes_as_the_docker_cli_does()
    {
        string host = Path.Combine(_dir, "host");
        Directory.CreateDirectory(host);
        var c = Run("-v", $"{host}:/data:ro", "-v", "named:/named", "-v", "/anon", "-v", "named:/named", "busybox");

        Assert.Equal([$"{host}:/data:ro", "named:/named"], c.HostConfig.Binds);
        Assert.Equal(["/anon"], c.Config.Volumes!.Keys);
        Assert.Equal(["bind /data ro", "volume /named rw", "volume /anon rw"], c.Mounts.Select(m => $"{m.Type} {m.Destination} {(m.RW ? "rw" : "ro")}"));
        Assert.Equal(host, c.Mounts[0].Source);
        Assert.Equal("named", c.Mounts[1].Name);
        Assert.True(c.Mounts[2].Anonymous);

        string cwd = Directory.GetCurrentDirectory();
        try
        {
            Directory.SetCurrentDirectory(_dir);
            Assert.Equal([$"{_dir}/rel:/rel"], Run("-v", "./rel:/rel", "busybox").HostConfig.Binds);
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
        }
    }

    [Fact]
    public void Volume_errors_are_dockers()
    {
        Assert.Equal("invalid spec: a:b:c:d: too many colons", Usage("-v", "a:b:c:d", "busybox"));
        Assert.Equal("invalid spec: a::b: empty section between colons", Usage("-v", "a::b", "busybox"));
        Assert.Equal("invalid volume specification: '/data:rw'", Invalid("-v", "/data:rw", "busybox"));
        Assert.Equal("invalid mode: bogus", Invalid("-v", "/a:/b:bogus", "busybox"));
        Assert.Equal("invalid volume specification: '/a:relative': invalid mount config for type \"bind\": invalid mount path: 'relative' mount path must be absolute", Invalid("-v", "/a:relative", "busybox"));
        Assert.Equal("invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'", Invalid("-v", "/a:/", "busybox"));
        Assert.Equal("create ~/x: \"~/x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
            Invalid("-v", "~/x:/x", "busybox"));
        Assert.Equal("Duplicate mount point: /x", Invalid("-v", "a1:/x", "-v", "/tmp:/x", "busybox"));
    }

    [Fact]
    public void Mount_flag_reads_dockers_csv()
    {
        string host = Path.Combine(_dir, "src");
        Directory.CreateDirectory(host);
        var c = Run("--mount", $"type=bind,source={host},target=/b,readonly,bind-propagation=rshared",
            "--mount", "type=volume,src=vol1,dst=/v,volume-nocopy,volume-label=a=b",
            "--mount", "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1777",
            "--mount", "target=/anon",
            "--mount", "\"type=bind\",\"src=" + host + "\",dst=/q,ro=false",
            "busybox");

        var m = c.HostConfig.Mounts!;
        Assert.Equal(("bind", host, "/b", true, "rshared"), (m[0].Type, m[0].Source, m[0].Target, m[0].ReadOnly, m[0].BindOptions!.Propagation));
        Assert.Equal(("volume", "vol1", true, "b"), (m[1].Type, m[1].Source, m[1].VolumeOptions!.NoCopy, m[1].VolumeOptions!.Labels!["a"]));
        Assert.Equal(("tmpfs", 64L << 20, 0x3FF), (m[2].Type, m[2].TmpfsOptions!.SizeBytes, m[2].TmpfsOptions!.Mode));
        Assert.Equal(("volume", ""), (m[3].Type, m[3].Source));
        Assert.False(m[4].ReadOnly);
        Assert.Equal("mode=1777,size=64m", c.Mounts.Single(x => x.Type == "tmpfs").TmpfsOptions);
        Assert.False(c.Mounts.Single(x => x.Destination == "/v").CopyData);
        Assert.True(c.Mounts.Single(x => x.Destination == "/anon").CopyData);
    }

    [Fact]
    public void Mount_flag_errors_are_dockers()
    {
        Assert.Equal("invalid argument \"type=bind\" for \"--mount\" flag: target is required", Usage("--mount", "type=bind", "busybox"));
        Assert.Equal("invalid argument \"type=bind,dst=/x,bogus\" for \"--mount\" flag: invalid field 'bogus' must be a key=value pair", Usage("--mount", "type=bind,dst=/x,bogus", "busybox"));
        Assert.Equal("invalid argument \"dst=/x,color=red\" for \"--mount\" flag: unexpected key 'color' in 'color=red'", Usage("--mount", "dst=/x,color=red", "busybox"));
        Assert.Equal("invalid argument \"type=tmpfs,dst=/x,volume-nocopy\" for \"--mount\" flag: cannot mix 'volume-*' options with mount type 'tmpfs'", Usage("--mount", "type=tmpfs,dst=/x,volume-nocopy", "busybox"));
        Assert.Equal("invalid argument \"type=bind,src=/x,dst=/y,ro=maybe\" for \"--mount\" flag: invalid value for ro: maybe", Usage("--mount", "type=bind,src=/x,dst=/y,ro=maybe", "busybox"));
        Assert.Equal("invalid mount config for type \"bind\": bind source path does not exist: /no/such/dir", Invalid("--mount", "type=bind,src=/no/such/dir,dst=/x", "busybox"));
        Assert.Equal("invalid mount config for type \"bind\": field Source must not be empty", Invalid("--mount", "type=bind,dst=/x", "busybox"));
        Assert.Equal("invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes", Invalid("--mount", "dst=/x,ro", "busybox"));
        Assert.Equal("invalid mount config for type \"nfs\": mount type unknown", Invalid("--mount", "type=nfs,dst=/x", "busybox"));
        Assert.Equal("invalid mount config for type \"bind\": invalid propagation mode: sideways", Invalid("--mount", "type=bind,src=/tmp,dst=/x,bind-propagation=sideways", "busybox"));
    }

    [Fact]
    public void Tmpfs_flag()
    {
        var c = Run("--tmpfs", "/run", "--tmpfs", "/cache:rw,size=64m,mode=1777", "busybox");

        Assert.Equal(new Dictionary<string, string> { ["/run"] = "", ["/cache"] = "rw,size=64m,mode=1777" }, c.HostConfig.Tmpfs);
        Assert.Equal("rw,size=64m,mode=1777", c.Mounts.Single(m => m.Destination == "/cache").TmpfsOptions);
        Assert.Equal("invalid mount path: 'rel' mount path must be absolute", Invalid("--tmpfs", "rel", "busybox"));
    }

    [Fact]
    public void Security_options()
    {
        string profile = Path.Combine(_dir, "seccomp.json");
        File.WriteAllText(profile, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n");

        var c = Run("--security-opt", "no-new-privileges", "--security-opt", "no-new-privileges:true", "--security-opt", "seccomp=unconfined",
            "--security-opt", $"seccomp={profile}", "--security-opt", "label=disable", "--security-opt", "apparmor=unconfined", "busybox");

        Assert.Equal(["no-new-privileges", "no-new-privileges:true", "seccomp=unconfined", "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "label=disable", "apparmor=unconfined"],
            c.HostConfig.SecurityOpt);
        Assert.Null(Run("busybox").HostConfig.SecurityOpt);
        Assert.Equal("invalid --security-opt: \"seccomp\"", Usage("--security-opt", "seccomp", "busybox"));
        Assert.Equal($"opening seccomp profile ({_dir}/none.json) failed: open {_dir}/none.json: no such file or directory", Usage("--security-opt", $"seccomp={_dir}/none.json", "busybox"));
        Assert.Equal("invalid --security-opt 2: \"no-new-privileges=maybe\"", Invalid("--security-opt", "no-new-privileges=maybe", "busybox"));
        Assert.Equal("invalid --security-opt 2: \"color=blue\"", Invalid("--security-opt", "color=blue", "busybox"));
    }

    [Fact]
    public void Log_driver_and_options()
    {
        var c = Run("--log-opt", "max-size=10m", "--log-opt", "max-file=3", "busybox");
        Assert.Equal("json-file", c.HostConfig.LogConfig.Type);
        Assert.Equal(new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" }, c.HostConfig.LogConfig.Config);
        Assert.Equal("none", Run("--log-driver", "none", "busybox").HostConfig.LogConfig.Type);

        Assert.Equal("skiff supports the json-file and none log drivers", Invalid("--log-driver", "syslog", "busybox"));
        Assert.Equal("invalid logging opts for driver none", Usage("--log-driver", "none", "--log-opt", "max-size=1m", "busybox"));
        Assert.Equal("unknown log opt 'colour' for json-file log driver", Invalid("--log-opt", "colour=red", "busybox"));
        Assert.Equal("max-file cannot be less than 1", Invalid("--log-opt", "max-file=0", "busybox"));
        Assert.Equal("invalid size: 'big'", Invalid("--log-opt", "max-size=big", "busybox"));
    }

    [Fact]
    public void Rootfs_takes_every_positional_as_the_command()
    {
        var c = Run("--rootfs", "/some/dir", "sh", "-c", "true");

        Assert.Equal("/some/dir", c.Rootfs);
        Assert.Equal("", c.Image);
        Assert.Equal(["sh", "-c", "true"], c.Command);
    }

    [Fact]
    public void Pull_platform_quiet_cidfile()
    {
        var c = Run("--pull", "never", "--platform", "linux/amd64", "-q", "--cidfile", "/tmp/cid", "busybox");
        Assert.Equal(("never", "linux/amd64", true, "/tmp/cid"), (c.Pull, c.Platform, c.Quiet, c.CidFile));
        Assert.Equal("missing", Run("busybox").Pull);
        Assert.Equal("invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\"", Usage("--pull", "sometimes", "busybox"));
    }

    [Fact]
    public void The_model_serializes_in_dockers_shape()
    {
        var c = Run("-p", "80", "-e", "A=1", "busybox", "true");
        string config = System.Text.Json.JsonSerializer.Serialize(c.Config, ContainerJson.Default.ContainerConfig);
        string host = System.Text.Json.JsonSerializer.Serialize(c.HostConfig, ContainerJson.Default.HostConfig);

        Assert.Contains("\"ExposedPorts\":{\"80/tcp\":{}}", config);
        Assert.Contains("\"Env\":[\"A=1\"]", config);
        Assert.Contains("\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}", host);
    }
}
