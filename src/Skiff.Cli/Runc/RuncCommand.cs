using System.Globalization;
using System.Text;
using System.Text.Json;
using Skiff.Cli.CommandLine;
using Skiff.Linux;
using Skiff.Oci;
using Skiff.Runtime.Oci;

namespace Skiff.Cli.Runc;

/// <summary>
/// skiff-runc: runc's command line over OciRuntime, so that Podman (conmon), containerd
/// and anything else that drives runc can drive skiff. Output shapes and exit codes are
/// runc's: 0, or 1 with the error on stderr and in --log.
/// </summary>
public static class RuncCommand
{
    private static readonly FlagSpec[] GlobalFlags =
    [
        FlagSpec.Value("root", FlagSpec.NoShort, "DIR", "state directory"),
        FlagSpec.Value("log", FlagSpec.NoShort, "FILE", "log file"),
        FlagSpec.Value("log-format", FlagSpec.NoShort, "text|json", "log format"),
        FlagSpec.Bool("debug", FlagSpec.NoShort, "debug logging"),
        FlagSpec.Bool("systemd-cgroup", FlagSpec.NoShort, "accepted; cgroupfs is used without systemd"),
        FlagSpec.Value("rootless", FlagSpec.NoShort, "auto|true|false", "rootless mode"),
        FlagSpec.Value("criu", FlagSpec.NoShort, "PATH", "accepted, unused"),
        FlagSpec.Bool("version", 'v', "print the version"),
        FlagSpec.Bool("help", 'h', "show help"),
    ];

    public static int Execute(string[] args)
    {
        var log = new RuncLog(null, false, false);
        try
        {
            var global = FlagParser.Parse(GlobalFlags, args);
            log = new RuncLog(global.Value("log"), global.Value("log-format") == "json", global.Bool("debug"));
            if (global.Value("log-format") is { } format and not ("json" or "text"))
            {
                throw SkiffException.Invalid($"invalid --log-format \"{format}\": use text or json");
            }
            if (global.Bool("version"))
            {
                Console.Out.WriteLine($"skiff-runc version {Commands.VersionCommand.Version}\ncommit: {Commands.VersionCommand.Commit}\nspec: 1.2.0");
                return 0;
            }
            if (global.Positionals.Count == 0 || global.Bool("help"))
            {
                Console.Out.Write(Usage);
                return global.Bool("help") ? 0 : 1;
            }
            bool rootless = global.Value("rootless") switch
            {
                null or "auto" => Interop.Libc.geteuid() != 0 || !InitialUserNamespace(),
                "true" => true,
                "false" => false,
                var v => throw SkiffException.Invalid($"invalid --rootless \"{v}\": use auto, true or false"),
            };
            string root = global.Value("root") ?? DefaultRoot();
            OciRuntime.SeccompCompiler = Skiff.Oci.Seccomp.SeccompCompiler.Compile;
            var runtime = new OciRuntime(LinuxSyscalls.Instance, new ContainerStore(root), rootless, log.Warn);
            string verb = global.Positionals[0];
            var rest = global.Positionals.Skip(1).ToArray();
            return Dispatch(runtime, verb, rest);
        }
        catch (SkiffException e)
        {
            log.Error(e.Message);
            return 1;
        }
        catch (IOException e)
        {
            log.Error(e.Message);
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            log.Error(e.Message);
            return 1;
        }
    }

