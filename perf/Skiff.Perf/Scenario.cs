namespace Skiff.Perf;

internal enum Role { Subject, Floor, Peer }

internal enum ScenarioKind
{
    /// <summary>One run at a time, every system in turn (rotated each round).</summary>
    Sequential,
    /// <summary>Rounds of N launches from C parallel clients; the round's wall time is the figure.</summary>
    Storm,
    /// <summary>Rounds in which each system's sampler reads resident memory (VmRSS); the figures are MiB, not time.</summary>
    Memory,
}

/// <summary>One contender in a scenario: its steps, whether it can run here, and what its runs did.</summary>
internal sealed class SystemUnderTest : IDisposable
{
    private NativeCommand? _probeCommand;

    private SystemUnderTest(string name, Role role, IReadOnlyList<Step> steps, IReadOnlyList<string[]> prepare)
    {
        Name = name;
        Role = role;
        Steps = steps;
        Prepare = prepare;
    }

    public string Name { get; }
    public Role Role { get; }
    public IReadOnlyList<Step> Steps { get; }
    /// <summary>Commands run once before the warm-ups (e.g. podman's pause process re-made in this namespace).</summary>
    public IReadOnlyList<string[]> Prepare { get; }
    public string CommandLine => string.Join(" ; ", Steps.Select(s => s.Kind == StepKind.Timed ? s.Display : $"({s.Kind.ToString().ToLowerInvariant()}: {s.Display})"));
    /// <summary>Why it is not measured ("not installed", "skiff not built ..."), or null when it is.</summary>
    public string? Unavailable { get; private set; }
    public string? Version { get; private set; }
    public bool Measurable => Unavailable is null;
    public List<RunSample> Samples { get; } = [];
    public int Failures { get; private set; }
    public int WarmupFailures { get; private set; }
    public int ProbeFailures { get; private set; }
    /// <summary>Peak RSS over the rss-probe runs (KiB); null when none succeeded or the system has several timed steps.</summary>
    public long? MaxRssKiB { get; private set; }
    public string? FirstFailure { get; private set; }
    /// <summary>Storm only: wall time of each whole round (ms), and the launches that failed in it.</summary>
    public List<(double WallMs, int Failed)> Rounds { get; } = [];

    public LatencySummary? Wall => LatencySummary.Of(Samples.Where(s => s.Succeeded).Select(s => s.WallMs));

    /// <summary>
    /// Memory scenarios: one round of this system (start what it measures, read VmRSS, remove it), given the round's
    /// number; it adds to <see cref="Figures"/> and returns null, or why the round failed.
    /// </summary>
    public Func<int, string?>? Sampler { get; set; }

    /// <summary>Memory scenarios: each named figure's samples in KiB, in the order first added; the first is the headline.</summary>
    public List<(string Name, List<double> KiB)> Figures { get; } = [];

    public void AddFigure(string name, double kib)
    {
        lock (Figures)
        {
            int at = Figures.FindIndex(f => f.Name == name);
            if (at < 0)
                Figures.Add((name, [kib]));
            else
                Figures[at].KiB.Add(kib);
        }
    }

    /// <summary>The single timed step, when there is exactly one: what rss-probe and storms run.</summary>
    public Step? OnlyTimedStep => Steps.Count(s => s.Kind == StepKind.Timed) == 1 ? Steps.First(s => s.Kind == StepKind.Timed) : null;

    /// <param name="version">the tool and arguments that print its version</param>
    /// <param name="missing">what to say when a step's executable is not there</param>
    public static SystemUnderTest Create(Spawner spawner, string name, Role role, IReadOnlyList<Step> steps,
        (string? Path, string[] Args) version, string missing, IReadOnlyList<string[]>? prepare = null,
        Func<string, string>? formatVersion = null)
    {
        var system = new SystemUnderTest(name, role, steps, prepare ?? []);
        string? absent = steps.Select(s => s.Path).Prepend(version.Path ?? "").FirstOrDefault(p => p.Length == 0 || !File.Exists(p));
        if (absent is not null)
        {
            system.Unavailable = missing;
            return system;
        }
        try
        {
            system.Version = VersionOf(spawner, version.Path!, version.Args, formatVersion);
        }
        catch (IOException e)
        {
            // posix_spawn itself failed (not executable, wrong architecture): nothing to measure.
            system.Unavailable = $"cannot run: {e.Message}";
        }
        return system;
    }

