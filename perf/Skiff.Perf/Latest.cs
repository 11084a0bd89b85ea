using System.Text;
using System.Text.Json;

namespace Skiff.Perf;

/// <summary>
/// perf/results/LATEST.md, which the README links: the newest figure of every scenario, each from the newest run
/// (full or partial, never --quick) that measured it, and for a scenario no run measured, its row in the newest full
/// run (which says why). Written after every full or partial run into perf/results; a run that is not committed
/// should be deleted and LATEST.md restored with git, so that it always names committed reports.
/// </summary>
internal static class Latest
{
    public static void Write(string results, string runDir, ReportDocument document)
    {
        var runs = new List<(string Run, ReportDocument Doc)>();
        foreach (var dir in Directory.EnumerateDirectories(results).Order(StringComparer.Ordinal))
        {
            string file = Path.Combine(dir, "report.json");
            if (Path.GetFullPath(dir) == Path.GetFullPath(runDir) || !File.Exists(file))
                continue;
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), ReportJsonContext.Readable.ReportDocument) is { Quick: false } doc)
                    runs.Add((Path.GetFileName(dir), doc));
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                // A report from an older harness: not a source for LATEST.md.
            }
        }
        runs.Add((Path.GetFileName(runDir), document));
        runs.Sort((a, b) => string.CompareOrdinal(a.Run, b.Run));
        var newestFull = runs.LastOrDefault(r => r.Doc.Full);

        var rows = new List<string>();
        var used = new SortedSet<string>(StringComparer.Ordinal);
        var names = Catalogue.Names.Concat(runs.SelectMany(r => r.Doc.Scenarios.Select(s => s.Name))).Distinct();
        foreach (var name in names)
        {
            var source = runs.LastOrDefault(r => r.Doc.Scenarios.Any(s => s.Name == name && s.Measured));
            if (source.Doc is null)
                source = newestFull.Doc is not null && newestFull.Doc.Scenarios.Any(s => s.Name == name)
                    ? newestFull
                    : runs.LastOrDefault(r => r.Doc.Scenarios.Any(s => s.Name == name));
            if (source.Doc is null)
                continue;
            used.Add(source.Run);
            rows.Add(Report.SummaryRow(source.Doc.Scenarios.First(s => s.Name == name), $"{source.Run}/report.md#{name}"));
        }

        var md = new StringBuilder();
        md.AppendLine("# Latest perf report");
        md.AppendLine();
        md.AppendLine("Each scenario's newest figures, from the newest full or partial run that measured it:");
        md.AppendLine();
        foreach (var run in runs.Where(r => used.Contains(r.Run)))
            md.AppendLine($"- [{run.Run}/report.md]({run.Run}/report.md): {run.Doc.Timestamp}, commit {run.Doc.Commit ?? "none"}, " +
                $"{(run.Doc.Full ? "a full run" : "a partial run")}, {run.Doc.Machine}.");
        md.AppendLine();
        md.AppendLine("p50 ratios of skiff to each system, measured side by side in that run; below 1 means skiff is faster (or smaller).");
        md.AppendLine();
        md.AppendLine(Report.SummaryHeader);
        foreach (var row in rows)
            md.AppendLine(row);
        md.AppendLine();
        md.AppendLine("![trend](trend.svg)");
        md.AppendLine();
        md.AppendLine("How these are made and checked: `perf/run.sh --help`; the regression check (`perf/run.sh --check`) compares with baseline.json.");
        File.WriteAllText(Path.Combine(results, "LATEST.md"), md.ToString());
    }
}
