using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Perf;

/// <summary>skiff's figure over a peer's, at p50 (the headline) and at p90 (the slow end), from the same interleaved rounds.</summary>
internal sealed record RatioReport(string Of, string To, double P50Ratio, double? P90Ratio = null);

/// <summary>A memory scenario's figure for one system (VmRSS of a process, ...): MiB over every sample of every round.</summary>
internal sealed record FigureReport(string Name, LatencySummary MiB);

internal sealed record StormReport(int Clients, int LaunchesPerRound, int Rounds, IReadOnlyList<double> RoundWallMs,
    double? LaunchesPerSecond, int FailedLaunches, LatencySummary? LaunchMs);

internal sealed record SystemReport(
    string Name, string Role, string Command, string Status, string? Version,
    int Runs, int Failures, int WarmupFailures, int RssProbeFailures, string? FirstFailure,
    LatencySummary? WallMs, double? MeanUserMs, double? MeanSysMs, double? MeanCpuMs, double? MaxRssMiB,
    double? ThroughputMiBPerSecond, StormReport? Storm, IReadOnlyList<FigureReport>? Figures = null)
{
    /// <summary>What ratios and targets compare: the wall time, or in a memory scenario the first figure (MiB).</summary>
    [JsonIgnore]
    public LatencySummary? Primary => Figures is { Count: > 0 } f ? f[0].MiB : WallMs;
}

/// <summary>A PERF.md target and whether this run met it: "met", "not met" or "not measured".</summary>
internal sealed record TargetReport(string Text, string Verdict, string Detail);

internal sealed record ScenarioReport(
    string Name, string Title, string Kind, string Status, string? MeasuredAs, string? Environment, string? Load,
    int Warmups, int Runs, int RssRuns, string? Order,
    string? Reference, RatioReport? Headline, IReadOnlyList<RatioReport> Ratios, TargetReport? Target,
    IReadOnlyList<SystemReport> Systems, IReadOnlyList<string> Notes, long? PayloadBytes, string? Chart)
{
    public bool Measured => Status == "measured";
}

/// <summary>What one measuring phase leaves for the report phase: a scenario's summary plus every successful wall time.</summary>
internal sealed record ScenarioPart(string StartedAt, MachineInfo Machine, bool Quick, bool Partial, ScenarioReport Report,
    Dictionary<string, double[]> Samples);

internal sealed record ReportDocument(
    string Timestamp, string? Commit, bool Full, bool Quick, string Method, MachineInfo Machine,
    IReadOnlyList<ScenarioReport> Scenarios);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never, Converters = [typeof(RoundedDoubleConverter)])]
[JsonSerializable(typeof(ReportDocument))]
[JsonSerializable(typeof(ScenarioPart))]
[JsonSerializable(typeof(Baseline))]
internal sealed partial class ReportJsonContext : JsonSerializerContext
{
    /// <summary>As Default, but writing "+", "×" and "≤" as themselves: the files are read by people and diffed.</summary>
    public static ReportJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new RoundedDoubleConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>Microsecond resolution is all a timing here can claim; more digits are noise in the diff.</summary>
internal sealed class RoundedDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(Math.Round(value, 3));
}

/// <summary>Turns measured scenarios into parts, and parts into report.json, report.md and one SVG per scenario.</summary>
internal static class Report
{
    public const string Method =
        "Wall time from posix_spawn to reap; CPU (user+sys) and exit status from wait4; max RSS from extra rounds under " +
        "rss-probe (a small C parent, so the harness's own pages do not count). Warm-ups first, then rounds that run every " +
        "system once, in an order rotated every round, so drift and position cancel. Percentiles by linear interpolation " +
        "between closest ranks over successful runs. Ratios are p50 over p50 from the same interleaved rounds; lower is better for skiff. " +
        "perf/run.sh measures a copy of out/skiff taken when the run starts (/tmp/skiff-perf-bin.*), so a rebuild meanwhile changes nothing; " +
        "its version line names the commit it was built from.";

