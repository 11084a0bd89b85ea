using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;

namespace Skiff.Cli.Commands;

/// <summary>What `create` and `run` were asked: the container's model plus what only the CLI uses.</summary>
public sealed class ParsedContainer
{
    /// <summary>--name, validated; null for a generated one.</summary>
    public string? Name { get; init; }
    /// <summary>The image as the user named it; "" with --rootfs.</summary>
    public string Image { get; init; } = "";
    /// <summary>What follows the image (with --rootfs: every positional).</summary>
    public List<string> Command { get; init; } = [];
    /// <summary>skiff's --rootfs DIR: run on this directory instead of an image.</summary>
    public string? Rootfs { get; init; }
    public ContainerConfig Config { get; init; } = new();
    public HostConfig HostConfig { get; init; } = new();
    /// <summary>The daemon's reading of -v/--mount/--tmpfs/anonymous volumes, checked (nothing made yet).</summary>
    public List<MountPoint> Mounts { get; init; } = [];
    /// <summary>run -d.</summary>
    public bool Detach { get; init; }
    /// <summary>run --sig-proxy (default true).</summary>
    public bool SigProxy { get; init; } = true;
    public string? DetachKeys { get; init; }
    /// <summary>--pull always|missing|never (default missing).</summary>
    public string Pull { get; init; } = "missing";
    public string? Platform { get; init; }
    /// <summary>-q: no pull progress.</summary>
    public bool Quiet { get; init; }
    public string? CidFile { get; init; }
}

