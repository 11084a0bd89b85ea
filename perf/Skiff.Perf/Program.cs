// The perf harness: runs each scenario's systems side by side (interleaved, order rotated), writes one
// part per scenario, then turns the parts into report.md, report.json, SVG charts and the trend.
// perf/run.sh drives it: measuring phases (as root for the OCI runtimes, as the user for the rest) and one report phase.
using Skiff.Perf;

Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"skiff-perf: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

try
{
    return options.Command switch
    {
        "measure" => Measure(options),
        "report" => WriteReport(options),
        "list" => List(options),
        _ => 2,
    };
}
catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"skiff-perf: {e.Message}");
    return 1;
}

static int Measure(Options options)
{
    var log = Console.Error;
    var machine = MachineInfo.Describe();
    log.WriteLine($"machine: {machine}; measuring as {machine.MeasuredAs}{(machine.CgroupNote is { } note ? $", {note}" : "")}");
    if (machine.Uid == 0 && options.Phase != "root")
        log.WriteLine("note: measuring as root; skiff is meant to be measured rootless (perf/run.sh --user NAME)");
    string startedAt = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
    var timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

    using var spawner = new Spawner(timeout);
    string cache = Path.Combine(Path.GetTempPath(), $"skiff-perf-{machine.Uid}");
    string rootfs = Rootfs.EnsureBusybox(spawner, cache);
    string skiffMissing = options.SkiffPathGiven ? $"skiff not found at {options.SkiffPath}" : "skiff not built (run ./build.sh)";
    string skiffRunc = Path.Combine(Path.GetDirectoryName(options.SkiffPath)!, "skiff-runc");
    var caps = SkiffCapabilities.Probe(spawner, options.SkiffPath, skiffRunc, skiffMissing);
    log.WriteLine($"skiff: {caps.Problem ?? $"{options.SkiffPath}, commands: {string.Join(' ', caps.Verbs)}"}");
    // Max RSS needs rss-probe, built next to the harness; without it the column stays empty rather than wrong.
    string? rssProbe = Path.Combine(AppContext.BaseDirectory, "rss-probe");
    if (!File.Exists(rssProbe))
    {
        log.WriteLine($"rss-probe not found at {rssProbe}: max RSS will not be reported");
        rssProbe = null;
    }

    foreach (var definition in options.Selected())
    {
        if (options.Phase == "root" && !definition.NeedsRoot || options.Phase == "rootless" && definition.NeedsRoot)
            continue;
        string scratch = Path.Combine(cache, "scratch", definition.Name);
        var setup = new ScenarioSetup(rootfs, options.SkiffPath, skiffRunc, skiffMissing, cache, scratch, machine.Uid,
            machine.MeasuredCgroup != machine.Cgroup, options.Quick, spawner, log);
        var (report, scenario) = MeasureOne(definition, setup, caps, options, machine, rssProbe, timeout, log);
        using (scenario)
            Report.WritePart(options.OutDir, Report.Part(startedAt, machine, options.Quick, options.Partial, report, scenario), scenario);
        RemoveScratch(spawner, scratch, machine.Uid);
        log.WriteLine($"{definition.Name}: {report.Status}" +
            (report.Headline is { } h ? $", skiff / {h.To} = {Report.F(h.P50Ratio)}×" : ""));
    }
    return 0;
}