    public static ScenarioReport Summarize(Scenario scenario, string measuredAs, string? environment, string? load, int warmups, int runs, int rssRuns)
    {
        var systems = scenario.Systems.Select(s => Summarize(s, scenario)).ToList();
        var ratios = Ratios(scenario.Subject?.Name, systems);
        // A memory scenario's headline is the target's own peer; its other figures are listed per system.
        var headline = ratios.FirstOrDefault(r => r.To == scenario.Reference);
        return new ScenarioReport(scenario.Name, scenario.Definition.Title, scenario.Definition.Kind.ToString().ToLowerInvariant(),
            "measured", measuredAs, environment, load, warmups, runs, rssRuns, scenario.Order, scenario.Reference, headline, ratios,
            Evaluate(scenario.Definition.Target, ratios, systems.FirstOrDefault(s => s.Role == "subject")),
            systems, scenario.Notes, scenario.PayloadBytes, $"{scenario.Name}.svg");
    }

    /// <summary>A scenario that was not measured at all, with the reason (not available in this skiff, needs root, ...).</summary>
    public static ScenarioReport NotMeasured(ScenarioDefinition definition, string status, string measuredAs) =>
        new(definition.Name, definition.Title, definition.Kind.ToString().ToLowerInvariant(), status, measuredAs, null, null, 0, 0, 0, null,
            null, null, [], definition.Target is { } t ? new TargetReport(t.Text, "not measured", "") : null, [], [], null, null);

    private static SystemReport Summarize(SystemUnderTest s, Scenario scenario)
    {
        var ok = s.Samples.Where(r => r.Succeeded).ToList();
        double? Mean(Func<RunSample, double> f) => ok.Count > 0 ? ok.Average(f) : null;
        StormReport? storm = null;
        LatencySummary? wall = s.Wall;
        IReadOnlyList<FigureReport>? figures = null;
        if (scenario.Definition.Kind == ScenarioKind.Memory)
        {
            figures = [.. s.Figures.Where(f => f.KiB.Count > 0).Select(f => new FigureReport(f.Name, LatencySummary.Of(f.KiB.Select(k => k / 1024.0))!))];
            // Round times are how long the sampler took, not a figure.
            wall = null;
        }
        if (scenario.Definition.Kind == ScenarioKind.Storm)
        {
            var rounds = s.Rounds.Select(r => r.WallMs).ToList();
            var roundSummary = LatencySummary.Of(rounds);
            storm = new StormReport(scenario.Storm.Clients, scenario.Storm.Launches, rounds.Count, rounds,
                roundSummary is null ? null : scenario.Storm.Launches / (roundSummary.P50 / 1000.0), s.Failures, wall);
            // In a storm the figure compared is the round's wall time (a round with failures still counts: it did the work it could).
            wall = roundSummary;
        }
        double? throughput = scenario.PayloadBytes is long bytes && wall is not null ? bytes / 1048576.0 / (wall.P50 / 1000.0) : null;
        bool memory = figures is not null;
        return new SystemReport(
            s.Name, s.Role.ToString().ToLowerInvariant(), s.CommandLine, s.Unavailable ?? "measured", s.Version,
            s.Samples.Count, s.Failures, s.WarmupFailures, s.ProbeFailures, s.FirstFailure, wall,
            memory ? null : Mean(r => r.UserMs), memory ? null : Mean(r => r.SysMs), memory ? null : Mean(r => r.UserMs + r.SysMs),
            s.MaxRssKiB / 1024.0, throughput, storm, figures);
    }

    /// <summary>skiff's p50 over the floor's and each peer's, taken from the same interleaved rounds.</summary>
    private static List<RatioReport> Ratios(string? subjectName, List<SystemReport> systems)
    {
        var subject = systems.FirstOrDefault(s => s.Name == subjectName)?.Primary;
        if (subject is null)
            return [];
        return [.. systems
            .Where(s => s.Role != "subject" && s.Primary is not null)
            .Select(s => new RatioReport(subjectName!, s.Name, subject.P50 / s.Primary!.P50, subject.P90 / s.Primary!.P90))];
    }