/// <summary>
/// The flags of `skiff create` and `skiff run` and their reading into Docker's Config and
/// HostConfig, filled as the docker CLI fills them for the Engine API (so a container made
/// here and one made by `docker` through `skiff serve` have the same shape). Checks the
/// docker CLI makes are UsageExceptions ("See 'skiff run --help'"); checks its daemon makes
/// are SkiffException.Invalid; both exit 125, with Docker's wording.
/// </summary>
public static class ContainerFlags
{
    /// <summary>The flags create and run share (Docker's addFlags, the part skiff implements).</summary>
    public static readonly FlagSpec[] Table =
    [
        FlagSpec.List("add-host", FlagSpec.NoShort, "list", "Add a custom host-to-IP mapping (host:ip)"),
        FlagSpec.List("attach", 'a', "list", "Attach to STDIN, STDOUT or STDERR"),
        FlagSpec.List("cap-add", FlagSpec.NoShort, "list", "Add Linux capabilities"),
        FlagSpec.List("cap-drop", FlagSpec.NoShort, "list", "Drop Linux capabilities"),
        FlagSpec.Value("cidfile", FlagSpec.NoShort, "string", "Write the container ID to the file"),
        FlagSpec.Value("cpus", FlagSpec.NoShort, "decimal", "Number of CPUs"),
        FlagSpec.List("dns", FlagSpec.NoShort, "list", "Set custom DNS servers"),
        FlagSpec.List("dns-option", FlagSpec.NoShort, "list", "Set DNS options"),
        FlagSpec.List("dns-opt", FlagSpec.NoShort, "list", "Set DNS options (same as --dns-option)"),
        FlagSpec.List("dns-search", FlagSpec.NoShort, "list", "Set custom DNS search domains"),
        FlagSpec.Value("domainname", FlagSpec.NoShort, "string", "Container NIS domain name"),
        FlagSpec.Value("entrypoint", FlagSpec.NoShort, "string", "Overwrite the default ENTRYPOINT of the image"),
        FlagSpec.List("env", 'e', "list", "Set environment variables"),
        FlagSpec.List("env-file", FlagSpec.NoShort, "list", "Read in a file of environment variables"),
        FlagSpec.List("expose", FlagSpec.NoShort, "list", "Expose a port or a range of ports"),
        FlagSpec.Value("hostname", 'h', "string", "Container host name"),
        FlagSpec.Bool("init", FlagSpec.NoShort, "Run an init inside the container that forwards signals and reaps processes"),
        FlagSpec.Bool("interactive", 'i', "Keep STDIN open even if not attached"),
        FlagSpec.List("label", 'l', "list", "Set meta data on a container"),
        FlagSpec.List("label-file", FlagSpec.NoShort, "list", "Read in a line delimited file of labels"),
        FlagSpec.Value("log-driver", FlagSpec.NoShort, "string", "Logging driver for the container (json-file or none)"),
        FlagSpec.List("log-opt", FlagSpec.NoShort, "list", "Log driver options (max-size, max-file)"),
        FlagSpec.Value("memory", 'm', "bytes", "Memory limit"),
        FlagSpec.Value("memory-swap", FlagSpec.NoShort, "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
        FlagSpec.List("mount", FlagSpec.NoShort, "mount", "Attach a filesystem mount to the container"),
        FlagSpec.Value("name", FlagSpec.NoShort, "string", "Assign a name to the container"),
        FlagSpec.Value("network", FlagSpec.NoShort, "network", "Connect a container to a network: private (default), host or none"),
        FlagSpec.Value("net", FlagSpec.NoShort, "network", "Same as --network"),
        FlagSpec.Value("pids-limit", FlagSpec.NoShort, "int", "Tune container pids limit (set -1 for unlimited)"),
        FlagSpec.Value("platform", FlagSpec.NoShort, "string", "Set platform if server is multi-platform capable"),
        FlagSpec.Bool("privileged", FlagSpec.NoShort, "Give extended privileges to this container"),
        FlagSpec.List("publish", 'p', "list", "Publish a container's port(s) to the host"),
        FlagSpec.Value("pull", FlagSpec.NoShort, "string", "Pull image before running (\"always\", \"missing\", \"never\")"),
        FlagSpec.Bool("quiet", 'q', "Suppress the pull output"),
        FlagSpec.Bool("read-only", FlagSpec.NoShort, "Mount the container's root filesystem as read only"),
        FlagSpec.Value("restart", FlagSpec.NoShort, "string", "Restart policy to apply when a container exits (default \"no\")"),
        FlagSpec.Bool("rm", FlagSpec.NoShort, "Automatically remove the container and its associated anonymous volumes when it exits"),
        FlagSpec.Value("rootfs", FlagSpec.NoShort, "DIR", "Run from this root filesystem directory (never modified) instead of an image"),
        FlagSpec.List("security-opt", FlagSpec.NoShort, "list", "Security Options"),
        FlagSpec.Value("stop-signal", FlagSpec.NoShort, "string", "Signal to stop the container"),
        FlagSpec.Value("stop-timeout", FlagSpec.NoShort, "int", "Timeout (in seconds) to stop a container"),
        FlagSpec.List("tmpfs", FlagSpec.NoShort, "list", "Mount a tmpfs directory"),
        FlagSpec.Bool("tty", 't', "Allocate a pseudo-TTY"),
        FlagSpec.List("ulimit", FlagSpec.NoShort, "ulimit", "Ulimit options"),
        FlagSpec.Value("user", 'u', "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
        FlagSpec.List("volume", 'v', "list", "Bind mount a volume"),
        FlagSpec.Value("workdir", 'w', "string", "Working directory inside the container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    /// <summary>run's flags: the shared ones plus -d, --sig-proxy and --detach-keys.</summary>
    public static readonly FlagSpec[] RunTable =
    [
        FlagSpec.Bool("detach", 'd', "Run container in background and print container ID"),
        FlagSpec.Value("detach-keys", FlagSpec.NoShort, "string", "Override the key sequence for detaching a container"),
        FlagSpec.Bool("sig-proxy", FlagSpec.NoShort, "Proxy received signals to the process (default true)"),
        .. Table,
    ];

    /// <summary>
    /// Reads parsed flags into a container. env looks up host variables (-e KEY and a bare
    /// KEY in --env-file). Nothing is created: -v host directories and volumes are made at
    /// create, from Mounts (UserMounts.Prepare).
    /// </summary>
    public static ParsedContainer Parse(ParsedArgs p, Func<string, string?> env)
    {
        string cwd = Directory.GetCurrentDirectory();
        string? rootfs = p.Value("rootfs");
        string image = "";
        List<string> command;
        if (rootfs is not null)
        {
            command = [.. p.Positionals];
        }
        else
        {
            if (p.Positionals.Count == 0)
            {
                throw new UsageException("requires at least 1 argument: an image (or --rootfs DIR and a command)");
            }
            image = p.Positionals[0];
            command = [.. p.Positionals.Skip(1)];
        }

        // Flag values first, in pflag's wording (docker checks them as it reads argv).
        var attach = Attach(p.Values("attach"));
        var envFlags = p.Values("env").Select(e => EnvFlag(e, env)).ToList();
        foreach (var l in p.Values("label"))
        {
            Check("label", l, () => ContainerFlagValues.Label(l));
        }
        var extraHosts = p.Values("add-host").Select(h => Checked("add-host", h, () => ContainerFlagValues.ExtraHost(h))).ToList();
        var dns = p.Values("dns").Select(d => Checked("dns", d, () => ContainerFlagValues.NormalizeIp(d) ?? throw new FormatException($"IP address is not correctly formatted: {d}"))).ToList();
        var dnsSearch = p.Values("dns-search").Select(d => Checked("dns-search", d, () => ContainerFlagValues.DnsSearch(d))).ToList();
        long memory = p.Value("memory") is { } m ? Checked("memory", m, () => ContainerFlagValues.RamInBytes(m)) : 0;
        long swap = p.Value("memory-swap") is { } s ? s == "-1" ? -1 : Checked("memory-swap", s, () => ContainerFlagValues.RamInBytes(s)) : 0;
        long nanoCpus = p.Value("cpus") is { } c ? Checked("cpus", c, () => ContainerFlagValues.NanoCpus(c)) : 0;
        long pids = p.Value("pids-limit") is { } pl ? Checked("pids-limit", pl, () => ContainerFlagValues.ParseInt(pl)) : 0;
        int? stopTimeout = p.Value("stop-timeout") is { } st ? (int)Checked("stop-timeout", st, () => checked((int)ContainerFlagValues.ParseInt(st))) : null;
        var ulimits = Ulimits(p.Values("ulimit"));
        var mounts = p.Values("mount").Select(v => ContainerFlagsMounts.Mount(v, cwd)).ToList();

        // Then what docker's parse() checks.
        var (binds, volumes) = ContainerFlagsMounts.Volumes(p.Values("volume"), cwd);
        var (portBindings, exposed) = ContainerFlagsPorts.Parse(p.Values("publish"), p.Values("expose"));
        var envList = new List<string>();
        foreach (var file in p.Values("env-file"))
        {
            envList.AddRange(ContainerFlagValues.ReadKeyValueFile(file, env));
        }
        envList.AddRange(envFlags);
        var labelList = new List<string>();
        foreach (var file in p.Values("label-file"))
        {
            labelList.AddRange(ContainerFlagValues.ReadKeyValueFile(file, null));
        }
        labelList.AddRange(p.Values("label"));
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in labelList)
        {
            var (k, v, _) = ContainerFlagValues.Cut(l, '=');
            labels[k] = v;
        }
        var restart = ContainerFlagValues.Restart(p.Value("restart"));
        var logConfig = ContainerFlagValues.LogConfig(p.Value("log-driver"), p.Values("log-opt"));
        var securityOpts = p.Values("security-opt").Count == 0 ? null : ContainerFlagValues.SecurityOptions(p.Values("security-opt"));
        bool autoRemove = p.Bool("rm");
        if (autoRemove && restart.Name is not ("" or "no"))
        {
            throw new UsageException("Conflicting options: --restart and --rm");
        }
        string? pull = p.Value("pull");
        if (pull is not (null or "always" or "missing" or "never"))
        {
            throw new UsageException($"invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
        }

        bool interactive = p.Bool("interactive");
        bool attachStdin = attach.Contains("stdin") || interactive;
        bool attachStdout = attach.Count == 0 || attach.Contains("stdout");
        bool attachStderr = attach.Count == 0 || attach.Contains("stderr");
        string? entrypoint = p.Value("entrypoint");
        var config = new ContainerConfig
        {
            Hostname = p.Value("hostname") ?? "",
            Domainname = p.Value("domainname") ?? "",
            ExposedPorts = exposed,
            User = p.Value("user") ?? "",
            Tty = p.Bool("tty"),
            OpenStdin = interactive,
            AttachStdin = attachStdin,
            AttachStdout = attachStdout,
            AttachStderr = attachStderr,
            // When stdin is attached, close it when the client goes (Docker's StdinOnce).
            StdinOnce = interactive && attachStdin,
            Env = envList.Count == 0 ? null : envList,
            Cmd = command.Count == 0 ? null : command,
            Image = rootfs ?? image,
            Volumes = volumes,
            // docker sends [""] for --entrypoint "": skiff's model says cleared with an empty list.
            Entrypoint = entrypoint is null ? null : entrypoint.Length == 0 ? [] : [entrypoint],
            WorkingDir = p.Value("workdir") ?? "",
            Labels = labels,
            StopSignal = p.Value("stop-signal"),
            StopTimeout = stopTimeout,
        };
        var host = new HostConfig
        {
            Binds = binds,
            AutoRemove = autoRemove,
            Privileged = p.Bool("privileged"),
            PortBindings = portBindings,
            Dns = dns,
            DnsSearch = dnsSearch,
            DnsOptions = [.. p.Values("dns-option"), .. p.Values("dns-opt")],
            ExtraHosts = extraHosts.Count == 0 ? null : extraHosts,
            NetworkMode = NetworkMode(p.Value("network") ?? p.Value("net")),
            CapAdd = p.Values("cap-add").Count == 0 ? null : [.. p.Values("cap-add")],
            CapDrop = p.Values("cap-drop").Count == 0 ? null : [.. p.Values("cap-drop")],
            RestartPolicy = restart,
            SecurityOpt = securityOpts,
            ReadonlyRootfs = p.Bool("read-only"),
            LogConfig = logConfig,
            Memory = memory,
            MemorySwap = swap,
            NanoCpus = nanoCpus,
            // Docker reads 0 and -1 alike as unlimited and shows null for both.
            PidsLimit = pids > 0 ? pids : null,
            Ulimits = ulimits,
            Tmpfs = ContainerFlagsMounts.Tmpfs(p.Values("tmpfs")),
            Mounts = mounts.Count == 0 ? null : mounts,
            Init = p.Has("init") ? p.Bool("init") : null,
        };

        // run: -d detaches every stream; -a cannot go with it.
        bool detach = p.Bool("detach");
        if (detach)
        {
            if (p.Values("attach").Count > 0)
            {
                throw new UsageException("Conflicting options: -a and -d");
            }
            config.AttachStdin = config.AttachStdout = config.AttachStderr = config.StdinOnce = false;
        }

        // What the daemon checks at create.
        string? name = p.Value("name");
        ContainerChecks.Check(name, config, host);
        var parsedMounts = UserMounts.Parse(host, config.Volumes?.Keys);

        return new ParsedContainer
        {
            Name = name is not null && name.StartsWith('/') ? name[1..] : name,
            Image = image,
            Command = command,
            Rootfs = rootfs,
            Config = config,
            HostConfig = host,
            Mounts = parsedMounts,
            Detach = detach,
            SigProxy = !p.Has("sig-proxy") || p.Bool("sig-proxy"),
            DetachKeys = p.Value("detach-keys"),
            Pull = pull ?? "missing",
            Platform = p.Value("platform"),
            Quiet = p.Bool("quiet"),
            CidFile = p.Value("cidfile"),
        };
    }

    /// <summary>
    /// --network as skiff has it: none, host, or private (its default, reached through
    /// pasta or slirp4netns; Docker's bridge and default mean the same here).
    /// </summary>
    public static string NetworkMode(string? value) => value switch
    {
        null or "" or "default" or "bridge" or "private" or "slirp4netns" or "pasta" => "private",
        "none" => "none",
        "host" => "host",
        _ => throw SkiffException.NotFound($"network {value} not found"),
    };

    /// <summary>Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed).</summary>
    public static void CheckName(string name) => ContainerChecks.CheckName(name);

    private static List<string> Attach(IReadOnlyList<string> values)
    {
        var streams = new List<string>();
        foreach (var v in values)
        {
            string s = v.ToLowerInvariant();
            if (s is not ("stdin" or "stdout" or "stderr"))
            {
                throw ContainerFlagValues.FlagError("attach", v, "valid streams are STDIN, STDOUT and STDERR");
            }
            streams.Add(s);
        }
        return streams;
    }

    /// <summary>-e as docker reads it: KEY=VALUE as given; a bare KEY takes the host's value, or stays bare when unset.</summary>
    private static string EnvFlag(string value, Func<string, string?> env)
    {
        var (key, _, hasValue) = ContainerFlagValues.Cut(value, '=');
        if (key.Length == 0)
        {
            throw ContainerFlagValues.FlagError("env", value, "invalid environment variable: " + value);
        }
        return hasValue ? value : env(key) is { } host ? key + "=" + host : value;
    }

    private static List<Ulimit>? Ulimits(IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return null;
        }
        // Docker keeps one per name, the last given.
        var byName = new List<Ulimit>();
        foreach (var v in values)
        {
            var u = Checked("ulimit", v, () => ContainerFlagValues.Ulimit(v));
            byName.RemoveAll(x => x.Name == u.Name);
            byName.Add(u);
        }
        return byName;
    }

    private static T Checked<T>(string flag, string value, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw ContainerFlagValues.FlagError(flag, value, e is OverflowException ? $"strconv.ParseInt: parsing \"{value}\": value out of range" : e.Message);
        }
    }

    private static void Check(string flag, string value, Action parse) => Checked(flag, value, () =>
    {
        parse();
        return 0;
    });
}