    /// <summary>Marks a system that exists but cannot be measured in this setting (e.g. a root-only runtime).</summary>
    public void MarkUnavailable(string why) => Unavailable ??= why;

    /// <summary>
    /// Runs the steps once: setup, then the timed steps (summed), then cleanup even after a failure.
    /// With <paramref name="probe"/> the single timed step runs under rss-probe and its max RSS is returned.
    /// </summary>
    public (RunSample Sample, long? MaxRssKiB) RunOnce(Spawner spawner, int run, string? probe = null)
    {
        double wall = 0, user = 0, sys = 0;
        int status = 0;
        bool timedOut = false, failed = false;
        long? kib = null;
        string? id = null;
        foreach (var step in Steps)
        {
            if (failed && step.Kind != StepKind.Cleanup || step.NeedsId && id is null)
                continue;
            var command = step.Command(run, id, out var owned);
            try
            {
                RunSample sample;
                if (step.CapturesId)
                {
                    (sample, string stdout, _) = spawner.Capture(command);
                    id = sample.Succeeded && stdout.Trim() is { Length: > 0 } text ? text.Split('\n')[^1].Trim() : null;
                }
                else if (probe is not null && step.Kind == StepKind.Timed)
                {
                    var probeCommand = owned is null ? _probeCommand ??= new NativeCommand(probe, [command.Path, .. command.Args]) : null;
                    using var perRun = probeCommand is null ? new NativeCommand(probe, [command.Path, .. command.Args]) : null;
                    (sample, kib) = spawner.Probe(probeCommand ?? perRun!);
                }
                else
                {
                    sample = spawner.Run(command);
                }
                if (step.Kind == StepKind.Timed)
                {
                    wall += sample.WallMs;
                    user += sample.UserMs;
                    sys += sample.SysMs;
                }
                if (!sample.Succeeded && !failed)
                {
                    failed = true;
                    (status, timedOut) = (sample.WaitStatus, sample.TimedOut);
                    if (FirstFailure is null)
                        FirstFailure = $"`{command}`: {sample.Outcome}" + (spawner.LastStderr().Trim() is { Length: > 0 } err ? $": {err}" : "");
                }
            }
            finally
            {
                owned?.Dispose();
            }
        }
        return (new RunSample(wall, user, sys, kib ?? 0, status, timedOut), kib);
    }

    public void Record(RunSample sample, bool warmup, TextWriter log)
    {
        if (!warmup)
            Samples.Add(sample);
        if (sample.Succeeded)
            return;
        if (warmup) WarmupFailures++; else Failures++;
        LogFirstFailure(warmup ? "warm-up" : "run", log);
    }

    /// <summary>A memory round: its wall time (not a figure, only the count of runs and failures) and why it failed, if it did.</summary>
    public void RecordRound(double wallMs, string? failure, bool warmup, TextWriter log)
    {
        var sample = new RunSample(wallMs, 0, 0, 0, failure is null ? 0 : 1 << 8, false);
        if (failure is not null)
            FirstFailure ??= failure;
        Record(sample, warmup, log);
    }

    public void RecordProbe(RunSample sample, long? maxRssKiB, TextWriter log)
    {
        if (sample.Succeeded && maxRssKiB is long kib)
        {
            MaxRssKiB = Math.Max(MaxRssKiB ?? 0, kib);
            return;
        }
        ProbeFailures++;
        LogFirstFailure("rss-probe run", log);
    }