    /// <summary>Whether the subject met the target; the report phase calls it again, so a verdict follows the catalogue's current target.</summary>
    public static TargetReport? Evaluate(Target? target, IReadOnlyList<RatioReport> ratios, SystemReport? subject)
    {
        if (target is null)
            return null;
        if (subject?.Primary is null)
            return new TargetReport(target.Text, "not measured", subject is null ? "" : subject.Status == "measured" ? "no successful run" : subject.Status);
        var details = new List<string>();
        bool met = true;
        foreach (var (peer, max) in target.Ratios)
        {
            var ratio = ratios.FirstOrDefault(r => r.To == peer);
            if (ratio is null)
                return new TargetReport(target.Text, "not measured", $"{peer} was not measured");
            met &= ratio.P50Ratio <= max;
            details.Add($"{peer} {F(ratio.P50Ratio)}× (≤ {F(max)}×)");
        }
        if (target.MinLaunchesPerSecond is double min)
        {
            double perSecond = subject.Storm?.LaunchesPerSecond ?? 0;
            met &= perSecond >= min && subject.Failures == 0;
            details.Add($"{perSecond:0} launches/s, {subject.Failures} failed");
        }
        if (target.MaxMiB is double maxMiB)
        {
            // A round that failed later (a failed run under load) still read this figure: it is named, not counted against it.
            double p50 = subject.Primary.P50;
            met &= p50 <= maxMiB;
            details.Add($"{subject.Figures?[0].Name ?? "figure"} p50 {F(p50)} MiB (≤ {F(maxMiB)} MiB)" +
                (subject.Failures > 0 ? $"; {subject.Failures} of {subject.Runs} rounds failed, see below" : ""));
        }
        if (target.Ratios.Length == 0 && target.MinLaunchesPerSecond is null && target.MaxMiB is null)
            return new TargetReport(target.Text, "not measured", "");
        return new TargetReport(target.Text, met ? "met" : "not met", string.Join(", ", details));
    }

    public static ScenarioPart Part(string startedAt, MachineInfo machine, bool quick, bool partial, ScenarioReport report, Scenario? scenario) =>
        new(startedAt, machine, quick, partial, report, scenario is null
            ? []
            : scenario.Systems.ToDictionary(s => s.Name, s => scenario.Definition.Kind == ScenarioKind.Memory
                ? s.Figures.Count > 0 ? [.. s.Figures[0].KiB.Select(k => k / 1024.0)] : []
                : s.Samples.Where(r => r.Succeeded).Select(r => r.WallMs).ToArray()));

    public static void WritePart(string dir, ScenarioPart part, Scenario? scenario)
    {
        string raw = Path.Combine(dir, "raw");
        Directory.CreateDirectory(raw);
        File.WriteAllText(Path.Combine(raw, $"{part.Report.Name}.json"), JsonSerializer.Serialize(part, ReportJsonContext.Readable.ScenarioPart));
        if (scenario is not null)
            File.WriteAllText(Path.Combine(raw, $"{part.Report.Name}.csv"), RawCsv(scenario));
    }

    public static List<ScenarioPart> ReadParts(string dir)
    {
        string raw = Path.Combine(dir, "raw");
        if (!Directory.Exists(raw))
            return [];
        var parts = Directory.EnumerateFiles(raw, "*.json")
            .Select(f => JsonSerializer.Deserialize(File.ReadAllText(f), ReportJsonContext.Readable.ScenarioPart)
                ?? throw new InvalidOperationException($"{f}: empty"))
            .ToList();
        // Catalogue order, whatever order the phases wrote them in.
        return [.. parts.OrderBy(p => Array.FindIndex(Catalogue.All, d => d.Name == p.Report.Name))];
    }

