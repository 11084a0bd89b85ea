using System.Text;
using System.Text.Json;

namespace Skiff.Perf;

internal sealed record BaselineScenario(string Name, string Reference, double Ratio, IReadOnlyList<RatioReport> Ratios);

/// <summary>perf/results/baseline.json: the headline ratios of one committed full run, which --check compares against.</summary>
internal sealed record Baseline(string Source, string Timestamp, string? Commit, string Machine, IReadOnlyList<BaselineScenario> Scenarios);

/// <summary>
/// The regression check. Only ratios are compared (skiff's p50 over its reference's, measured side by side),
/// never absolute times: those move with the machine, ratios much less.
/// </summary>
internal static class RegressionCheck
{
    public const double Tolerance = 0.20;

    public static Baseline From(ReportDocument document, string source) =>
        new(source, document.Timestamp, document.Commit, document.Machine.ToString(),
            [.. document.Scenarios.Where(s => s.Headline is not null)
                .Select(s => new BaselineScenario(s.Name, s.Reference!, s.Headline!.P50Ratio, s.Ratios))]);

    public static void Save(string path, Baseline baseline) =>
        File.WriteAllText(path, JsonSerializer.Serialize(baseline, ReportJsonContext.Readable.Baseline));

    public static Baseline? Load(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), ReportJsonContext.Readable.Baseline) : null;

    /// <summary>Markdown with a verdict per scenario; <paramref name="worse"/> names those more than 20% worse.</summary>
    public static string Compare(Baseline baseline, ReportDocument today, out List<string> worse)
    {
        worse = [];
        var md = new StringBuilder();
        md.AppendLine($"# perf check, {today.Timestamp}");
        md.AppendLine();
        md.AppendLine($"Against {baseline.Source} ({baseline.Timestamp}, commit {baseline.Commit ?? "none"}): p50 ratio of skiff to each " +
            $"scenario's reference, worse when more than 20% above the baseline's.");
        if (baseline.Machine != today.Machine.ToString())
            md.AppendLine($"Note: the baseline came from another machine ({baseline.Machine}); ratios travel better than times, but not perfectly.");
        md.AppendLine();
        md.AppendLine("| scenario | baseline | today | change | verdict |");
        md.AppendLine("| --- | ---: | ---: | ---: | --- |");
        foreach (var b in baseline.Scenarios)
        {
            var s = today.Scenarios.FirstOrDefault(x => x.Name == b.Name);
            var ratio = s?.Ratios.FirstOrDefault(r => r.To == b.Reference);
            if (ratio is null)
            {
                md.AppendLine($"| {b.Name} | {Report.F(b.Ratio)}× {b.Reference} | | | not measured today{(s is null ? "" : $" ({s.Status})")} |");
                continue;
            }
            double change = ratio.P50Ratio / b.Ratio - 1;
            string verdict = change > Tolerance ? "**worse**" : change < -Tolerance ? "better" : "same (within 20%)";
            if (change > Tolerance)
                worse.Add(b.Name);
            md.AppendLine($"| {b.Name} | {Report.F(b.Ratio)}× {b.Reference} | {Report.F(ratio.P50Ratio)}× | {change:+0%;-0%;0%} | {verdict} |");
        }
        foreach (var s in today.Scenarios.Where(s => s.Headline is not null && baseline.Scenarios.All(b => b.Name != s.Name)))
            md.AppendLine($"| {s.Name} | | {Report.F(s.Headline!.P50Ratio)}× {s.Reference} | | no baseline yet (perf/run.sh --baseline) |");
        md.AppendLine();
        md.AppendLine(worse.Count == 0 ? "No scenario is more than 20% worse." : $"More than 20% worse: {string.Join(", ", worse)}.");
        return md.ToString();
    }
}
