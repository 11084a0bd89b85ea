// Cold-start perf harness: starts each system's /bin/true container N times, interleaved, and
// reports latency percentiles, CPU and RSS side by side. Entry point for perf/run.sh.
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

var log = Console.Error;
var machine = MachineInfo.Describe();
log.WriteLine($"machine: {machine}");
if (machine.Uid == 0)
    log.WriteLine("note: measuring as root; skiff is meant to be measured rootless (perf/run.sh --user NAME)");

try
{
    using var spawner = new Spawner(TimeSpan.FromSeconds(options.TimeoutSeconds));
    string rootfs = Rootfs.EnsureBusybox(spawner, Path.Combine(Path.GetTempPath(), $"skiff-perf-{machine.Uid}"));
    log.WriteLine($"rootfs: {rootfs}");

    using var scenario = Scenario.Create(options.Scenario, new ScenarioSetup(rootfs, options.SkiffPath, options.SkiffPathGiven), spawner);
    foreach (var system in scenario.Systems)
        log.WriteLine($"{system.Name}: {system.Unavailable ?? system.Version}");
    // Max RSS needs rss-probe, built next to the harness; without it the column stays empty rather than wrong.
    string? rssProbe = Path.Combine(AppContext.BaseDirectory, "rss-probe");
    if (!File.Exists(rssProbe))
    {
        log.WriteLine($"rss-probe not found at {rssProbe}: max RSS will not be reported");
        rssProbe = null;
    }
    int rssRuns = rssProbe is null ? 0 : Math.Min(options.Runs, 10);
    log.WriteLine($"{scenario.Name}: {options.Warmups} warm-ups, then {options.Runs} interleaved rounds");
    scenario.Measure(spawner, options.Warmups, options.Runs, rssRuns, rssProbe, log);

    var now = DateTime.UtcNow;
    var document = new ReportDocument(
        Timestamp: now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
        Commit: Commit(spawner, options.Repo),
        Settings: new RunSettings(options.Warmups, options.Runs, rssRuns, "round-robin A B C A B C",
            "percentiles by linear interpolation between closest ranks, over successful runs",
            rssProbe is null
                ? "not measured (rss-probe missing)"
                : $"peak ru_maxrss of the command and its descendants over {rssRuns} extra rounds forked from rss-probe, not from the harness"),
        Machine: machine,
        Scenarios: [Report.Summarize(scenario, rootfs)]);

    string outDir = options.OutDir ?? Path.Combine(options.Repo, "perf", "results", now.ToString("yyyyMMdd'T'HHmmss'Z'"));
    Report.Write(outDir, document, [scenario]);
    Console.Out.Write(Report.Markdown(document));
    log.WriteLine($"wrote {outDir}/report.md, report.json, {scenario.Name}.svg, raw/{scenario.Name}.csv");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
{
    log.WriteLine($"skiff-perf: {e.Message}");
    return 1;
}

static string? Commit(Spawner spawner, string repo)
{
    string? git = new[] { "/usr/bin/git", "/usr/local/bin/git", "/bin/git" }.FirstOrDefault(File.Exists);
    if (git is null)
        return null;
    // safe.directory: under --user the checkout belongs to someone else, which git otherwise refuses.
    var (sample, stdout, _) = spawner.Capture(git, "-c", $"safe.directory={repo}", "-C", repo, "rev-parse", "--short", "HEAD");
    return sample.Succeeded ? stdout.Trim() : null;
}

/// <summary>Command-line options; parsed by hand, the harness has no other dependencies.</summary>
internal sealed record Options(
    bool Help, bool Quick, int Warmups, int Runs, int TimeoutSeconds, string Scenario, string Repo, string SkiffPath, bool SkiffPathGiven,
    string? OutDir)
{
    public const string Usage = """
        usage: perf/run.sh [--quick] [--runs N] [--warmups N] [--timeout S] [--scenario NAME] [--skiff PATH] [--user NAME] [--out DIR]
          --quick          3 warm-ups and 20 measured runs per system (default 5 and 200)
          --runs N         measured runs per system
          --warmups N      discarded runs per system before measuring
          --timeout S      kill a run (and its process group) still going after S seconds, count it failed (default 30)
          --scenario NAME  run-none (the only one so far)
          --skiff PATH     skiff binary (default: out/skiff at the repo root)
          --user NAME      (run.sh) measure everything as this unprivileged user, via setpriv
          --out DIR        where to write the report (default: perf/results/<UTC timestamp>)
          --repo DIR       repository root (default: found from the current directory)
        """;

    public static Options Parse(string[] args)
    {
        bool help = false, quick = false;
        int? runs = null, warmups = null;
        int timeout = 30;
        string scenario = "run-none";
        string? repo = null, skiff = null, outDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": help = true; break;
                case "--quick": quick = true; break;
                case "--runs": runs = Count(Value(), "--runs", min: 1); break;
                case "--warmups": warmups = Count(Value(), "--warmups", min: 0); break;
                case "--timeout": timeout = Count(Value(), "--timeout", min: 1); break;
                case "--scenario": scenario = Value(); break;
                case "--skiff": skiff = Path.GetFullPath(Value()); break;
                case "--repo": repo = Path.GetFullPath(Value()); break;
                case "--out": outDir = Path.GetFullPath(Value()); break;
                case "--user": throw new ArgumentException("--user is handled by perf/run.sh (it re-runs the harness via setpriv)");
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        if (!Skiff.Perf.Scenario.Names.Contains(scenario))
            throw new ArgumentException($"unknown scenario '{scenario}' (known: {string.Join(", ", Skiff.Perf.Scenario.Names)})");
        repo ??= FindRepo(Directory.GetCurrentDirectory());
        return new Options(help, quick, warmups ?? (quick ? 3 : 5), runs ?? (quick ? 20 : 200), timeout, scenario, repo,
            skiff ?? Path.Combine(repo, "out", "skiff"), skiff is not null, outDir);
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
