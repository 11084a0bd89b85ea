using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Perf;

internal sealed record RunSettings(int Warmups, int Runs, int RssRuns, string Order, string Percentiles, string MaxRss);

internal sealed record RatioReport(string Of, string To, double P50Ratio);

internal sealed record SystemReport(
    string Name, string Role, string Command, string Status, string? Version,
    int Runs, int Failures, int WarmupFailures, int RssProbeFailures, string? FirstFailure,
    LatencySummary? WallMs, double? MeanUserMs, double? MeanSysMs, double? MeanCpuMs, double? MaxRssMiB);

internal sealed record ScenarioReport(
    string Name, string Title, string Rootfs, IReadOnlyList<RatioReport> Ratios, IReadOnlyList<SystemReport> Systems, string Chart);

internal sealed record ReportDocument(
    string Timestamp, string? Commit, RunSettings Settings, MachineInfo Machine, IReadOnlyList<ScenarioReport> Scenarios);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never, Converters = [typeof(RoundedDoubleConverter)])]
[JsonSerializable(typeof(ReportDocument))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>Microsecond resolution is all a timing here can claim; more digits are noise in the diff.</summary>
internal sealed class RoundedDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(Math.Round(value, 3));
}

/// <summary>Turns measured scenarios into report.json, report.md, one SVG per scenario and raw CSVs.</summary>
internal static class Report
{
    public static ScenarioReport Summarize(Scenario scenario, string rootfs)
    {
        var systems = scenario.Systems.Select(Summarize).ToList();
        return new ScenarioReport(scenario.Name, scenario.Title, rootfs, Ratios(scenario), systems, $"{scenario.Name}.svg");
    }

    private static SystemReport Summarize(SystemUnderTest s)
    {
        var ok = s.Samples.Where(r => r.Succeeded).ToList();
        double? Mean(Func<RunSample, double> f) => ok.Count > 0 ? ok.Average(f) : null;
        return new SystemReport(
            s.Name, s.Role.ToString().ToLowerInvariant(), s.CommandLine, s.Unavailable ?? "measured", s.Version,
            s.Samples.Count, s.Failures, s.WarmupFailures, s.ProbeFailures, s.FirstFailure, s.Wall,
            Mean(r => r.UserMs), Mean(r => r.SysMs), Mean(r => r.UserMs + r.SysMs),
            s.MaxRssKiB / 1024.0);
    }

    /// <summary>skiff's p50 over the floor's and each peer's, taken from the same interleaved rounds.</summary>
    private static List<RatioReport> Ratios(Scenario scenario)
    {
        var subject = scenario.Subject?.Wall;
        if (subject is null)
            return [];
        return [.. scenario.Systems
            .Where(s => s.Role != Role.Subject && s.Wall is not null)
            .Select(s => new RatioReport(scenario.Subject!.Name, s.Name, subject.P50 / s.Wall!.P50))];
    }

    public static void Write(string dir, ReportDocument document, IReadOnlyList<Scenario> scenarios)
    {
        Directory.CreateDirectory(Path.Combine(dir, "raw"));
        File.WriteAllText(Path.Combine(dir, "report.json"), JsonSerializer.Serialize(document, ReportJsonContext.Default.ReportDocument));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(document));
        foreach (var (scenario, report) in scenarios.Zip(document.Scenarios))
        {
            File.WriteAllText(Path.Combine(dir, report.Chart), SvgChart.Render(scenario, report, document));
            File.WriteAllText(Path.Combine(dir, "raw", $"{scenario.Name}.csv"), RawCsv(scenario));
        }
    }

    public static string Markdown(ReportDocument document)
    {
        var md = new StringBuilder();
        md.AppendLine($"# skiff perf, {document.Timestamp}");
        md.AppendLine();
        md.AppendLine($"Machine: {document.Machine}.  ");
        md.AppendLine($"Commit: {document.Commit ?? "none"}. {document.Settings.Runs} runs per system after " +
            $"{document.Settings.Warmups} warm-ups, {document.Settings.Order}; {document.Settings.Percentiles}. " +
            $"Max RSS: {document.Settings.MaxRss}.");
        foreach (var scenario in document.Scenarios)
            AppendScenario(md, scenario);
        return md.ToString();
    }

    private static void AppendScenario(StringBuilder md, ScenarioReport scenario)
    {
        md.AppendLine();
        md.AppendLine($"## {scenario.Name}: {scenario.Title}");
        md.AppendLine();

        // Ratios first: they are what survives a noisy machine.
        var subject = scenario.Systems.FirstOrDefault(s => s.Role == "subject");
        if (scenario.Ratios.Count > 0)
            md.AppendLine("p50 ratios: " + string.Join(", ", scenario.Ratios.Select(r => $"{r.Of} / {r.To} = **{F(r.P50Ratio)}×**")) +
                (subject?.Failures > 0 ? $" ({subject.Name}: {subject.Failures} of {subject.Runs} runs failed)" : ""));
        else
            md.AppendLine($"p50 ratios: none; {subject?.Status switch { null => "no subject", "measured" => $"{subject.Name} had no successful run", var why => why }}.");
        md.AppendLine();

        var floor = scenario.Systems.FirstOrDefault(s => s.Role == "floor")?.WallMs;
        md.AppendLine("| system | p50 ms | p90 ms | p99 ms | min ms | max ms | p50 / floor | CPU ms (user+sys) | max RSS MiB | failures | version |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var s in scenario.Systems)
        {
            if (s.WallMs is not { } w)
            {
                string why = s.Status == "measured" ? $"all {s.Runs} runs failed" : s.Status;
                md.AppendLine($"| {s.Name} | {why} | | | | | | | | {(s.Status == "measured" ? s.Failures : "")} | {s.Version} |");
                continue;
            }
            string vsFloor = floor is null ? "" : $"{F(w.P50 / floor.P50)}×";
            md.AppendLine($"| {s.Name} | {F(w.P50)} | {F(w.P90)} | {F(w.P99)} | {F(w.Min)} | {F(w.Max)} | {vsFloor} | " +
                $"{F(s.MeanCpuMs)} | {(s.MaxRssMiB is null ? "n/a" : F(s.MaxRssMiB))} | {s.Failures}/{s.Runs} | {s.Version} |");
        }
        md.AppendLine();
        md.AppendLine($"![{scenario.Name}]({scenario.Chart})");
        md.AppendLine();
        md.AppendLine($"Commands (rootfs `{scenario.Rootfs}`):");
        md.AppendLine();
        foreach (var s in scenario.Systems)
            md.AppendLine($"- {s.Name}: `{s.Command}`");
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

    private static string RawCsv(Scenario scenario)
    {
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

    /// <summary>Two decimals below 10, one below 100, none above: enough for a noisy millisecond.</summary>
    public static string F(double? value) => value switch
    {
        null => "",
        < 10 => value.Value.ToString("0.00", CultureInfo.InvariantCulture),
        < 100 => value.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0", CultureInfo.InvariantCulture),
    };
}