    /// <summary>A storm's launch: counted like a run, failures shown once.</summary>
    public void RecordLaunch(RunSample sample, string? stderr, TextWriter log)
    {
        lock (Samples)
        {
            Samples.Add(sample);
            if (sample.Succeeded)
                return;
            Failures++;
            if (FirstFailure is null)
            {
                FirstFailure = $"{sample.Outcome}" + (stderr is { Length: > 0 } ? $": {stderr}" : "");
                log.WriteLine($"{Name}: launch failed, {FirstFailure}");
            }
        }
    }

    private bool _failureLogged;

    private void LogFirstFailure(string what, TextWriter log)
    {
        // Shown once, so a broken build is obvious without flooding the log.
        if (_failureLogged || FirstFailure is null)
            return;
        _failureLogged = true;
        log.WriteLine($"{Name}: {what} failed, {FirstFailure}");
    }

    /// <summary>First non-empty line of `tool --version` (stdout, else stderr), or what <paramref name="format"/> makes of it all.</summary>
    private static string VersionOf(Spawner spawner, string path, string[] args, Func<string, string>? format)
    {
        var (sample, stdout, stderr) = spawner.Capture(path, args);
        if (!sample.Succeeded)
            return $"unknown ({string.Join(' ', args)}: {sample.Outcome})";
        if (format is not null)
            return format(stdout + "\n" + stderr);
        string? line = (stdout + "\n" + stderr).Split('\n')
            .Select(l => string.Join(' ', l.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries)))
            .FirstOrDefault(l => l.Length > 0);
        return line ?? "unknown";
    }

    public void Dispose()
    {
        foreach (var step in Steps)
            step.Dispose();
        _probeCommand?.Dispose();
    }
}

/// <summary>A set of systems doing the same job, measured side by side, plus what the report says about it.</summary>
internal sealed class Scenario(ScenarioDefinition definition, IReadOnlyList<SystemUnderTest> systems) : IDisposable
{
    public ScenarioDefinition Definition { get; } = definition;
    public string Name => Definition.Name;
    public IReadOnlyList<SystemUnderTest> Systems { get; } = systems;
    /// <summary>The system the headline ratio divides by: the floor where there is one.</summary>
    public string Reference { get; init; } = "floor";
    /// <summary>Caveats printed under the table (how a peer was run, what a number includes).</summary>
    public List<string> Notes { get; } = [];
    /// <summary>Uncompressed bytes one run writes, for a throughput column (unpack).</summary>
    public long? PayloadBytes { get; init; }
    /// <summary>Storm shape: clients and launches per round.</summary>
    public (int Clients, int Launches) Storm { get; init; } = (8, 200);
    /// <summary>Fixtures that live as long as the scenario (a loopback registry).</summary>
    public List<IDisposable> Fixtures { get; } = [];
    public string Order { get; private set; } = "";

    public SystemUnderTest? Subject => Systems.FirstOrDefault(s => s.Role == Role.Subject);

