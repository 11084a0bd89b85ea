namespace Skiff.Perf;

internal enum Role { Subject, Floor, Peer }

/// <summary>One contender in a scenario: its command, whether it can run here, and what its runs did.</summary>
internal sealed class SystemUnderTest(string name, Role role, string path, string[] args) : IDisposable
{
    public string Name { get; } = name;
    public Role Role { get; } = role;
    public string CommandLine { get; } = string.Join(' ', [path, .. args]);
    public NativeCommand? Command { get; private set; }
    /// <summary>Why it is not measured ("not installed", "skiff not built ..."), or null when it is.</summary>
    public string? Unavailable { get; private set; }
    public string? Version { get; private set; }
    public List<RunSample> Samples { get; } = [];
    public int Failures { get; private set; }
    public int WarmupFailures { get; private set; }
    public int ProbeFailures { get; private set; }
    /// <summary>Peak RSS over the rss-probe runs (KiB); null when none succeeded.</summary>
    public long? MaxRssKiB { get; private set; }
    public string? FirstFailure { get; private set; }

    public LatencySummary? Wall => LatencySummary.Of(Samples.Where(s => s.Succeeded).Select(s => s.WallMs));

    public static SystemUnderTest Create(Spawner spawner, string name, Role role, string? path, string[] args,
        string[] versionArgs, string missing)
    {
        var system = new SystemUnderTest(name, role, path ?? name, args);
        if (path is null || !File.Exists(path))
        {
            system.Unavailable = missing;
            return system;
        }
        try
        {
            system.Version = VersionOf(spawner, path, versionArgs);
        }
        catch (IOException e)
        {
            // posix_spawn itself failed (not executable, wrong architecture): nothing to measure.
            system.Unavailable = $"cannot run: {e.Message}";
            return system;
        }
        system.Command = new NativeCommand(path, args);
        return system;
    }

    public void Record(RunSample sample, bool warmup, Spawner spawner, TextWriter log)
    {
        if (!warmup)
            Samples.Add(sample);
        if (sample.Succeeded)
            return;
        if (warmup) WarmupFailures++; else Failures++;
        NoteFailure(sample, warmup ? "warm-up" : "run", spawner, log);
    }

    public void RecordProbe(RunSample sample, long? maxRssKiB, Spawner spawner, TextWriter log)
    {
        if (sample.Succeeded && maxRssKiB is long kib)
        {
            MaxRssKiB = Math.Max(MaxRssKiB ?? 0, kib);
            return;
        }
        ProbeFailures++;
        NoteFailure(sample, "rss-probe run", spawner, log);
    }

    private void NoteFailure(RunSample sample, string what, Spawner spawner, TextWriter log)
    {
        if (FirstFailure is not null)
            return;
        // Shown once, so a broken build is obvious without flooding the log.
        string stderr = spawner.LastStderr().Trim();
        FirstFailure = stderr.Length > 0 ? $"{sample.Outcome}: {stderr}" : sample.Outcome;
        log.WriteLine($"{Name}: {what} failed, {FirstFailure}");
    }

    /// <summary>First non-empty line of `tool --version` (stdout, else stderr).</summary>
    private static string VersionOf(Spawner spawner, string path, string[] args)
    {
        var (sample, stdout, stderr) = spawner.Capture(path, args);
        string? line = (stdout + "\n" + stderr).Split('\n')
            .Select(l => string.Join(' ', l.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries)))
            .FirstOrDefault(l => l.Length > 0);
        return sample.Succeeded ? line ?? "unknown" : $"unknown ({string.Join(' ', args)}: {sample.Outcome})";
    }

    public void Dispose() => Command?.Dispose();
}

/// <summary>Where the systems find their inputs: the busybox rootfs and the skiff binary.</summary>
internal sealed record ScenarioSetup(string Rootfs, string SkiffPath, bool SkiffPathGiven);

/// <summary>A set of systems doing the same job, measured side by side.</summary>
internal sealed class Scenario(string name, string title, IReadOnlyList<SystemUnderTest> systems) : IDisposable
{
    public static readonly string[] Names = ["run-none"];