    private static bool InitialUserNamespace()
    {
        try
        {
            return ProcFile.ReadAllText("/proc/self/uid_map").Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries) is ["0", "0", "4294967295"];
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string DefaultRoot()
    {
        if (Interop.Libc.geteuid() == 0 && UserNamespaceKeeper.Joined == 0 && InitialUserNamespace())
        {
            return "/run/skiff-runc";
        }
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(xdg) && Directory.Exists(xdg)
            ? Path.Combine(xdg, "skiff-runc")
            : $"/tmp/skiff-runc-{Interop.Libc.getuid()}";
    }

    private static int Dispatch(OciRuntime runtime, string verb, string[] args) => verb switch
    {
        "create" => Create(runtime, args),
        "start" => WithId(args, "start", [], (p, id) => runtime.Start(id)),
        "run" => Run(runtime, args),
        "state" => WithId(args, "state", [], (p, id) => Console.Out.WriteLine(ContainerStateJson.ToText(runtime.State(id)))),
        "kill" => Kill(runtime, args),
        "delete" => WithId(args, "delete", [FlagSpec.Bool("force", 'f', "kill a running container first")], (p, id) => runtime.Delete(id, p.Bool("force"))),
        "list" => List(runtime, args),
        "ps" => Ps(runtime, args),
        "exec" => Exec(runtime, args),
        "pause" => WithId(args, "pause", [], (p, id) => runtime.Pause(id, true)),
        "resume" => WithId(args, "resume", [], (p, id) => runtime.Pause(id, false)),
        "update" => Update(runtime, args),
        "features" => Features(),
        "spec" => Spec(args),
        _ => throw SkiffException.Invalid($"no such command: {verb} (create, start, run, state, kill, delete, list, ps, exec, pause, resume, update, features, spec)"),
    };

    private static int WithId(string[] args, string verb, FlagSpec[] flags, Action<ParsedArgs, string> action)
    {
        var p = FlagParser.Parse(flags, args);
        if (p.Positionals.Count != 1)
        {
            throw SkiffException.Invalid($"\"{verb}\" requires exactly 1 argument: the container id");
        }
        action(p, p.Positionals[0]);
        return 0;
    }

    private static readonly FlagSpec[] CreateFlags =
    [
        FlagSpec.Value("bundle", 'b', "DIR", "the bundle directory (default: the current directory)"),
        FlagSpec.Value("console-socket", FlagSpec.NoShort, "PATH", "unix socket that receives the pty master"),
        FlagSpec.Value("pid-file", FlagSpec.NoShort, "FILE", "write the container's pid here"),
        FlagSpec.Value("preserve-fds", FlagSpec.NoShort, "N", "pass N fds after stdio"),
        FlagSpec.Bool("no-pivot", FlagSpec.NoShort, "accepted; pivot_root is always used"),
        FlagSpec.Bool("no-new-keyring", FlagSpec.NoShort, "accepted; no session keyring is made"),
        FlagSpec.Bool("detach", 'd', "run: detach from the container"),
        FlagSpec.Bool("keep", FlagSpec.NoShort, "run: keep the container after it exits"),
        FlagSpec.Bool("no-subreaper", FlagSpec.NoShort, "accepted"),
    ];

    private static (string Id, string Bundle, CreateOptions Options, ParsedArgs Parsed) ParseCreate(string[] args, string verb)
    {
        var p = FlagParser.Parse(CreateFlags, args);
        if (p.Positionals.Count != 1)
        {
            throw SkiffException.Invalid($"\"{verb}\" requires exactly 1 argument: the container id");
        }
        uint preserve = 0;
        if (p.Value("preserve-fds") is { } n && !uint.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out preserve))
        {
            throw SkiffException.Invalid($"invalid --preserve-fds \"{n}\": a number");
        }
        var options = new CreateOptions { PidFile = p.Value("pid-file"), ConsoleSocket = p.Value("console-socket"), PreserveFds = preserve };
        return (p.Positionals[0], p.Value("bundle") ?? Environment.CurrentDirectory, options, p);
    }

    private static int Create(OciRuntime runtime, string[] args)
    {
        var (id, bundle, options, _) = ParseCreate(args, "create");
        runtime.Create(id, bundle, options);
        return 0;
    }

    private static int Run(OciRuntime runtime, string[] args)
    {
        var (id, bundle, options, p) = ParseCreate(args, "run");
        return runtime.Run(id, bundle, options, p.Bool("detach"), p.Bool("keep"));
    }

    private static int Kill(OciRuntime runtime, string[] args)
    {
        var p = FlagParser.Parse([FlagSpec.Bool("all", 'a', "signal every process of the container")], args);
        if (p.Positionals.Count is < 1 or > 2)
        {
            throw SkiffException.Invalid("\"kill\" takes the container id and an optional signal (default SIGTERM)");
        }
        int signal = p.Positionals.Count == 2 ? Signals.Parse(p.Positionals[1]) : 15;
        runtime.Kill(p.Positionals[0], signal, p.Bool("all"));
        return 0;
    }