    public static void Write(string dir, ReportDocument document, IReadOnlyList<ScenarioPart> parts)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "report.json"), JsonSerializer.Serialize(document, ReportJsonContext.Readable.ReportDocument));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(document));
        foreach (var part in parts.Where(p => p.Report.Measured && p.Report.Chart is not null))
            File.WriteAllText(Path.Combine(dir, part.Report.Chart!), SvgChart.Render(part.Report, part.Samples, document));
    }

    public static string Markdown(ReportDocument document)
    {
        var md = new StringBuilder();
        md.AppendLine($"# skiff perf, {document.Timestamp}");
        md.AppendLine();
        var subjectVersion = document.Scenarios.SelectMany(s => s.Systems).FirstOrDefault(s => s.Role == "subject" && s.Version is not null)?.Version;
        md.AppendLine($"Machine: {document.Machine}.  ");
        md.AppendLine($"Commit: {document.Commit ?? "none"}; skiff {subjectVersion ?? "not measured"}. " +
            (document.Full ? "A full run." : document.Quick ? "A --quick run (few runs: a smoke test, not a figure to quote)." : "A partial run."));
        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        md.AppendLine("p50 ratios of skiff to each system, measured side by side; below 1 means skiff is faster.");
        md.AppendLine();
        md.AppendLine(SummaryHeader);
        foreach (var s in document.Scenarios)
            md.AppendLine(SummaryRow(s, $"#{s.Name}"));
        foreach (var scenario in document.Scenarios.Where(s => s.Measured))
            AppendScenario(md, scenario);
        md.AppendLine();
        md.AppendLine("## Method");
        md.AppendLine();
        md.AppendLine(document.Method);
        md.AppendLine();
        md.AppendLine("Trend of the headline ratio across the reports kept in perf/results/: ![trend](trend.svg)");
        md.AppendLine();
        md.AppendLine("Micro-benchmarks (BenchmarkDotNet, `perf/micro.sh`) are reported apart, under perf/results/micro/.");
        return md.ToString();
    }

    public const string SummaryHeader = "| scenario | skiff / reference | skiff / others | skiff p50 | target (PERF.md) | status |\n| --- | ---: | --- | ---: | --- | --- |";

    /// <summary>One scenario's row of the summary table (report.md and LATEST.md), its name linking to <paramref name="link"/>.</summary>
    public static string SummaryRow(ScenarioReport s, string link)
    {
        var subject = s.Systems.FirstOrDefault(x => x.Role == "subject");
        string headline = s.Headline is { } h ? $"**{F(h.P50Ratio)}×** {h.To}" : "";
        string others = string.Join(", ", s.Ratios.Where(r => r.To != s.Reference).Select(r => $"{F(r.P50Ratio)}× {r.To}"));
        string p50 = subject?.Primary is { } w
            ? s.Kind switch { "storm" => $"{subject.Storm?.LaunchesPerSecond:0} launches/s", "memory" => $"{F(w.P50)} MiB", _ => $"{F(w.P50)} ms" }
            : "";
        string target = s.Target is { } t ? $"{t.Text}: **{t.Verdict}**" : "";
        string status = s.Measured ? $"measured as {s.MeasuredAs}" : s.Status;
        return $"| [{s.Name}]({link}) | {headline} | {others} | {p50} | {target} | {status} |";
    }

    private static string Ratio(RatioReport r) => $"{r.Of} / {r.To} = **{F(r.P50Ratio)}×**" + (r.P90Ratio is double p90 ? $" (p90 {F(p90)}×)" : "");

    private static void AppendScenario(StringBuilder md, ScenarioReport scenario)
    {
        md.AppendLine();
        md.AppendLine($"## {scenario.Name}");
        md.AppendLine();
        md.AppendLine($"{Capital(scenario.Title)}. Measured as {scenario.MeasuredAs}" + (scenario.Environment is null ? "" : $", {scenario.Environment}") +
            $"; {scenario.Runs} {(scenario.Kind is "storm" or "memory" ? "rounds" : "runs")} per system after {scenario.Warmups} warm-up{(scenario.Kind == "storm" ? " launches" : "s")}, {scenario.Order}" +
            (scenario.Load is null ? "." : $"; {scenario.Load}."));
        md.AppendLine();

        // Ratios first: they are what survives a noisy machine.
        var subject = scenario.Systems.FirstOrDefault(s => s.Role == "subject");
        if (scenario.Ratios.Count > 0)
            md.AppendLine((scenario.Kind == "memory" ? $"p50 ratios of {subject?.Figures?[0].Name}: " : "p50 ratios: ") + string.Join(", ", scenario.Ratios.Select(Ratio)) +
                (subject?.Failures > 0 ? $" ({subject.Name}: {subject.Failures} of {subject.Runs} {(scenario.Kind switch { "storm" => "launches", "memory" => "rounds", _ => "runs" })} failed)" : ""));
        else
            md.AppendLine($"p50 ratios: none; {subject?.Status switch { null => "no subject", "measured" => $"{subject.Name} had no successful run", var why => why }}.");
        if (scenario.Target is { } target)
            md.AppendLine($"Target: {target.Text}: **{target.Verdict}**{(target.Detail.Length > 0 ? $" ({target.Detail})" : "")}.");
        md.AppendLine();

        if (scenario.Kind == "storm")
            StormTable(md, scenario);
        else if (scenario.Kind == "memory")
            MemoryTable(md, scenario);
        else
            LatencyTable(md, scenario);
        md.AppendLine();
        if (scenario.Chart is not null)
        {
            md.AppendLine($"![{scenario.Name}]({scenario.Chart})");
            md.AppendLine();
        }
        md.AppendLine("Commands:");
        md.AppendLine();
        foreach (var s in scenario.Systems)
            md.AppendLine($"- {s.Name}: `{s.Command}`");
        if (scenario.Notes.Count > 0)
        {
            md.AppendLine();
            foreach (var note in scenario.Notes.Where(n => n.Length > 0))
                md.AppendLine($"- {note}");
        }
        foreach (var s in scenario.Systems.Where(s => s.FirstFailure is not null))
        {
            md.AppendLine();
            md.AppendLine($"First failure of {s.Name} (failed: {s.Failures} measured, {s.WarmupFailures} warm-up, {s.RssProbeFailures} rss-probe runs):");
            md.AppendLine();
            md.AppendLine("```");
            md.AppendLine(s.FirstFailure);
            md.AppendLine("```");
        }
    }

    private static void LatencyTable(StringBuilder md, ScenarioReport scenario)
    {
        var reference = scenario.Systems.FirstOrDefault(s => s.Name == scenario.Reference)?.WallMs;
        bool throughput = scenario.PayloadBytes is not null;
        md.AppendLine($"| system | p50 ms | p90 ms | p99 ms | min ms | max ms | p50 / {scenario.Reference} |{(throughput ? " MiB/s at p50 |" : "")} CPU ms (user+sys) | max RSS MiB | failures | version |");
        md.AppendLine($"| --- | ---: | ---: | ---: | ---: | ---: | ---: |{(throughput ? " ---: |" : "")} ---: | ---: | ---: | --- |");
        foreach (var s in scenario.Systems)
        {
            string extra = throughput ? " |" : "";
            if (s.WallMs is not { } w)
            {
                string why = s.Status == "measured" ? $"all {s.Runs} runs failed" : s.Status;
                md.AppendLine($"| {s.Name} | {why} | | | | | |{extra} | | {(s.Status == "measured" ? s.Failures : "")} | {s.Version} |");
                continue;
            }
            string vsReference = reference is null ? "" : $"{F(w.P50 / reference.P50)}×";
            string rate = throughput ? $" {F(s.ThroughputMiBPerSecond)} |" : "";
            md.AppendLine($"| {s.Name} | {F(w.P50)} | {F(w.P90)} | {F(w.P99)} | {F(w.Min)} | {F(w.Max)} | {vsReference} |{rate} " +
                $"{F(s.MeanCpuMs)} | {(s.MaxRssMiB is null ? "n/a" : F(s.MaxRssMiB))} | {s.Failures}/{s.Runs} | {s.Version} |");
        }
    }

    private static void MemoryTable(StringBuilder md, ScenarioReport scenario)
    {
        var reference = scenario.Systems.FirstOrDefault(s => s.Name == scenario.Reference)?.Figures;
        md.AppendLine($"| system | figure | p50 MiB | p90 MiB | min MiB | max MiB | samples | p50 / {scenario.Reference} | failed rounds | version |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var s in scenario.Systems)
        {
            if (s.Figures is not { Count: > 0 } figures)
            {
                string why = s.Status == "measured" ? $"all {s.Runs} rounds failed" : s.Status;
                md.AppendLine($"| {s.Name} | {why} | | | | | | | {(s.Status == "measured" ? s.Failures : "")} | {s.Version} |");
                continue;
            }
            foreach (var f in figures)
            {
                var r = reference?.FirstOrDefault(x => x.Name == f.Name)?.MiB;
                md.AppendLine($"| {s.Name} | {f.Name} | {F(f.MiB.P50)} | {F(f.MiB.P90)} | {F(f.MiB.Min)} | {F(f.MiB.Max)} | {f.MiB.Count} | " +
                    $"{(r is null ? "" : $"{F(f.MiB.P50 / r.P50)}×")} | {s.Failures}/{s.Runs} | {s.Version} |");
            }
        }
    }

    private static void StormTable(StringBuilder md, ScenarioReport scenario)
    {
        md.AppendLine("| system | launches/s (median round) | round wall ms (each) | failed launches | launch p50 ms | launch p90 ms | launch p99 ms | CPU ms per launch | version |");
        md.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var s in scenario.Systems)
        {
            if (s.Storm is not { } storm || storm.Rounds == 0)
            {
                md.AppendLine($"| {s.Name} | {(s.Status == "measured" ? "no round finished" : s.Status)} | | | | | | | {s.Version} |");
                continue;
            }
            md.AppendLine($"| {s.Name} | {storm.LaunchesPerSecond:0} | {string.Join(", ", storm.RoundWallMs.Select(x => F(x)))} | " +
                $"{storm.FailedLaunches}/{s.Runs} | {F(storm.LaunchMs?.P50)} | {F(storm.LaunchMs?.P90)} | {F(storm.LaunchMs?.P99)} | {F(s.MeanCpuMs)} | {s.Version} |");
        }
    }

    private static string RawCsv(Scenario scenario)
    {
        if (scenario.Definition.Kind == ScenarioKind.Memory)
        {
            var figures = new StringBuilder("system,figure,sample,kib\n");
            foreach (var s in scenario.Systems)
                foreach (var (name, kib) in s.Figures)
                    for (int i = 0; i < kib.Count; i++)
                        figures.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{s.Name},{name},{i},{kib[i]:0}"));
            return figures.ToString();
        }
        var csv = new StringBuilder("system,run,wall_ms,user_ms,sys_ms,max_rss_kib,outcome\n");
        foreach (var s in scenario.Systems)
            for (int i = 0; i < s.Samples.Count; i++)
            {
                var r = s.Samples[i];
                csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"{s.Name},{i},{r.WallMs:0.000},{r.UserMs:0.000},{r.SysMs:0.000},{r.MaxRssKiB},{r.Outcome}"));
            }
        return csv.ToString();
    }

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>Two decimals below 10, one below 100, none above: enough for a noisy millisecond.</summary>
    public static string F(double? value) => value switch
    {
        null => "",
        < 10 => value.Value.ToString("0.00", CultureInfo.InvariantCulture),
        < 100 => value.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0", CultureInfo.InvariantCulture),
    };
}
