namespace Skiff.Perf;

/// <summary>Where the systems find their inputs, and who is measuring.</summary>
internal sealed record ScenarioSetup(
    string Rootfs, string SkiffPath, string SkiffRuncPath, string SkiffMissing, string CacheDir, string ScratchDir,
    uint Uid, bool Cgroup2Namespace, bool Quick, Spawner Spawner, TextWriter Log);

/// <summary>One PERF.md target as p50 ratios of skiff to named peers (all must hold), a storm's launches per second, or a memory figure's p50 ceiling.</summary>
internal sealed record Target(string Text, (string Peer, double MaxRatio)[] Ratios, double? MinLaunchesPerSecond = null, double? MaxMiB = null);

/// <summary>A scenario as the catalogue knows it before anything is built: what it needs of skiff, how to build it.</summary>
internal sealed record ScenarioDefinition(
    string Name, string Title, ScenarioKind Kind, bool NeedsRoot,
    Func<SkiffCapabilities, string?> Missing,
    Func<ScenarioSetup, Scenario>? Build,
    (int Full, int Quick) Runs, (int Full, int Quick) Warmups,
    Target? Target);

/// <summary>
/// Every scenario of issue 6, in report order. Each names the skiff capability it needs (probed from
/// skiff's help, see <see cref="SkiffCapabilities"/>) and is listed as "not available in this skiff"
/// until skiff has it: nothing is faked, and nothing here changes when it appears.
/// </summary>
internal static class Catalogue
{
    public static readonly ScenarioDefinition[] All =
    [
        new("run-none", "container start of /bin/true, busybox rootfs, --rm, no network", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--rootfs"), c.RunFlag("--rm"), c.RunFlag("--network")),
            RunNone, Runs: (200, 20), Warmups: (5, 3),
            new("as run-image's: ≤ 2× the floor, faster than bwrap, ≥ 25× faster than podman", [("floor", 2), ("bwrap", 1), ("podman", 1 / 25.0)])),
        new("run-image", "container start of /bin/true from an image (busybox, imported), --rm, no network", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunImage(), c.Verb("import"), c.RunFlag("--network")),
            RunImage, Runs: (200, 20), Warmups: (5, 3),
            new("≤ 2× the floor, faster than bwrap, ≥ 25× faster than podman", [("floor", 2), ("bwrap", 1), ("podman", 1 / 25.0)])),
        new("run-default-network", "container start of /bin/true from an image (busybox, imported), --rm, each engine's default private network", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunImage(), c.Verb("import"), c.PrivateDefaultNetwork()),
            RunDefaultNetwork, Runs: (100, 10), Warmups: (3, 2),
            new("≤ 0.25× podman's", [("podman", 0.25)])),
        new("oci-bundle", "OCI runtime `run` of /bin/true on the same bundle, as root", ScenarioKind.Sequential, NeedsRoot: true,
            c => c.RuncFace(),
            OciBundleRun, Runs: (200, 20), Warmups: (5, 3),
            new("faster than crun", [("crun", 1)])),
        new("detached", "detached start of `sleep 1000` from an image (busybox, imported), default network, then forced remove", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--detach"), c.RunImage(), c.Verb("import"), c.Verb("rm")),
            Detached, Runs: (50, 5), Warmups: (3, 1),
            null),
        new("storm", "launches of `true` from an image (busybox, imported), --rm, no network, from 8 parallel clients (200 per round; 40 with --quick)", ScenarioKind.Storm, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunImage(), c.Verb("import"), c.RunFlag("--rm"), c.RunFlag("--network")),
            LaunchStorm, Runs: (3, 1), Warmups: (16, 8),
            new("≥ 100 launches/s, zero failures", [], MinLaunchesPerSecond: 100)),
        new("supervisor-rss", $"resident memory of each detached container's supervisor (skiff-supervisor, podman's conmon), {SupervisedContainers} containers of `sleep 1000` per round, default network", ScenarioKind.Memory, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--detach"), c.RunImage(), c.Verb("import"), c.Verb("rm")),
            SupervisorRss, Runs: (4, 1), Warmups: (1, 0),
            new("≤ 2 MiB", [], MaxMiB: 2)),
        new("pull", "pull of the busybox image from a loopback registry (docker-registry on 127.0.0.1)", ScenarioKind.Sequential, NeedsRoot: false,
            c => c.Verb("pull"),
            Pull, Runs: (20, 3), Warmups: (2, 1),
            new("faster than podman pull and skopeo copy + umoci unpack", [("podman", 1), ("skopeo+umoci", 1)])),
        new("unpack", "unpack of one gzip layer (synthetic: 21 MiB of gzip, 45 MiB in 2,600 files) into a fresh store", ScenarioKind.Sequential, NeedsRoot: false,
            c => c.Verb("import"),
            Unpack, Runs: (10, 3), Warmups: (1, 1),
            new("≥ 0.8× the throughput of tar -xzf (≤ 1.25× its time)", [("tar", 1.25)])),
        new("serve-run", "`docker run --rm IMAGE true` through `skiff serve` (Docker Engine API on a unix socket) against `skiff run --rm IMAGE true`, default network", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.Verb("serve"), c.RunImage(), c.Verb("import")),
            ServeRun, Runs: (40, 5), Warmups: (3, 1),
            null),
        new("serve-memory", $"resident memory of `skiff serve` (and `podman system service`) idle, and after {ServeLaunches} `docker run --rm IMAGE true` from {ServeClients} clients through it (40 with --quick)", ScenarioKind.Memory, NeedsRoot: false,
            c => SkiffCapabilities.All(c.Verb("serve"), c.RunImage(), c.Verb("import")),
            ServeMemory, Runs: (2, 1), Warmups: (0, 0),
            new("≤ 30 MiB idle", [], MaxMiB: 30)),
    ];

    public static IEnumerable<string> Names => All.Select(d => d.Name);

    public static ScenarioDefinition? Find(string name) => All.FirstOrDefault(d => d.Name == name);

    // ---- the scenarios ----

    private static Scenario RunNone(ScenarioSetup s) => new(Find("run-none")!,
    [
        Skiff(s, "skiff", Step.Timed(s.SkiffPath, "run", "--rm", "--network", "none", "--rootfs", s.Rootfs, "/bin/true")),
        Floor(s, "floor", Role.Floor, "-Urmpiuf"),
        Floor(s, "floor+net", Role.Peer, "-Urmpiufn"),
        Bwrap(s),
        Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--network=none", "--rootfs", s.Rootfs + ":O", "/bin/true")),
    ])
    {
        Notes = { PodmanNote(s) },
    };

    private const string Image = "skiff-perf/busybox:latest", PodmanImage = "localhost/skiff-perf/busybox:latest";

    /// <summary>
    /// PERF.md's first target: an image already in the store. The busybox rootfs is imported once (not timed) into a
    /// store of the harness's own (skiff --root in scratch) and into podman's; the floor and bwrap use the rootfs directory.
    /// </summary>
    private static Scenario RunImage(ScenarioSetup s)
    {
        string store = Store(s);
        var scenario = new Scenario(Find("run-image")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", "--network", "none", Image, "/bin/true")),
            Floor(s, "floor", Role.Floor, "-Urmpiuf"),
            Floor(s, "floor+net", Role.Peer, "-Urmpiufn"),
            Bwrap(s),
            Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--network=none", PodmanImage, "/bin/true")),
        ])
        {
            Notes = { PodmanNote(s) },
        };
        ImportImages(s, scenario, store);
        return scenario;
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>The skiff store of a scenario: in its scratch directory, removed with it.</summary>
    private static string Store(ScenarioSetup s) => Path.Combine(s.ScratchDir, "store");

    /// <summary>
    /// The busybox image for every engine of a scenario, imported before measuring (not timed): with `skiff --root STORE import`
    /// for the systems that run skiff (the subject unless named), and with `podman import` for those that run podman
    /// (the one named podman unless named), removed from podman's store when the scenario ends. A failed import marks
    /// the systems that needed it "could not import the image". Adds the note that says so.
    /// </summary>
    private static void ImportImages(ScenarioSetup s, Scenario scenario, string store, string[]? skiffSystems = null, string[]? podmanSystems = null)
    {
        string tarball = Layers.EnsureBusyboxTarball(s.Rootfs, s.CacheDir);
        var skiffs = scenario.Systems.Where(x => x.Measurable && (skiffSystems?.Contains(x.Name) ?? x.Role == Role.Subject)).ToList();
        var podmans = scenario.Systems.Where(x => x.Measurable && (podmanSystems?.Contains(x.Name) ?? x.Name == "podman")).ToList();
        if (skiffs.Count > 0)
            Import(s, skiffs, [s.SkiffPath, "--root", store, "import", tarball, Image]);
        if (podmans.Count > 0)
        {
            Import(s, podmans, [Tool("podman"), "import", "-q", tarball, PodmanImage]);
            scenario.Fixtures.Add(new Cleanup(() => s.Spawner.Capture(Tool("podman"), "rmi", "-f", PodmanImage)));
        }
        scenario.Notes.Add($"The image: {tarball} (the busybox rootfs as one gzip layer), imported before measuring with `skiff --root {store} import` " +
            "and `podman import`; the floor and bwrap, where they run, use the rootfs directory.");
    }

    private static void Import(ScenarioSetup s, IEnumerable<SystemUnderTest> systems, string[] argv)
    {
        var (sample, _, err) = s.Spawner.Capture(argv[0], argv[1..]);
        if (!sample.Succeeded)
            foreach (var system in systems)
                system.MarkUnavailable($"could not import the image ({string.Join(' ', argv[1..])}: {sample.Outcome}: {err.Trim()})");
    }

    private static Scenario RunDefaultNetwork(ScenarioSetup s)
    {
        string store = Store(s);
        var scenario = new Scenario(Find("run-default-network")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", Image, "/bin/true")),
            Skiff(s, "skiff --network none", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", "--network", "none", Image, "/bin/true"), Role.Peer),
            Floor(s, "floor", Role.Floor, "-Urmpiuf"),
            Floor(s, "floor+net", Role.Peer, "-Urmpiufn"),
            Podman(s, Step.Timed(Tool("podman"), "run", "--rm", PodmanImage, "/bin/true")),
        ])
        {
            Reference = "podman",
            Notes =
            {
                PodmanNote(s),
                "Each engine uses its own default network: skiff's private network (pasta, or slirp4netns without it); podman 4.3's rootless default is slirp4netns (pasta arrived in podman 4.4).",
                "`skiff --network none` runs in the same rounds, so skiff / it is what the private network costs skiff.",
                TunNote(s),
            },
        };
        ImportImages(s, scenario, store, skiffSystems: ["skiff", "skiff --network none"]);
        return scenario;
    }

    /// <summary>Rootless slirp4netns and pasta open /dev/net/tun; without udev (this VM) it stays 0600 and they fail.</summary>
    private static string TunNote(ScenarioSetup s)
    {
        if (s.Uid == 0 || !File.Exists("/dev/net/tun"))
            return "";
        var mode = File.GetUnixFileMode("/dev/net/tun");
        return mode.HasFlag(UnixFileMode.OtherRead | UnixFileMode.OtherWrite) ? ""
            : "/dev/net/tun is not open to users here (no udev sets it 0666 as on a stock Debian): rootless slirp4netns and pasta fail. As root: chmod 666 /dev/net/tun.";
    }

    private static Scenario OciBundleRun(ScenarioSetup s)
    {
        string bundle = OciBundle.Ensure(s.Spawner, s.Rootfs, Path.Combine(s.CacheDir, "bundle"));
        const string state = "/run/skiff-perf";
        SystemUnderTest Runtime(string name, string path, Role role, params string[] global)
        {
            string root = $"{state}/{name}", id = $"skiff-perf-{name}";
            string[] run = [.. global, "--root", root, "run", "--bundle", bundle, id];
            // A run killed by the watchdog leaves its state behind; clear it once, before the warm-ups.
            string[] delete = [path, .. global, "--root", root, "delete", "--force", id];
            return SystemUnderTest.Create(s.Spawner, name, role, [Step.Timed(path, run)], (path, ["--version"]),
                role == Role.Subject ? s.SkiffMissing : "not installed", prepare: [delete],
                formatVersion: role == Role.Subject ? SkiffVersion : FirstLine);
        }
        return new Scenario(Find("oci-bundle")!,
        [
            Runtime("skiff-runc", s.SkiffRuncPath, Role.Subject),
            SystemUnderTest.Create(s.Spawner, "floor", Role.Floor, [Step.Timed(Tool("unshare"), "-mpiunf", "--mount-proc", "/bin/true")],
                (Tool("unshare"), ["--version"]), "not installed"),
            Runtime("crun", Tool("crun"), Role.Peer, "--cgroup-manager=disabled"),
            Runtime("runc", Tool("runc"), Role.Peer),
        ])
        {
            Notes =
            {
                $"Bundle {bundle}: config.json shaped like `runc spec` (pid, network, ipc, uts, mount namespaces; masked and read-only paths; read-only root), /bin/true, no terminal.",
                "The floor here is rootful: `unshare -mpiunf --mount-proc` (the bundle's namespaces, no user namespace).",
                s.Cgroup2Namespace
                    ? "Run in a private mount namespace with a pure cgroup2 at /sys/fs/cgroup (PERF.md's workaround for crun on a hybrid host); crun with --cgroup-manager=disabled, runc with its default cgroupfs manager (it makes and removes a cgroup per run)."
                    : "crun with --cgroup-manager=disabled; runc with its default cgroupfs manager (it makes and removes a cgroup per run).",
            },
        };
    }

    private static Scenario Detached(ScenarioSetup s)
    {
        string store = Store(s);
        var scenario = new Scenario(Find("detached")!,
        [
            Skiff(s, "skiff",
                Step.TimedCapturingId(s.SkiffPath, "--root", store, "run", "-d", Image, "sleep", "1000"),
                Step.Timed(s.SkiffPath, "--root", store, "rm", "-f", Step.IdSlot)),
            Floor(s, "floor", Role.Floor, "-Urmpiuf"),
            Podman(s,
                Step.TimedCapturingId(Tool("podman"), "run", "-d", PodmanImage, "sleep", "1000"),
                Step.Timed(Tool("podman"), "rm", "-f", "-t", "0", Step.IdSlot)),
        ])
        {
            Reference = "podman",
            Notes =
            {
                PodmanNote(s),
                "A run is both commands, start then remove; the wall time is their sum. The floor (namespaces + exec of /bin/true) is there for scale only.",
                "Each engine's default network: skiff starts pasta (or slirp4netns) beside its supervisor, podman slirp4netns beside conmon. podman rm gets -t 0, since skiff's rm -f kills at once (SIGKILL) as docker's does.",
                TunNote(s),
            },
        };
        ImportImages(s, scenario, store);
        return scenario;
    }

    private static Scenario LaunchStorm(ScenarioSetup s)
    {
        string store = Store(s);
        var scenario = new Scenario(Find("storm")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", "--network", "none", Image, "true")),
            Floor(s, "floor", Role.Floor, "-Urmpiuf"),
            Bwrap(s),
            Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--network=none", PodmanImage, "true")),
        ])
        {
            Storm = (8, s.Quick ? 40 : 200),
            Notes = { PodmanNote(s), "Wall time is that of a whole round (start to the last reap); launches/s = launches / wall. The dots in the chart are single launches under that load." },
        };
        ImportImages(s, scenario, store);
        return scenario;
    }

    /// <summary>Detached containers per round of supervisor-rss.</summary>
    private const int SupervisedContainers = 5;

    /// <summary>
    /// Each round starts <see cref="SupervisedContainers"/> detached `sleep 1000` containers, waits half a second, reads
    /// /proc/PID/status of each one's supervisor (skiff: SupervisorPid in ROOT/containers/ID/state.json; podman:
    /// .State.ConmonPid) and of its network helper (skiff: the supervisor's pasta or slirp4netns child; podman: the
    /// slirp4netns whose command line names the container's network namespace), then removes them all.
    /// </summary>
    private static Scenario SupervisorRss(ScenarioSetup s)
    {
        string store = Store(s);
        string skiff = s.SkiffPath, podman = Tool("podman");
        var scenario = new Scenario(Find("supervisor-rss")!,
        [
            Skiff(s, "skiff",
                Step.Timed(skiff, "--root", store, "run", "-d", Image, "sleep", "1000"),
                Step.Cleanup(skiff, "--root", store, "rm", "-f", "ID...")),
            Podman(s,
                Step.Timed(podman, "run", "-d", PodmanImage, "sleep", "1000"),
                Step.Cleanup(podman, "rm", "-f", "-t", "0", "ID...")),
        ])
        {
            Reference = "podman",
            Notes =
            {
                PodmanNote(s),
                $"A round: {SupervisedContainers} detached containers started one after another, 0.5 s to settle, then /proc/PID/status of each " +
                "supervisor (skiff-supervisor: SupervisorPid in ROOT/containers/ID/state.json; podman: conmon, .State.ConmonPid) and of each network " +
                "helper (skiff: the supervisor's pasta or slirp4netns child; podman: the slirp4netns process for the container's network namespace); then rm -f of all.",
                "VmRSS counts the file pages a process maps (its binary, libc) as well as its own (RssAnon): shared pages are counted in full for each process.",
                TunNote(s),
            },
        };
        ImportImages(s, scenario, store);
        var skiffSystem = scenario.Systems.First(x => x.Name == "skiff");
        var podmanSystem = scenario.Systems.First(x => x.Name == "podman");
        int warned = 0;

        skiffSystem.Sampler = _ =>
        {
            var ids = new List<string>();
            try
            {
                for (int i = 0; i < SupervisedContainers; i++)
                {
                    var (run, stdout, err) = s.Spawner.Capture(skiff, "--root", store, "run", "-d", Image, "sleep", "1000");
                    if (!run.Succeeded)
                        return $"`skiff run -d`: {run.Outcome}: {err.Trim()}";
                    ids.Add(stdout.Trim().Split('\n')[^1].Trim());
                }
                Thread.Sleep(500);
                foreach (var id in ids)
                {
                    int? pid = SupervisorPid(Path.Combine(store, "containers", id, "state.json"));
                    if (pid is null || ProcMemory.Read(pid.Value) is not { } m)
                        return $"container {id[..12]}: no live SupervisorPid in {store}/containers/{id}/state.json";
                    if (Procs.Comm(pid.Value) is { } comm && !comm.StartsWith("skiff-supervis", StringComparison.Ordinal) && Interlocked.Increment(ref warned) == 1)
                        s.Log.WriteLine($"supervisor-rss: the supervisor of {id[..12]} is `{comm}`, not skiff-supervisor");
                    skiffSystem.AddFigure("supervisor VmRSS", m.VmRss);
                    skiffSystem.AddFigure("supervisor RssAnon", m.RssAnon);
                    if (NetworkHelper(Procs.Children(pid.Value)) is { } helper && ProcMemory.Read(helper) is { } h)
                        skiffSystem.AddFigure("network helper VmRSS", h.VmRss);
                }
                return null;
            }
            finally
            {
                if (ids.Count > 0)
                    s.Spawner.Capture(skiff, ["--root", store, "rm", "-f", .. ids]);
            }
        };

        podmanSystem.Sampler = _ =>
        {
            var ids = new List<string>();
            try
            {
                for (int i = 0; i < SupervisedContainers; i++)
                {
                    var (run, stdout, err) = s.Spawner.Capture(podman, "run", "-d", PodmanImage, "sleep", "1000");
                    if (!run.Succeeded)
                        return $"`podman run -d`: {run.Outcome}: {err.Trim()}";
                    ids.Add(stdout.Trim().Split('\n')[^1].Trim());
                }
                Thread.Sleep(500);
                var all = Procs.All().ToList();
                foreach (var id in ids)
                {
                    var (inspect, stdout, err) = s.Spawner.Capture(podman, "inspect", "--format", "{{.State.ConmonPid}} {{.NetworkSettings.SandboxKey}}", id);
                    var fields = stdout.Trim().Split(' ', 2);
                    if (!inspect.Succeeded || !int.TryParse(fields[0], out int conmon) || ProcMemory.Read(conmon) is not { } m)
                        return $"container {id[..12]}: no live conmon ({inspect.Outcome}: {stdout.Trim()} {err.Trim()})";
                    podmanSystem.AddFigure("supervisor VmRSS", m.VmRss);
                    podmanSystem.AddFigure("supervisor RssAnon", m.RssAnon);
                    string netns = fields.Length > 1 ? fields[1].Trim() : "";
                    int? helper = netns.Length == 0 ? null : NetworkHelper(all.Select(p => p.Pid).Where(p => Procs.Cmdline(p).Contains(netns, StringComparison.Ordinal)));
                    if (helper is int pid && ProcMemory.Read(pid) is { } h)
                        podmanSystem.AddFigure("network helper VmRSS", h.VmRss);
                }
                return null;
            }
            finally
            {
                if (ids.Count > 0)
                    s.Spawner.Capture(podman, ["rm", "-f", "-t", "0", .. ids]);
            }
        };
        return scenario;
    }

    /// <summary>SupervisorPid from a container's state.json, waiting up to 2 s for the file to name a live one.</summary>
    private static int? SupervisorPid(string stateFile)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(stateFile));
                if (doc.RootElement.TryGetProperty("SupervisorPid", out var p) && p.TryGetInt32(out int pid) && pid > 0)
                    return pid;
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
            {
                // Not written yet, or being replaced.
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(2))
                return null;
            Thread.Sleep(50);
        }
    }

    /// <summary>The first of these processes that is pasta (passt), or slirp4netns.</summary>
    private static int? NetworkHelper(IEnumerable<int> pids) =>
        pids.Select(p => (Pid: p, Comm: Procs.Comm(p) ?? ""))
            .Where(p => p.Comm.StartsWith("pasta", StringComparison.Ordinal) || p.Comm.StartsWith("passt", StringComparison.Ordinal) || p.Comm == "slirp4netns")
            .Select(p => (int?)p.Pid).FirstOrDefault();

    /// <summary>
    /// `docker run --rm IMAGE true` through `skiff serve` against the same `skiff run` in the same rounds, on the same store;
    /// with podman's Docker-compatible `podman system service` and `podman run` beside them. Both daemons are started once,
    /// before the warm-ups, and stopped when the scenario ends.
    /// </summary>
    private static Scenario ServeRun(ScenarioSetup s)
    {
        string store = Store(s), docker = Tool("docker"), podman = Tool("podman");
        string skiffSocket = Path.Combine(s.ScratchDir, "skiff.sock"), podmanSocket = Path.Combine(s.ScratchDir, "podman.sock");
        var scenario = new Scenario(Find("serve-run")!,
        [
            DockerCli(s, "docker→skiff-serve", Role.Subject, skiffSocket, Image),
            Skiff(s, "skiff-run", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", Image, "true"), Role.Peer),
            DockerCli(s, "docker→podman-service", Role.Peer, podmanSocket, PodmanImage),
            Podman(s, "podman-run", migrate: false, Step.Timed(podman, "run", "--rm", PodmanImage, "true")),
        ])
        {
            Reference = "skiff-run",
            Notes =
            {
                PodmanNote(s),
                $"Daemons, started before the warm-ups and stopped at the end: `skiff --root {store} serve --host unix://{skiffSocket}` and " +
                $"`podman system service --time=0 unix://{podmanSocket}`; the docker CLI ({Version(s.Spawner, docker)}) talks to each with -H.",
                "Every system uses its engine's default network (skiff: private; podman: slirp4netns).",
                TunNote(s),
            },
        };
        ImportImages(s, scenario, store, skiffSystems: ["docker→skiff-serve", "skiff-run"], podmanSystems: ["docker→podman-service", "podman-run"]);
        StartDaemon(s, scenario, "docker→skiff-serve", [s.SkiffPath, "--root", store, "serve", "--host", $"unix://{skiffSocket}"], skiffSocket);
        // The pause process is re-made here once, before the service starts: a `podman system migrate` later would pull it from under the service.
        if (s.Cgroup2Namespace && s.Uid != 0 && scenario.Systems.Any(x => x.Measurable && x.Name.Contains("podman", StringComparison.Ordinal)))
            s.Spawner.Capture(podman, "system", "migrate");
        StartDaemon(s, scenario, "docker→podman-service", [podman, "system", "service", "--time=0", $"unix://{podmanSocket}"], podmanSocket);
        return scenario;
    }

    private static void StartDaemon(ScenarioSetup s, Scenario scenario, string systemName, string[] argv, string socket)
    {
        var system = scenario.Systems.First(x => x.Name == systemName);
        if (!system.Measurable || !File.Exists(argv[0]))
            return;
        try
        {
            scenario.Fixtures.Add(Daemon.Start(argv, socket, TimeSpan.FromSeconds(20)));
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            system.MarkUnavailable($"the daemon did not start: {e.Message}");
        }
    }

    private static SystemUnderTest DockerCli(ScenarioSetup s, string name, Role role, string socket, string image) =>
        SystemUnderTest.Create(s.Spawner, name, role, [Step.Timed(Tool("docker"), "-H", $"unix://{socket}", "run", "--rm", image, "true")],
            (Tool("docker"), ["--version"]), "the docker CLI is not installed");

    private const int ServeLaunches = 200, ServeClients = 8, PodmanServiceLaunches = 40;

    /// <summary>
    /// Each round starts the daemon afresh, reads its VmRSS once it has answered `docker version` and sat idle for a second,
    /// runs <see cref="ServeLaunches"/> `docker run --rm IMAGE true` through it from <see cref="ServeClients"/> clients,
    /// reads VmRSS and VmHWM again at once and after 5 s, and stops it.
    /// </summary>
    private static Scenario ServeMemory(ScenarioSetup s)
    {
        string store = Store(s), docker = Tool("docker"), podman = Tool("podman");
        int launches = s.Quick ? 40 : ServeLaunches, podmanLaunches = Math.Min(launches, PodmanServiceLaunches);
        var scenario = new Scenario(Find("serve-memory")!,
        [
            SystemUnderTest.Create(s.Spawner, "skiff serve", Role.Subject,
                [Step.Timed(s.SkiffPath, "--root", store, "serve", "--host", "unix://SOCKET"), Step.Timed(docker, "-H", "unix://SOCKET", "run", "--rm", Image, "true")],
                (s.SkiffPath, ["version"]), s.SkiffMissing, formatVersion: SkiffVersion),
            Podman(s, "podman service", migrate: true,
                Step.Timed(podman, "system", "service", "--time=0", "unix://SOCKET"), Step.Timed(docker, "-H", "unix://SOCKET", "run", "--rm", PodmanImage, "true")),
        ])
        {
            Reference = "podman service",
            Notes =
            {
                PodmanNote(s),
                $"A round: the daemon started afresh; `docker version` through it, 1 s idle, VmRSS (idle); {launches} `docker run --rm IMAGE true` from " +
                $"{ServeClients} parallel docker CLIs; VmRSS and VmHWM (peak) at once, and VmRSS again 5 s later; then SIGTERM. Only the daemon process " +
                "itself is read (not the supervisors, conmons or network helpers it starts); for rootless podman, the `podman system service` " +
                "child it forks into its user namespace when there is no pause process to join.",
                podmanLaunches == launches ? "" : $"podman service gets {podmanLaunches} runs per round, not {launches}: through it a `docker run` takes about a second " +
                    "here, so its figures after load are after a lighter load than skiff serve's (the idle figure, the target's, is like for like).",
                "For the managed heap behind skiff serve's figure, attach the EventPipe counters: `perf/micro.sh --counters PID` (README, Performance).",
                TunNote(s),
            },
        };
        ImportImages(s, scenario, store, skiffSystems: ["skiff serve"], podmanSystems: ["podman service"]);
        Func<int, string?> Sampler(SystemUnderTest system, Func<string, string[]> daemonArgv, string image, int launches) => round =>
        {
            string socket = Path.Combine(s.ScratchDir, $"{(system.Role == Role.Subject ? "skiff" : "podman")}-{round}.sock");
            Daemon daemon;
            try
            {
                daemon = Daemon.Start(daemonArgv(socket), socket, TimeSpan.FromSeconds(20));
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                return e.Message;
            }
            using (daemon)
            {
                var clients = Enumerable.Range(0, ServeClients).Select(_ => new Spawner(TimeSpan.FromSeconds(60))).ToArray();
                try
                {
                    var (version, _, err) = s.Spawner.Capture(docker, "-H", $"unix://{socket}", "version");
                    if (!version.Succeeded)
                        return $"`docker version` through {system.Name}: {version.Outcome}: {err.Trim()}";
                    Thread.Sleep(1000);
                    int pid = daemon.ServingPid;
                    if (ProcMemory.Read(pid) is not { } idle)
                        return $"{system.Name} exited: {daemon.Output}";
                    system.AddFigure("idle VmRSS", idle.VmRss);
                    using var run = new NativeCommand(docker, ["-H", $"unix://{socket}", "run", "--rm", image, "true"]);
                    var (wall, failed, first) = Load.Parallel(clients, run, launches);
                    if (ProcMemory.Read(pid) is not { } loaded)
                        return $"{system.Name} exited under load: {daemon.Output}";
                    system.AddFigure("VmRSS after the runs", loaded.VmRss);
                    system.AddFigure("VmHWM (peak)", loaded.VmHwm);
                    Thread.Sleep(5000);
                    if (ProcMemory.Read(pid) is { } later)
                        system.AddFigure("VmRSS 5 s later", later.VmRss);
                    lock (scenario.Notes)
                        scenario.Notes.Add($"{system.Name}, round {(round >= 1_000_000 ? "warm-up" : (round + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))}: " +
                            $"{launches} docker runs in {wall / 1000:0.0} s ({launches / (wall / 1000):0.0} runs/s), {failed} failed" +
                            (first is null ? "" : $" (first: {first.Replace('\n', ' ')})") + ".");
                    return failed == 0 ? null : $"{failed} of {launches} `docker run` through {system.Name} failed; first: {first}";
                }
                finally
                {
                    foreach (var client in clients)
                        client.Dispose();
                }
            }
        };
        var skiffServe = scenario.Systems[0];
        var podmanService = scenario.Systems[1];
        skiffServe.Sampler = Sampler(skiffServe, socket => [s.SkiffPath, "--root", store, "serve", "--host", $"unix://{socket}"], Image, launches);
        podmanService.Sampler = Sampler(podmanService, socket => [podman, "system", "service", "--time=0", $"unix://{socket}"], PodmanImage, podmanLaunches);
        return scenario;
    }

    private static Scenario Pull(ScenarioSetup s)
    {
        string? registryBinary = Which("docker-registry"), skopeo = Which("skopeo");
        if (registryBinary is null || skopeo is null)
            throw new InvalidOperationException("the loopback registry needs docker-registry and skopeo (apt-get install docker-registry skopeo)");
        string layout = Layers.EnsureBusyboxImage(s.Rootfs, s.CacheDir);
        var registry = LoopbackRegistry.Start(registryBinary, Path.Combine(s.ScratchDir, "registry"));
        string reference = registry.Reference("skiff-perf/busybox:latest");
        var (seeded, _, err) = s.Spawner.Capture(skopeo, "copy", "--quiet", "--dest-tls-verify=false", $"oci:{layout}:latest", $"docker://{reference}");
        if (!seeded.Succeeded)
        {
            registry.Dispose();
            throw new InvalidOperationException($"skopeo could not push the busybox image to {reference}: {err.Trim()}");
        }
        string scratch = s.ScratchDir;
        var scenario = new Scenario(Find("pull")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", $"{scratch}/skiff-{Step.RunSlot}", "pull", reference),
                RemoveTree(s, $"{scratch}/skiff-{Step.RunSlot}")),
            Podman(s, Step.Timed(Tool("podman"), "pull", "-q", "--tls-verify=false", reference),
                Step.Cleanup(Tool("podman"), "rmi", "-f", reference)),
            SystemUnderTest.Create(s.Spawner, "skopeo+umoci", Role.Peer,
            [
                Step.Setup(Tool("mkdir"), "-p", $"{scratch}/su-{Step.RunSlot}"),
                Step.Timed(skopeo, "copy", "--quiet", "--src-tls-verify=false", $"docker://{reference}", $"oci:{scratch}/su-{Step.RunSlot}/image:latest"),
                Step.Timed(Tool("umoci"), ["unpack", .. s.Uid == 0 ? Array.Empty<string>() : ["--rootless"], "--image", $"{scratch}/su-{Step.RunSlot}/image:latest", $"{scratch}/su-{Step.RunSlot}/bundle"]),
                RemoveTree(s, $"{scratch}/su-{Step.RunSlot}"),
            ], (skopeo, ["--version"]), "not installed (apt-get install skopeo umoci)",
                formatVersion: text => FirstLine(text) + ", " + Version(s.Spawner, Tool("umoci"))),
        ])
        {
            Reference = "skopeo+umoci",
            Notes =
            {
                $"Registry: docker-registry on {reference.Split('/')[0]}, seeded from an OCI layout the harness writes (the busybox rootfs as one gzip layer).",
                "Each run pulls into a fresh store (skiff: --root per run; podman: rmi after each run, not timed; skopeo+umoci: a fresh layout and bundle).",
            },
        };
        scenario.Fixtures.Add(registry);
        return scenario;
    }

    private static Scenario Unpack(ScenarioSetup s)
    {
        var (blob, bytes) = Layers.EnsureSynthetic(s.CacheDir);
        string scratch = s.ScratchDir;
        const string name = "skiff-perf/unpack:latest";
        return new Scenario(Find("unpack")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", $"{scratch}/skiff-{Step.RunSlot}", "import", blob, name),
                RemoveTree(s, $"{scratch}/skiff-{Step.RunSlot}")),
            SystemUnderTest.Create(s.Spawner, "tar", Role.Floor,
            [
                Step.Setup(Tool("mkdir"), "-p", $"{scratch}/tar-{Step.RunSlot}"),
                Step.Timed(Tool("tar"), "-xzf", blob, "-C", $"{scratch}/tar-{Step.RunSlot}"),
                RemoveTree(s, $"{scratch}/tar-{Step.RunSlot}"),
            ], (Tool("tar"), ["--version"]), "not installed"),
            Podman(s, Step.Timed(Tool("podman"), "import", "-q", blob, name), Step.Cleanup(Tool("podman"), "rmi", "-f", name)),
        ])
        {
            Reference = "tar",
            PayloadBytes = bytes,
            Notes =
            {
                $"Blob {blob} ({new FileInfo(blob).Length / 1048576.0:0.0} MiB gzip, {bytes / 1048576.0:0.0} MiB of file data), written by the harness from a fixed seed.",
                "skiff: `import` of the blob into a fresh --root per run (unpack plus digest and store bookkeeping); podman: `import`, rmi after each run (not timed); tar: -xzf into a fresh directory.",
            },
        };
    }

    // ---- systems ----

    private static SystemUnderTest Skiff(ScenarioSetup s, string name, params Step[] steps) => Skiff(s, name, steps, Role.Subject);

    private static SystemUnderTest Skiff(ScenarioSetup s, string name, Step[] steps, Role role) =>
        SystemUnderTest.Create(s.Spawner, name, role, steps, (s.SkiffPath, ["version"]), s.SkiffMissing, formatVersion: SkiffVersion);

    private static SystemUnderTest Skiff(ScenarioSetup s, string name, Step step, Role role) => Skiff(s, name, [step], role);

    /// <summary>The namespace floor: unshare with these flags, then exec /bin/true. Nothing starts a container for less.</summary>
    private static SystemUnderTest Floor(ScenarioSetup s, string name, Role role, string flags) =>
        SystemUnderTest.Create(s.Spawner, name, role, [Step.Timed(Tool("unshare"), flags, "--mount-proc", "/bin/true")],
            (Tool("unshare"), ["--version"]), "not installed");

    private static SystemUnderTest Bwrap(ScenarioSetup s) =>
        SystemUnderTest.Create(s.Spawner, "bwrap", Role.Peer,
            [Step.Timed(Tool("bwrap"), "--unshare-all", "--bind", s.Rootfs, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true")],
            (Tool("bwrap"), ["--version"]), "not installed (apt-get install bubblewrap)");

    /// <summary>
    /// Podman on the same rootfs (`--rootfs DIR:O`: an overlay over it, as skiff does). Rootless podman keeps a
    /// pause process whose mount namespace it joins; inside the harness's cgroup2 namespace that process
    /// has to be made anew there, or crun sees the hybrid host again and refuses (`podman system migrate`).
    /// </summary>
    private static SystemUnderTest Podman(ScenarioSetup s, params Step[] steps) => Podman(s, "podman", migrate: true, steps);

    /// <param name="migrate">re-make the pause process before the warm-ups (false where the scenario did it before starting a podman service)</param>
    private static SystemUnderTest Podman(ScenarioSetup s, string name, bool migrate, params Step[] steps) =>
        SystemUnderTest.Create(s.Spawner, name, Role.Peer, steps, (Tool("podman"), ["--version"]),
            "not installed (apt-get install podman uidmap slirp4netns)",
            prepare: migrate && s.Cgroup2Namespace && s.Uid != 0 ? [[Tool("podman"), "system", "migrate"]] : null,
            formatVersion: text => FirstLine(text) + (Which("crun") is { } crun ? $", {Version(s.Spawner, crun)}" : ""));

    private static string PodmanNote(ScenarioSetup s) =>
        s.Uid == 0
            ? "podman runs rootful here (the harness runs as root); use perf/run.sh --user NAME for rootless."
            : "podman runs rootless with its default runtime (crun)" +
              (s.Cgroup2Namespace ? ", in the harness's private mount namespace with cgroup2 at /sys/fs/cgroup (PERF.md's crun workaround), its pause process re-made there first." : ".");

    /// <summary>Removes a scratch tree, including files a rootless store gave subordinate owners.</summary>
    private static Step RemoveTree(ScenarioSetup s, string path) =>
        s.Uid == 0
            ? Step.Cleanup(Tool("rm"), "-rf", path)
            : Step.Cleanup(Tool("unshare"), "--map-root-user", "--map-auto", "rm", "-rf", path);

    private static string SkiffVersion(string text)
    {
        string Field(string key) => text.Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal))?[(key.Length + 1)..].Trim() ?? "";
        string version = Field("Version"), commit = Field("Commit");
        return version.Length == 0 ? FirstLine(text) : commit.Length == 0 ? version : $"{version} ({commit})";
    }

    private static string FirstLine(string text) =>
        text.Split('\n').Select(l => string.Join(' ', l.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries))).FirstOrDefault(l => l.Length > 0) ?? "unknown";

    private static string Version(Spawner spawner, string tool)
    {
        var (sample, stdout, stderr) = spawner.Capture(tool, "--version");
        return sample.Succeeded ? FirstLine(stdout + "\n" + stderr) : $"{Path.GetFileName(tool)} unknown";
    }

    /// <summary>The tool's full path on PATH, or its bare name (which then reads "not installed").</summary>
    private static string Tool(string name) => Which(name) ?? name;

    public static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/sbin")
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
}