    private static int List(OciRuntime runtime, string[] args)
    {
        var p = FlagParser.Parse([FlagSpec.Value("format", 'f', "table|json", ""), FlagSpec.Bool("quiet", 'q', "")], args);
        var states = runtime.List();
        if (p.Bool("quiet"))
        {
            foreach (var s in states)
            {
                Console.Out.WriteLine(s.Id);
            }
            return 0;
        }
        switch (p.Value("format") ?? "table")
        {
            case "json":
                Console.Out.WriteLine(ContainerStateJson.ToText(states));
                return 0;
            case "table":
                var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
                rows.AddRange(states.Select(s => new[] { s.Id, s.Pid.ToString(CultureInfo.InvariantCulture), s.Status, s.Bundle, s.Created ?? "", s.Owner ?? "" }));
                Console.Out.Write(Table(rows));
                return 0;
            default:
                throw SkiffException.Invalid($"invalid --format \"{p.Value("format")}\": use table or json");
        }
    }

    /// <summary>runc's tabwriter layout: columns at least 12 wide, 3 spaces apart.</summary>
    private static string Table(List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                widths[i] = Math.Max(widths[i], Math.Max(r[i].Length + 3, 12));
            }
        }
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                sb.Append(i == r.Length - 1 ? r[i] : r[i].PadRight(widths[i]));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static int Ps(OciRuntime runtime, string[] args)
    {
        var p = FlagParser.Parse([FlagSpec.Value("format", 'f', "table|json", "")], args);
        if (p.Positionals.Count < 1)
        {
            throw SkiffException.Invalid("\"ps\" requires the container id");
        }
        var pids = runtime.Pids(p.Positionals[0]);
        if (p.Value("format") == "json")
        {
            Console.Out.WriteLine("[" + string.Join(",", pids) + "]");
            return 0;
        }
        // As runc: ps(1) with the given options (default -ef), filtered to the container's pids.
        var psArgs = p.Positionals.Count > 1 ? p.Positionals.Skip(1).ToArray() : ["-ef"];
        var psi = new System.Diagnostics.ProcessStartInfo("ps") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in psArgs)
        {
            psi.ArgumentList.Add(a);
        }
        using var ps = System.Diagnostics.Process.Start(psi) ?? throw SkiffException.Unavailable("cannot run ps");
        var lines = ps.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        ps.WaitForExit();
        if (lines.Length == 0)
        {
            return 0;
        }
        int pidColumn = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID");
        if (pidColumn < 0)
        {
            throw SkiffException.Invalid("ps output has no PID column; keep the pid in the ps options");
        }
        Console.Out.WriteLine(lines[0]);
        var set = pids.ToHashSet();
        foreach (var line in lines.Skip(1))
        {
            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length > pidColumn && int.TryParse(cols[pidColumn], CultureInfo.InvariantCulture, out int pid) && set.Contains(pid))
            {
                Console.Out.WriteLine(line);
            }
        }
        return 0;
    }

    private static readonly FlagSpec[] ExecFlags =
    [
        FlagSpec.Value("process", 'p', "FILE", "the process as runtime-spec JSON"),
        FlagSpec.Bool("tty", 't', "allocate a pseudo-TTY"),
        FlagSpec.Value("console-socket", FlagSpec.NoShort, "PATH", "unix socket that receives the pty master"),
        FlagSpec.Value("pid-file", FlagSpec.NoShort, "FILE", "write the process's pid here"),
        FlagSpec.Value("cwd", FlagSpec.NoShort, "DIR", "working directory"),
        FlagSpec.List("env", 'e', "K=V", "environment variables"),
        FlagSpec.Value("user", 'u', "UID[:GID]", "user"),
        FlagSpec.List("additional-gids", 'g', "GID", "additional groups"),
        FlagSpec.List("cap", 'c', "CAP", "add a capability"),
        FlagSpec.Bool("no-new-privs", FlagSpec.NoShort, "set no_new_privs"),
        FlagSpec.Bool("detach", 'd', "detach"),
        FlagSpec.Value("preserve-fds", FlagSpec.NoShort, "N", "pass N fds after stdio"),
        FlagSpec.Value("process-label", FlagSpec.NoShort, "LABEL", "SELinux label (refused: no SELinux)"),
        FlagSpec.Value("apparmor", FlagSpec.NoShort, "PROFILE", "AppArmor profile"),
        FlagSpec.Bool("ignore-paused", FlagSpec.NoShort, "accepted"),
        FlagSpec.Value("cgroup", FlagSpec.NoShort, "PATH", "accepted"),
    ];

    private static int Exec(OciRuntime runtime, string[] args)
    {
        var p = FlagParser.Parse(ExecFlags, args);
        if (p.Positionals.Count < 1)
        {
            throw SkiffException.Invalid("\"exec\" requires the container id");
        }
        string id = p.Positionals[0];
        Skiff.Oci.Process process;
        if (p.Value("process") is { } file)
        {
            try
            {
                process = RuntimeSpecJson.ReadProcess(File.ReadAllBytes(file));
            }
            catch (JsonFormatException e)
            {
                throw SkiffException.Invalid($"{file}: invalid process at {e.JsonPath} (line {e.Line}): {e.Detail}");
            }
        }
        else
        {
            if (p.Positionals.Count < 2)
            {
                throw SkiffException.Invalid("\"exec\" requires a command (or --process FILE)");
            }
            // As runc: the container's own process is the template, the flags override it.
            var spec = runtime.Spec(id);
            var template = spec.Process!;
            process = new Skiff.Oci.Process
            {
                Args = [.. p.Positionals.Skip(1)],
                Env = [.. template.Env ?? [], .. p.Values("env")],
                Cwd = p.Value("cwd") ?? template.Cwd,
                User = template.User,
                Capabilities = template.Capabilities,
                Rlimits = template.Rlimits,
                NoNewPrivileges = template.NoNewPrivileges || p.Bool("no-new-privs"),
                ApparmorProfile = p.Value("apparmor") ?? template.ApparmorProfile,
                Terminal = p.Bool("tty"),
            };
            if (p.Value("user") is { } user)
            {
                var parts = user.Split(':');
                if (!uint.TryParse(parts[0], CultureInfo.InvariantCulture, out uint uid) ||
                    (parts.Length > 1 && !uint.TryParse(parts[1], CultureInfo.InvariantCulture, out _)) || parts.Length > 2)
                {
                    throw SkiffException.Invalid($"invalid --user \"{user}\": use UID[:GID]");
                }
                process.User = new User { Uid = uid, Gid = parts.Length > 1 ? uint.Parse(parts[1], CultureInfo.InvariantCulture) : 0 };
            }
            foreach (var g in p.Values("additional-gids"))
            {
                process.User.AdditionalGids ??= [];
                process.User.AdditionalGids.Add(uint.TryParse(g, CultureInfo.InvariantCulture, out uint gid) ? gid
                    : throw SkiffException.Invalid($"invalid --additional-gids \"{g}\""));
            }
            foreach (var cap in p.Values("cap"))
            {
                process.Capabilities ??= new Capabilities();
                foreach (var set in new[] { process.Capabilities.Bounding ??= [], process.Capabilities.Effective ??= [], process.Capabilities.Permitted ??= [] })
                {
                    set.Add(cap);
                }
            }
        }
        if (p.Value("process-label") is { Length: > 0 } label)
        {
            throw SkiffException.Invalid($"--process-label \"{label}\": SELinux is not enabled on this host");
        }
        uint preserve = 0;
        if (p.Value("preserve-fds") is { } n && !uint.TryParse(n, CultureInfo.InvariantCulture, out preserve))
        {
            throw SkiffException.Invalid($"invalid --preserve-fds \"{n}\"");
        }
        return runtime.Exec(id, process, new ExecOptions
        {
            PidFile = p.Value("pid-file"), ConsoleSocket = p.Value("console-socket"), Detach = p.Bool("detach"), PreserveFds = preserve,
        });
    }

    private static int Update(OciRuntime runtime, string[] args)
    {
        var p = FlagParser.Parse(
        [
            FlagSpec.Value("resources", 'r', "FILE", "resources as runtime-spec JSON (- for stdin)"),
            FlagSpec.Value("memory", FlagSpec.NoShort, "BYTES", ""), FlagSpec.Value("memory-swap", FlagSpec.NoShort, "BYTES", ""),
            FlagSpec.Value("memory-reservation", FlagSpec.NoShort, "BYTES", ""), FlagSpec.Value("cpu-shares", FlagSpec.NoShort, "N", ""),
            FlagSpec.Value("cpu-quota", FlagSpec.NoShort, "N", ""), FlagSpec.Value("cpu-period", FlagSpec.NoShort, "N", ""),
            FlagSpec.Value("cpuset-cpus", FlagSpec.NoShort, "LIST", ""), FlagSpec.Value("cpuset-mems", FlagSpec.NoShort, "LIST", ""),
            FlagSpec.Value("pids-limit", FlagSpec.NoShort, "N", ""), FlagSpec.Value("blkio-weight", FlagSpec.NoShort, "N", ""),
        ], args);
        if (p.Positionals.Count != 1)
        {
            throw SkiffException.Invalid("\"update\" requires exactly 1 argument: the container id");
        }
        Resources resources;
        if (p.Value("resources") is { } file)
        {
            string text = file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file);
            try
            {
                resources = JsonSerializer.Deserialize(text, UpdateJson.Default.Resources) ?? new Resources();
            }
            catch (JsonException e)
            {
                throw SkiffException.Invalid($"--resources: invalid JSON{(e.Path is { } path ? " at " + path : "")}");
            }
        }
        else
        {
            resources = new Resources();
            long? L(string name) => p.Value(name) is { } v
                ? long.TryParse(v, CultureInfo.InvariantCulture, out long x) ? x : throw SkiffException.Invalid($"invalid --{name} \"{v}\"")
                : null;
            if (L("memory") is not null || L("memory-swap") is not null || L("memory-reservation") is not null)
            {
                resources.Memory = new Memory { Limit = L("memory"), Swap = L("memory-swap"), Reservation = L("memory-reservation") };
            }
            if (L("cpu-shares") is not null || L("cpu-quota") is not null || L("cpu-period") is not null ||
                p.Value("cpuset-cpus") is not null || p.Value("cpuset-mems") is not null)
            {
                resources.Cpu = new Cpu
                {
                    Shares = (ulong?)L("cpu-shares"), Quota = L("cpu-quota"), Period = (ulong?)L("cpu-period"),
                    Cpus = p.Value("cpuset-cpus"), Mems = p.Value("cpuset-mems"),
                };
            }
            if (L("pids-limit") is { } pids)
            {
                resources.Pids = new Pids { Limit = pids };
            }
            if (L("blkio-weight") is { } weight)
            {
                resources.BlockIO = new BlockIo { Weight = (ushort)weight };
            }
        }
        runtime.Update(p.Positionals[0], resources);
        return 0;
    }

    private static int Features()
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(new RuncFeatures(), RuncJson.Default.RuncFeatures));
        return 0;
    }

    private static int Spec(string[] args)
    {
        var p = FlagParser.Parse([FlagSpec.Value("bundle", 'b', "DIR", ""), FlagSpec.Bool("rootless", FlagSpec.NoShort, "")], args);
        string dir = p.Value("bundle") ?? Environment.CurrentDirectory;
        string path = Path.Combine(dir, "config.json");
        if (File.Exists(path))
        {
            throw new SkiffException(ErrorCategory.AlreadyExists, $"File {path} exists. Remove it first");
        }
        var spec = DefaultSpec.Make(p.Bool("rootless"), Interop.Libc.getuid(), Interop.Libc.getgid());
        File.WriteAllText(path, JsonSerializer.Serialize(spec, OciJson.Default.RuntimeSpec) + "\n");
        return 0;
    }

    private const string Usage = """
        skiff-runc: an OCI runtime (runc's command line) backed by skiff

        Usage: skiff-runc [global options] COMMAND [options] ID

        Global options: --root DIR, --log FILE, --log-format text|json, --debug, --systemd-cgroup, --rootless auto|true|false

        Commands:
          create    create a container from a bundle (--bundle, --pid-file, --console-socket, --preserve-fds)
          start     start a created container
          run       create and start (-d to detach)
          state     print a container's state as JSON
          kill      send a signal (default SIGTERM; --all for every process)
          delete    delete a container (--force to kill it first)
          list      list containers (--format table|json, -q)
          ps        processes of a container (--format table|json)
          exec      run a process in a running container (--process FILE, or a command)
          pause     freeze a container
          resume    thaw a container
          update    change resource limits
          features  what this runtime supports, as JSON
          spec      write a default config.json (--rootless)

        """;
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Resources))]
internal sealed partial class UpdateJson : System.Text.Json.Serialization.JsonSerializerContext;