    /// <summary>
    /// Warm-ups first (page cache, dentries, the harness's own JIT), then rounds that run every system
    /// once. The order rotates each round (A B C, B C A, C A B, ...), so every system takes every position
    /// equally often and drift favours none. Rotation alone keeps each system's predecessor fixed (B always
    /// after A, A always after the last), so the cycle itself is reshuffled (seeded) every n rounds: what a
    /// system leaves behind (podman's cleanup, a busy page cache) then lands on every other system in turn.
    /// </summary>
    /// <remarks>
    /// Max RSS comes from extra rounds through rss-probe (when built), kept out of the timed rounds
    /// because the probe's own fork and exec would land in the wall time.
    /// </remarks>
    public void MeasureSequential(Spawner spawner, int warmups, int runs, int rssRuns, string? rssProbe, TextWriter log)
    {
        Order = "rotated round-robin: round r starts at system r mod n (A B C, B C A, C A B, ...), the cycle reshuffled (seeded) every n rounds so no system always follows the same one";
        SystemUnderTest[] active = [.. Systems.Where(s => s.Measurable)];
        foreach (var system in active)
            system.Samples.Capacity = runs;
        RunPrepare(spawner, active);

        int n = active.Length;
        for (int round = 0; round < warmups; round++)
            for (int k = 0; k < n; k++)
            {
                var system = active[(round + k) % n];
                system.Record(system.RunOnce(spawner, 1_000_000 + round).Sample, warmup: true, log);
            }

        // Start the measured rounds with a clean heap so the harness's GC stays out of them.
        GC.Collect();
        GC.WaitForPendingFinalizers();

        int step = Math.Max(1, runs / 4);
        var shuffle = new Random(20261128);
        SystemUnderTest[] cycle = [.. active];
        for (int round = 0; round < runs; round++)
        {
            if (round % n == 0 && round > 0)
                shuffle.Shuffle(cycle);
            for (int k = 0; k < n; k++)
            {
                var system = cycle[(round + k) % n];
                system.Record(system.RunOnce(spawner, round).Sample, warmup: false, log);
            }
            if ((round + 1) % step == 0 || round + 1 == runs)
                log.WriteLine($"{Name}: {round + 1}/{runs} rounds");
        }

        if (rssProbe is null || rssRuns == 0)
            return;
        // A system that never succeeded would only fail (or time out) again.
        active = [.. active.Where(s => s.OnlyTimedStep is not null && s.Samples.Any(r => r.Succeeded))];
        for (int round = 0; round < rssRuns; round++)
            for (int k = 0; k < active.Length; k++)
            {
                var system = active[(round + k) % active.Length];
                var (sample, kib) = system.RunOnce(spawner, runs + round, rssProbe);
                system.RecordProbe(sample, kib, log);
            }
        log.WriteLine($"{Name}: {rssRuns} rss-probe rounds");
    }

    public static void RunPrepare(Spawner spawner, IEnumerable<SystemUnderTest> systems)
    {
        foreach (var system in systems)
            // Best effort and quiet (deleting state that is usually not there); a real problem shows in the warm-ups.
            foreach (var argv in system.Prepare)
                spawner.Capture(argv[0], argv[1..]);
    }

    public void SetOrder(string order) => Order = order;

    /// <summary>
    /// Memory scenarios: warm-up rounds (discarded figures), then rounds that run every system's sampler once, in
    /// an order rotated each round as in <see cref="MeasureSequential"/>.
    /// </summary>
    public void MeasureMemory(Spawner spawner, int warmups, int runs, TextWriter log)
    {
        Order = "one sampler round per system, rotated round-robin";
        SystemUnderTest[] active = [.. Systems.Where(s => s.Measurable && s.Sampler is not null)];
        foreach (var s in Systems.Where(s => s.Measurable && s.Sampler is null))
            s.MarkUnavailable("no memory sampler for this system");
        RunPrepare(spawner, active);
        int n = active.Length;
        for (int round = -warmups; round < runs; round++)
            for (int k = 0; k < n; k++)
            {
                var system = active[((round % n) + n + k) % n];
                bool warmup = round < 0;
                // A warm-up's figures are dropped: cut the lists back to where they were.
                int[] before = [.. system.Figures.Select(f => f.KiB.Count)];
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                string? failure = system.Sampler!(warmup ? 1_000_000 - round : round);
                double wall = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (warmup)
                    for (int f = 0; f < system.Figures.Count; f++)
                        system.Figures[f].KiB.RemoveRange(f < before.Length ? before[f] : 0, system.Figures[f].KiB.Count - (f < before.Length ? before[f] : 0));
                system.RecordRound(wall, failure, warmup, log);
                if (!warmup)
                    log.WriteLine($"{Name}: {system.Name} round {round + 1}/{runs}" + (failure is null ? "" : $": {failure}"));
            }
    }

    public void Dispose()
    {
        foreach (var system in Systems)
            system.Dispose();
        foreach (var fixture in Fixtures)
            fixture.Dispose();
    }
}
