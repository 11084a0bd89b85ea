namespace Skiff.Perf;

/// <summary>Where the systems find their inputs, and who is measuring.</summary>
internal sealed record ScenarioSetup(
    string Rootfs, string SkiffPath, string SkiffRuncPath, string SkiffMissing, string CacheDir, string ScratchDir,
    uint Uid, bool Cgroup2Namespace, bool Quick, Spawner Spawner, TextWriter Log);

/// <summary>One PERF.md target as p50 ratios of skiff to named peers (all must hold), or a storm's launches per second.</summary>
internal sealed record Target(string Text, (string Peer, double MaxRatio)[] Ratios, double? MinLaunchesPerSecond = null);

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
        new("run-default-network", "container start of /bin/true with each engine's default private network", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--rootfs"), c.PrivateDefaultNetwork()),
            RunDefaultNetwork, Runs: (100, 10), Warmups: (3, 2),
            new("≤ 0.25× podman's", [("podman", 0.25)])),
        new("oci-bundle", "OCI runtime `run` of /bin/true on the same bundle, as root", ScenarioKind.Sequential, NeedsRoot: true,
            c => c.RuncFace(),
            OciBundleRun, Runs: (200, 20), Warmups: (5, 3),
            new("faster than crun", [("crun", 1)])),
        new("detached", "detached start of `sleep`, then forced remove", ScenarioKind.Sequential, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--detach"), c.RunFlag("--rootfs"), c.Verb("rm")),
            Detached, Runs: (50, 5), Warmups: (3, 1),
            null),
        new("storm", "launches of /bin/true from 8 parallel clients (200 per round; 40 with --quick)", ScenarioKind.Storm, NeedsRoot: false,
            c => SkiffCapabilities.All(c.RunFlag("--rootfs"), c.RunFlag("--rm")),
            LaunchStorm, Runs: (3, 1), Warmups: (16, 8),
            new("≥ 100 launches/s, zero failures", [], MinLaunchesPerSecond: 100)),
        new("pull", "pull of the busybox image from a loopback registry (docker-registry on 127.0.0.1)", ScenarioKind.Sequential, NeedsRoot: false,
            c => c.Verb("pull"),
            Pull, Runs: (20, 3), Warmups: (2, 1),
            new("faster than podman pull and skopeo copy + umoci unpack", [("podman", 1), ("skopeo+umoci", 1)])),
        new("unpack", "unpack of one gzip layer (synthetic: 21 MiB of gzip, 45 MiB in 2,600 files) into a fresh store", ScenarioKind.Sequential, NeedsRoot: false,
            c => c.Verb("import"),
            Unpack, Runs: (10, 3), Warmups: (1, 1),
            new("≥ 0.8× the throughput of tar -xzf (≤ 1.25× its time)", [("tar", 1.25)])),
        new("serve-memory", "`skiff serve` managed memory (EventPipe runtime counters) during a launch storm", ScenarioKind.Sequential, NeedsRoot: false,
            c => c.Verb("serve") ?? "skiff has `serve`, but this harness does not drive it yet: attach `perf/micro.sh --counters PID` (README, Performance)",
            null, Runs: (0, 0), Warmups: (0, 0),
            new("≤ 30 MiB idle", [])),
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

    /// <summary>
    /// PERF.md's first target: an image already in the store. The busybox rootfs is imported once (not timed) into a
    /// store of the harness's own (skiff --root in scratch) and into podman's; the floor and bwrap use the rootfs directory.
    /// </summary>
    private static Scenario RunImage(ScenarioSetup s)
    {
        string tarball = Layers.EnsureBusyboxTarball(s.Rootfs, s.CacheDir);
        string store = Path.Combine(s.ScratchDir, "store");
        const string image = "skiff-perf/busybox:latest", podmanImage = "localhost/skiff-perf/busybox:latest";
        var scenario = new Scenario(Find("run-image")!,
        [
            Skiff(s, "skiff", Step.Timed(s.SkiffPath, "--root", store, "run", "--rm", "--network", "none", image, "/bin/true")),
            Floor(s, "floor", Role.Floor, "-Urmpiuf"),
            Floor(s, "floor+net", Role.Peer, "-Urmpiufn"),
            Bwrap(s),
            Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--network=none", podmanImage, "/bin/true")),
        ])
        {
            Notes =
            {
                PodmanNote(s),
                $"The image: {tarball} (the busybox rootfs as one gzip layer), imported before measuring with `skiff --root {store} import` and `podman import`; the floor and bwrap run on the rootfs directory.",
            },
        };
        if (scenario.Subject is { Measurable: true })
            Import(s, scenario.Subject, [s.SkiffPath, "--root", store, "import", tarball, image]);
        if (scenario.Systems.First(x => x.Name == "podman") is { Measurable: true } podman)
        {
            Import(s, podman, [Tool("podman"), "import", "-q", tarball, podmanImage]);
            scenario.Fixtures.Add(new Cleanup(() => s.Spawner.Capture(Tool("podman"), "rmi", "-f", podmanImage)));
        }
        return scenario;
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private static void Import(ScenarioSetup s, SystemUnderTest system, string[] argv)
    {
        var (sample, _, err) = s.Spawner.Capture(argv[0], argv[1..]);
        if (!sample.Succeeded)
            system.MarkUnavailable($"could not import the image ({string.Join(' ', argv[1..])}: {sample.Outcome}: {err.Trim()})");
    }

    private static Scenario RunDefaultNetwork(ScenarioSetup s) => new(Find("run-default-network")!,
    [
        Skiff(s, "skiff", Step.Timed(s.SkiffPath, "run", "--rm", "--rootfs", s.Rootfs, "/bin/true")),
        Floor(s, "floor", Role.Floor, "-Urmpiuf"),
        Floor(s, "floor+net", Role.Peer, "-Urmpiufn"),
        Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--rootfs", s.Rootfs + ":O", "/bin/true")),
    ])
    {
        Notes =
        {
            PodmanNote(s),
            "Each engine uses its own default network: podman 4.3's rootless default is slirp4netns (pasta arrived in podman 4.4).",
            TunNote(s),
        },
    };

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

    private static Scenario Detached(ScenarioSetup s) => new(Find("detached")!,
    [
        Skiff(s, "skiff",
            Step.TimedCapturingId(s.SkiffPath, "run", "-d", "--network", "none", "--rootfs", s.Rootfs, "/bin/sleep", "600"),
            Step.Timed(s.SkiffPath, "rm", "-f", Step.IdSlot)),
        Floor(s, "floor", Role.Floor, "-Urmpiuf"),
        Podman(s,
            Step.TimedCapturingId(Tool("podman"), "run", "-d", "--network=none", "--rootfs", s.Rootfs + ":O", "/bin/sleep", "600"),
            Step.Timed(Tool("podman"), "rm", "-f", "-t", "0", Step.IdSlot)),
    ])
    {
        Reference = "podman",
        Notes =
        {
            PodmanNote(s),
            "A run is both commands, start then remove; the wall time is their sum. The floor (namespaces + exec of /bin/true) is there for scale only.",
        },
    };

    private static Scenario LaunchStorm(ScenarioSetup s) => new(Find("storm")!,
    [
        Skiff(s, "skiff", Step.Timed(s.SkiffPath, "run", "--rm", "--network", "none", "--rootfs", s.Rootfs, "/bin/true")),
        Floor(s, "floor", Role.Floor, "-Urmpiuf"),
        Bwrap(s),
        Podman(s, Step.Timed(Tool("podman"), "run", "--rm", "--network=none", "--rootfs", s.Rootfs + ":O", "/bin/true")),
    ])
    {
        Storm = (8, s.Quick ? 40 : 200),
        Notes = { PodmanNote(s), "Wall time is that of a whole round (start to the last reap); launches/s = launches / wall. The dots in the chart are single launches under that load." },
    };

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

    private static SystemUnderTest Skiff(ScenarioSetup s, string name, params Step[] steps) =>
        SystemUnderTest.Create(s.Spawner, name, Role.Subject, steps, (s.SkiffPath, ["version"]), s.SkiffMissing, formatVersion: SkiffVersion);

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
    private static SystemUnderTest Podman(ScenarioSetup s, params Step[] steps) =>
        SystemUnderTest.Create(s.Spawner, "podman", Role.Peer, steps, (Tool("podman"), ["--version"]),
            "not installed (apt-get install podman uidmap slirp4netns)",
            prepare: s.Cgroup2Namespace && s.Uid != 0 ? [[Tool("podman"), "system", "migrate"]] : null,
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
