using System.Text;

namespace Skiff.Perf;

/// <summary>
/// perf/results/LATEST.md, which the README links: the newest full report with its summary table.
/// Written after every full run; a full run that is not committed should be deleted, and LATEST.md
/// restored with git, so that it always names a committed report.
/// </summary>
internal static class Latest
{
    public static void Write(string results, string runDir, ReportDocument document)
    {
        string run = Path.GetFileName(runDir);
        string markdown = Report.Markdown(document);
        int start = markdown.IndexOf("## Summary", StringComparison.Ordinal);
        int end = markdown.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string summary = markdown[start..end].Replace("## Summary", "").Trim();
        // The summary links its scenarios within report.md; from here they point into the run's report.
        summary = summary.Replace("](#", $"]({run}/report.md#", StringComparison.Ordinal);

        var md = new StringBuilder();
        md.AppendLine("# Latest perf report");
        md.AppendLine();
        md.AppendLine($"[{run}/report.md]({run}/report.md): {document.Timestamp}, commit {document.Commit ?? "none"}, {document.Machine}.");
        md.AppendLine();
        md.AppendLine(summary);
        md.AppendLine();
        md.AppendLine("![trend](trend.svg)");
        md.AppendLine();
        md.AppendLine("How these are made and checked: `perf/run.sh --help`; the regression check (`perf/run.sh --check`) compares with baseline.json.");
        File.WriteAllText(Path.Combine(results, "LATEST.md"), md.ToString());
    }
}