    public string Name { get; } = name;
    public string Title { get; } = title;
    public IReadOnlyList<SystemUnderTest> Systems { get; } = systems;

    public static Scenario Create(string name, ScenarioSetup setup, Spawner spawner) => name switch
    {
        "run-none" => RunNone(setup, spawner),
        _ => throw new ArgumentException($"unknown scenario '{name}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>Container start of /bin/true with no network, against the bare namespace floor and bwrap.</summary>
    private static Scenario RunNone(ScenarioSetup setup, Spawner spawner)
    {
        string? unshare = Which("unshare"), bwrap = Which("bwrap");
        string skiffMissing = setup.SkiffPathGiven ? $"skiff not found at {setup.SkiffPath}" : "skiff not built (run ./build.sh)";
        return new Scenario("run-none", "container start of /bin/true, busybox rootfs, no network",
        [
            SystemUnderTest.Create(spawner, "skiff", Role.Subject, setup.SkiffPath,
                ["run", "--rm", "--network", "none", "--rootfs", setup.Rootfs, "/bin/true"], ["version"], skiffMissing),
            SystemUnderTest.Create(spawner, "floor", Role.Floor, unshare,
                ["-Urmpiuf", "--mount-proc", "/bin/true"], ["--version"], "not installed"),
            SystemUnderTest.Create(spawner, "floor+net", Role.Peer, unshare,
                ["-Urmpiufn", "--mount-proc", "/bin/true"], ["--version"], "not installed"),
            SystemUnderTest.Create(spawner, "bwrap", Role.Peer, bwrap,
                ["--unshare-all", "--bind", setup.Rootfs, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"],
                ["--version"], "not installed"),
        ]);
    }

    /// <summary>
    /// Warm-ups first (page cache, dentries, the harness's own JIT), then rounds that run every system
    /// once in turn (A B C A B C ...), so drift in the machine lands on all systems alike.
    /// </summary>
    /// <remarks>
    /// Max RSS comes from extra rounds through rss-probe (when built), kept out of the timed rounds
    /// because the probe's own fork and exec would land in the wall time.
    /// </remarks>
    public void Measure(Spawner spawner, int warmups, int runs, int rssRuns, string? rssProbe, TextWriter log)
    {
        SystemUnderTest[] active = [.. Systems.Where(s => s.Command is not null)];
        foreach (var system in active)
            system.Samples.Capacity = runs;

        for (int round = 0; round < warmups; round++)
            foreach (var system in active)
                system.Record(spawner.Run(system.Command!), warmup: true, spawner, log);

        // Start the measured rounds with a clean heap so the harness's GC stays out of them.
        GC.Collect();
        GC.WaitForPendingFinalizers();

        int step = Math.Max(1, runs / 4);
        for (int round = 0; round < runs; round++)
        {
            foreach (var system in active)
                system.Record(spawner.Run(system.Command!), warmup: false, spawner, log);
            if ((round + 1) % step == 0 || round + 1 == runs)
                log.WriteLine($"{Name}: {round + 1}/{runs} rounds");
        }

        if (rssProbe is null || rssRuns == 0)
            return;
        // A system that never succeeded would only fail (or time out) again.
        active = [.. active.Where(s => s.Samples.Any(r => r.Succeeded))];
        var probes = active.Select(s => new NativeCommand(rssProbe, [s.Command!.Path, .. s.Command.Args])).ToArray();
        try
        {
            for (int round = 0; round < rssRuns; round++)
                for (int i = 0; i < active.Length; i++)
                {
                    var (sample, kib) = spawner.Probe(probes[i]);
                    active[i].RecordProbe(sample, kib, spawner, log);
                }
            log.WriteLine($"{Name}: {rssRuns} rss-probe rounds");
        }
        finally
        {
            foreach (var probe in probes)
                probe.Dispose();
        }
    }

    public SystemUnderTest? Subject => Systems.FirstOrDefault(s => s.Role == Role.Subject);

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    public void Dispose()
    {
        foreach (var system in Systems)
            system.Dispose();
    }
}