static (ScenarioReport, Scenario?) MeasureOne(ScenarioDefinition definition, ScenarioSetup setup, SkiffCapabilities caps, Options options,
    MachineInfo machine, string? rssProbe, TimeSpan timeout, TextWriter log)
{
    string measuredAs = machine.MeasuredAs;
    if (definition.NeedsRoot && machine.Uid != 0)
        return (Report.NotMeasured(definition, "needs root: run perf/run.sh as root (the OCI runtimes run rootful here)", measuredAs), null);
    string? missing = definition.Missing(caps);
    string? notAvailable = missing is null ? null : $"not available in this skiff: {missing}";
    if (notAvailable is not null && (!options.AllPeers || definition.Build is null))
        return (Report.NotMeasured(definition, notAvailable, measuredAs), null);

    Scenario scenario;
    try
    {
        Directory.CreateDirectory(setup.ScratchDir);
        scenario = definition.Build!(setup);
    }
    catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
    {
        return (Report.NotMeasured(definition, $"could not be set up: {e.Message}", measuredAs), null);
    }
    if (notAvailable is not null)
        scenario.Subject?.MarkUnavailable(notAvailable);
    foreach (var system in scenario.Systems)
        log.WriteLine($"{definition.Name}: {system.Name}: {system.Unavailable ?? system.Version}");

    string loadBefore = LoadAverage();
    int runs = options.Runs ?? (options.Quick ? definition.Runs.Quick : definition.Runs.Full);
    int warmups = options.Warmups ?? (options.Quick ? definition.Warmups.Quick : definition.Warmups.Full);
    int rssRuns = 0;
    if (definition.Kind == ScenarioKind.Storm)
    {
        log.WriteLine($"{definition.Name}: {warmups} warm-up launches, then {runs} rounds of {scenario.Storm.Launches} launches from {scenario.Storm.Clients} clients");
        Storm.Measure(scenario, setup.Spawner, timeout, warmups, runs, log);
    }
    else if (definition.Kind == ScenarioKind.Memory)
    {
        log.WriteLine($"{definition.Name}: {warmups} warm-up rounds, then {runs} rounds per system");
        scenario.MeasureMemory(setup.Spawner, warmups, runs, log);
    }
    else
    {
        // Extra rounds cost as much as measured ones: ten at most, a quarter of the runs for the slow scenarios.
        rssRuns = rssProbe is null ? 0 : Math.Min(10, Math.Max(1, runs / 4));
        log.WriteLine($"{definition.Name}: {warmups} warm-ups, then {runs} interleaved rounds");
        scenario.MeasureSequential(setup.Spawner, warmups, runs, rssRuns, rssProbe, log);
    }
    string loadAfter = LoadAverage();
    bool busy = new[] { loadBefore, loadAfter }.Any(l => double.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, out double v) && v > Environment.ProcessorCount);
    string load = $"1-minute load average {loadBefore} at the start, {loadAfter} at the end" +
        (busy ? $" (busy: more runnable tasks than its {Environment.ProcessorCount} cores, from other work on the machine)" : "");
    return (Report.Summarize(scenario, measuredAs, machine.CgroupNote, load, warmups, runs, rssRuns), scenario);
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

/// <summary>Scratch trees may hold files a rootless store gave subordinate owners; remove them as the user namespace sees them.</summary>
static void RemoveScratch(Spawner spawner, string scratch, uint uid)
{
    if (!Directory.Exists(scratch))
        return;
    if (uid != 0 && Catalogue.Which("unshare") is { } unshare)
        spawner.Capture(unshare, "--map-root-user", "--map-auto", "rm", "-rf", scratch);
    if (Directory.Exists(scratch))
        spawner.Capture("/bin/rm", "-rf", scratch);
}

