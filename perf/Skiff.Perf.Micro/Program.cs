// Micro-benchmarks (BenchmarkDotNet, in-process) and the EventPipe counters collector; perf/micro.sh drives both.
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Skiff.Perf.Micro;

string command = args.Length > 0 ? args[0] : "--help";
try
{
    return command switch
    {
        "bench" => Bench(args[1..]),
        "counters" => Counters.Run(args[1..]),
        "workload" => Counters.Workload(args[1..]),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"skiff-perf-micro: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Skiff.Perf.Micro bench --artifacts DIR [--quick] [--filter PATTERN]
               Skiff.Perf.Micro counters (--pid PID | --demo) [--seconds N] [--out FILE]
        """);
    return 2;
}

static int Bench(string[] args)
{
    string? artifacts = null, filter = null;
    bool quick = false;
    for (int i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--artifacts": artifacts = args[++i]; break;
            case "--filter": filter = args[++i]; break;
            case "--quick": quick = true; break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    if (artifacts is null)
        throw new ArgumentException("--artifacts DIR is required");

    // In-process: no generated project per benchmark (the repo's aot.props would not suit one), and far quicker.
    // The default job's up to 100 iterations took 11 minutes for all classes here; 30 keep the error bars narrow enough.
    var job = (quick ? Job.ShortRun : Job.Default.WithMaxIterationCount(30)).WithToolchain(InProcessEmitToolchain.Instance);
    var config = ManualConfig.CreateEmpty()
        .AddJob(job)
        .AddColumnProvider(DefaultColumnProviders.Instance)
        .AddLogger(ConsoleLogger.Default)
        .AddExporter(MarkdownExporter.GitHub)
        .WithArtifactsPath(artifacts)
        .WithOptions(ConfigOptions.DisableLogFile);
    Type[] all = [typeof(CommandLineParsing), typeof(LaunchPlans), typeof(OverlayOptions), typeof(SeccompCompilation), typeof(DockerDefaultSeccomp), typeof(LaunchRecordLoading), typeof(DigestVerification), typeof(TarHeaders)];
    var chosen = filter is null ? all : [.. all.Where(t => t.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))];
    if (chosen.Length == 0)
        throw new ArgumentException($"no benchmark class matches '{filter}' (known: {string.Join(", ", all.Select(t => t.Name))})");
    Summary[] summaries = BenchmarkRunner.Run(chosen, config);
    return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
}