static int WriteReport(Options options)
{
    var parts = Report.ReadParts(options.OutDir);
    if (parts.Count == 0)
        throw new InvalidOperationException($"no measurements under {options.OutDir}/raw (run perf/run.sh)");
    // Verdicts follow the catalogue's targets as they are now (--report-only after a target changed).
    parts = [.. parts.Select(p => p.Report.Measured && Catalogue.Find(p.Report.Name)?.Target is { } target
        ? p with { Report = p.Report with { Target = Report.Evaluate(target, p.Report.Ratios, p.Report.Systems.FirstOrDefault(x => x.Role == "subject")) } }
        : p)];
    // The machine as the unprivileged phase saw it, when there was one.
    var machine = (parts.FirstOrDefault(p => p.Machine.Uid != 0) ?? parts[0]).Machine;
    bool quick = parts.Any(p => p.Quick), partial = parts.Any(p => p.Partial) || parts.Count < Catalogue.All.Length;
    var document = new ReportDocument(
        Timestamp: parts.Min(p => p.StartedAt)!,
        Commit: Commit(options.Repo),
        Full: !quick && !partial,
        Quick: quick,
        Method: Report.Method,
        Machine: machine,
        Scenarios: [.. parts.Select(p => p.Report)]);
    Report.Write(options.OutDir, document, parts);

    string results = Path.Combine(options.Repo, "perf", "results");
    string trend = TrendChart.Render(TrendChart.Collect(results));
    File.WriteAllText(Path.Combine(options.OutDir, "trend.svg"), trend);
    if (Path.GetFullPath(Path.GetDirectoryName(options.OutDir)!) == Path.GetFullPath(results))
    {
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(results, "trend.svg"), trend);
        if (!document.Quick)
            Latest.Write(results, options.OutDir, document);
    }

    string markdown = Report.Markdown(document);
    Console.Out.Write(markdown[..markdown.IndexOf("\n## ", markdown.IndexOf("## Summary", StringComparison.Ordinal) + 1, StringComparison.Ordinal)]);
    Console.Out.WriteLine();
    Console.Out.WriteLine($"report: {Path.Combine(options.OutDir, "report.md")}");

    string baselinePath = Path.Combine(results, "baseline.json");
    if (options.WriteBaseline)
    {
        if (!document.Full)
            throw new InvalidOperationException("a baseline comes from a full run only (no --quick, --scenario, --runs or --warmups)");
        RegressionCheck.Save(baselinePath, RegressionCheck.From(document, $"perf/results/{Path.GetFileName(options.OutDir)}/report.json"));
        Console.Out.WriteLine($"baseline: {baselinePath}");
    }
    if (!options.Check)
        return 0;
    var baseline = RegressionCheck.Load(baselinePath)
        ?? throw new InvalidOperationException($"no baseline at {baselinePath} (make one: perf/run.sh --baseline)");
    string check = RegressionCheck.Compare(baseline, document, out var worse);
    File.WriteAllText(Path.Combine(options.OutDir, "check.md"), check);
    Console.Out.WriteLine();
    Console.Out.Write(check);
    return worse.Count == 0 ? 0 : 3;
}

static int List(Options options)
{
    using var spawner = new Spawner(TimeSpan.FromSeconds(10));
    string skiffRunc = Path.Combine(Path.GetDirectoryName(options.SkiffPath)!, "skiff-runc");
    var caps = SkiffCapabilities.Probe(spawner, options.SkiffPath, skiffRunc, "skiff not built (run ./build.sh)");
    foreach (var d in Catalogue.All)
    {
        string status = d.Missing(caps) is { } why ? $"not available in this skiff: {why}" : d.NeedsRoot ? "available (as root)" : "available";
        Console.Out.WriteLine($"{d.Name,-20} {status}");
        Console.Out.WriteLine($"{"",-20} {d.Title}");
    }
    return 0;
}

static string? Commit(string repo)
{
    string? git = new[] { "/usr/bin/git", "/usr/local/bin/git", "/bin/git" }.FirstOrDefault(File.Exists);
    if (git is null)
        return null;
    using var spawner = new Spawner(TimeSpan.FromSeconds(10));
    // safe.directory: the checkout may belong to someone else, which git otherwise refuses.
    var (sample, stdout, _) = spawner.Capture(git, "-c", $"safe.directory={repo}", "-C", repo, "rev-parse", "--short", "HEAD");
    return sample.Succeeded ? stdout.Trim() : null;
}

/// <summary>Command-line options; parsed by hand, the harness has no other dependencies.</summary>
internal sealed record Options(
    string Command, bool Help, bool Quick, int? Warmups, int? Runs, int TimeoutSeconds, IReadOnlyList<string> Scenarios, string Repo,
    string SkiffPath, bool SkiffPathGiven, string OutDir, string Phase, bool AllPeers, bool Check, bool WriteBaseline)
{
    public const string Usage = """
        usage: Skiff.Perf measure --out DIR [--phase all|root|rootless] [--quick] [--runs N] [--warmups N] [--timeout S]
                                  [--scenario NAME]... [--skiff PATH] [--all-peers] [--repo DIR]
               Skiff.Perf report --out DIR [--check] [--baseline] [--repo DIR]
               Skiff.Perf list [--skiff PATH]
        perf/run.sh wraps these (see its header); run it rather than this.
          --quick          few runs per system (each scenario's quick count), a smoke test
          --runs N         measured runs (storm: rounds) per system, for every scenario
          --warmups N      discarded runs (storm: launches) per system before measuring
          --timeout S      kill a run (and its process group) still going after S seconds, count it failed (default 30)
          --scenario NAME  only this scenario (repeatable, or comma-separated)
          --skiff PATH     skiff binary (default: out/skiff at the repo root); skiff-runc is looked for beside it
          --all-peers      measure the peers of scenarios that skiff cannot do yet (skiff is still listed as not available)
          --phase          measure only the scenarios that need root (root), only the others (rootless), or all
          --check          compare the p50 ratios with perf/results/baseline.json; exit 3 when one is >20% worse
          --baseline       make this (full) run perf/results/baseline.json
        """;

    public bool Partial => Scenarios.Count > 0 || Runs is not null || Warmups is not null;

    public IEnumerable<ScenarioDefinition> Selected() =>
        Scenarios.Count == 0 ? Catalogue.All : Catalogue.All.Where(d => Scenarios.Contains(d.Name));

    public static Options Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("measure" or "report" or "list" or "-h" or "--help"))
            throw new ArgumentException("first argument: measure, report or list");
        string command = args[0];
        bool help = command is "-h" or "--help", quick = false, allPeers = false, check = false, baseline = false;
        int? runs = null, warmups = null;
        int timeout = 30;
        var scenarios = new List<string>();
        string? repo = null, skiff = null, outDir = null;
        string phase = "all";
        for (int i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": help = true; break;
                case "--quick": quick = true; break;
                case "--all-peers": allPeers = true; break;
                case "--check": check = true; break;
                case "--baseline": baseline = true; break;
                case "--runs": runs = Count(Value(), "--runs", min: 1); break;
                case "--warmups": warmups = Count(Value(), "--warmups", min: 0); break;
                case "--timeout": timeout = Count(Value(), "--timeout", min: 1); break;
                case "--scenario": scenarios.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--skiff": skiff = Path.GetFullPath(Value()); break;
                case "--repo": repo = Path.GetFullPath(Value()); break;
                case "--out": outDir = Path.GetFullPath(Value()); break;
                case "--phase":
                    phase = Value();
                    if (phase is not ("all" or "root" or "rootless"))
                        throw new ArgumentException("--phase: all, root or rootless");
                    break;
                case "--user": throw new ArgumentException("--user is handled by perf/run.sh (it re-runs the harness via setpriv)");
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        foreach (var name in scenarios.Where(n => Catalogue.Find(n) is null))
            throw new ArgumentException($"unknown scenario '{name}' (known: {string.Join(", ", Catalogue.Names)})");
        repo ??= FindRepo(Directory.GetCurrentDirectory());
        if (outDir is null && command is "measure" or "report")
            throw new ArgumentException("--out DIR is required");
        return new Options(command, help, quick, warmups, runs, timeout, scenarios, repo,
            skiff ?? Path.Combine(repo, "out", "skiff"), skiff is not null, outDir ?? "", phase, allPeers, check, baseline);
    }

    private static int Count(string text, string name, int min) =>
        int.TryParse(text, out int n) && n >= min ? n : throw new ArgumentException($"{name} wants an integer >= {min}, got '{text}'");

    /// <summary>The nearest directory upwards holding aot.props, which sits at the repository root.</summary>
    private static string FindRepo(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "aot.props")))
                return dir.FullName;
        return start;
    }
}
