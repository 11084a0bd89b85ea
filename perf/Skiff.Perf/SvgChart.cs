using System.Globalization;
using System.Security;
using System.Text;

namespace Skiff.Perf;

/// <summary>
/// One row per system on a shared log-scale time axis: every run as a dot, box p25–p75, whiskers p5–p95,
/// a bar at p50. Log scale because the peers span the namespace floor (~2 ms) to podman (~100 ms)
/// and a single slow outlier should not flatten everything else.
/// </summary>
internal static class SvgChart
{
    private const int Width = 960, Left = 200, Right = 40, Top = 102, RowHeight = 64;
    private static readonly double[] Steps = [1, 2, 5];
    private static readonly Dictionary<string, string> Colours = new()
    {
        ["skiff"] = "#d9480f", ["skiff-runc"] = "#d9480f", ["floor"] = "#495057", ["tar"] = "#495057", ["floor+net"] = "#1c7ed6",
        ["bwrap"] = "#2f9e44", ["podman"] = "#7048e8", ["crun"] = "#e67700", ["runc"] = "#0c8599", ["skopeo+umoci"] = "#c2255c",
    };
    private static readonly string[] Fallback = ["#7048e8", "#e67700", "#0c8599", "#c2255c"];

    public static string Render(ScenarioReport report, IReadOnlyDictionary<string, double[]> samples, ReportDocument document)
    {
        double[] Of(string system) => samples.TryGetValue(system, out var v) ? v : [];
        var all = report.Systems.SelectMany(s => Of(s.Name)).ToList();
        var (lo, hi) = all.Count > 0 ? (StepAtOrBelow(all.Min() * 0.9), StepAtOrAbove(all.Max() * 1.1)) : (1.0, 10.0);
        double X(double ms) => Left + (Math.Log10(ms) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo)) * (Width - Left - Right);

        bool storm = report.Kind == "storm", memory = report.Kind == "memory";
        string unit = memory ? "MiB" : "ms";
        int rows = report.Systems.Count, plotBottom = Top + rows * RowHeight, height = plotBottom + 80;
        var svg = new StringBuilder();
        svg.AppendLine(I($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\">"));
        svg.AppendLine(I($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>"));
        string title = $"{report.Name}: {report.Title}";
        // The full title is in report.md; the chart's must fit its width.
        if (title.Length > 96)
            title = title[..95].TrimEnd() + "…";
        Text(svg, 20, 30, title, title.Length > 80 ? 15 : 18, weight: "bold");
        var m = document.Machine;
        Text(svg, 20, 52, $"{document.Timestamp} · {m.Cores} cores, {m.CpuModel}, kernel {m.Kernel}, cgroup {m.Cgroup}, {m.MemoryGiB} GiB", 12, "#555");
        Text(svg, 20, 68, $"measured as {report.MeasuredAs} · " + (storm
            ? $"{report.Runs} round{(report.Runs == 1 ? "" : "s")} per system, launches from parallel clients"
            : memory ? $"{report.Runs} rounds per system after {report.Warmups} warm-ups, rotated"
            : $"{report.Runs} runs each after {report.Warmups} warm-ups, interleaved, order rotated"), 12, "#555");
        if (report.Load is not null)
            Text(svg, 20, 84, report.Load, 12, "#555");

        for (int i = 0; i < rows; i += 2)
            svg.AppendLine(I($"<rect x=\"0\" y=\"{Top + i * RowHeight}\" width=\"{Width}\" height=\"{RowHeight}\" fill=\"#f4f5f7\"/>"));

        // Grid: a line at every 1..9 × 10^k, labelled at 1, 2, 5.
        for (double decade = Math.Pow(10, Math.Floor(Math.Log10(lo))); decade <= hi * 1.001; decade *= 10)
            for (int k = 1; k <= 9; k++)
            {
                double v = decade * k;
                if (v < lo * 0.999 || v > hi * 1.001)
                    continue;
                bool major = k is 1 or 2 or 5;
                svg.AppendLine(I($"<line x1=\"{X(v):0.#}\" y1=\"{Top}\" x2=\"{X(v):0.#}\" y2=\"{plotBottom}\" stroke=\"{(major ? "#ccc" : "#eee")}\"/>"));
                if (major)
                    Text(svg, X(v), plotBottom + 18, v.ToString("0.###", CultureInfo.InvariantCulture), 12, anchor: "middle");
            }
        svg.AppendLine(I($"<line x1=\"{Left}\" y1=\"{plotBottom}\" x2=\"{Width - Right}\" y2=\"{plotBottom}\" stroke=\"#333\"/>"));
        Text(svg, (Left + Width - Right) / 2.0, plotBottom + 40,
            storm ? "wall time per launch under load, spawn to reap (ms, log scale)"
            : memory ? $"{report.Systems.FirstOrDefault(s => s.Role == "subject")?.Figures?[0].Name ?? "resident memory"} (MiB, log scale)"
            : "wall time per run, spawn to reap (ms, log scale)", 13, anchor: "middle");
        Text(svg, 20, plotBottom + 66, $"dots: every successful {(storm ? "launch" : memory ? "sample" : "run")} · box: p25–p75 · whiskers: p5–p95 · bar and label: p50 · dashed: {report.Reference}'s p50", 12, "#555");

        // The reference's p50 across all rows: the ratios in the table, made visible.
        if (!storm && report.Systems.FirstOrDefault(s => s.Name == report.Reference)?.Primary is { } reference)
        {
            svg.AppendLine(I($"<line x1=\"{X(reference.P50):0.#}\" y1=\"{Top}\" x2=\"{X(reference.P50):0.#}\" y2=\"{plotBottom}\" stroke=\"#495057\" stroke-dasharray=\"4 4\"/>"));
            Text(svg, X(reference.P50) + 4, Top - 6, $"{report.Reference} p50", 11, "#495057");
        }

        for (int i = 0; i < rows; i++)
        {
            var summary = report.Systems[i];
            int top = Top + i * RowHeight;
            double mid = top + RowHeight / 2.0;
            // Variants (skiff --network none, docker→skiff-serve, podman service) take their engine's colour.
            string colour = Colours.TryGetValue(summary.Name, out var c) ? c
                : summary.Name.Contains("skiff", StringComparison.Ordinal) ? Colours["skiff"]
                : summary.Name.Contains("podman", StringComparison.Ordinal) ? Colours["podman"]
                : Fallback[i % Fallback.Length];
            Text(svg, 20, mid - 4, summary.Name, 14, weight: "bold");

            var w = storm ? summary.Storm?.LaunchMs : summary.Primary;
            if (w is null)
            {
                string why = summary.Status == "measured" ? $"all {summary.Runs} runs failed" : summary.Status;
                Text(svg, 20, mid + 14, summary.Status == "measured" ? "no successful run" : "not measured", 11, "#888");
                Text(svg, Left + 10, mid + 5, why, 13, "#888", style: "italic");
                continue;
            }
            string failed = summary.Failures > 0 ? $" · {summary.Failures} failed" : "";
            string roleNote = summary.Role == "floor" ? " · the floor" : summary.Name == report.Reference ? " · reference" : "";
            string rate = storm && summary.Storm?.LaunchesPerSecond is double perSecond ? $" · {perSecond:0}/s" : "";
            Text(svg, 20, mid + 14, $"n={w.Count}{roleNote}{rate}{failed}", 11, summary.Failures > 0 ? "#c92a2a" : "#666");

            int n = 0;
            foreach (double ms in Of(summary.Name))
            {
                // Golden-ratio jitter: deterministic, evenly spread, so the chart does not change between renders.
                double jitter = ((n++ * 0.6180339887) % 1.0 - 0.5) * (RowHeight - 36);
                svg.AppendLine(I($"<circle cx=\"{X(ms):0.#}\" cy=\"{mid + jitter:0.#}\" r=\"1.8\" fill=\"{colour}\" fill-opacity=\"0.35\"/>"));
            }
            svg.AppendLine(I($"<line x1=\"{X(w.P5):0.#}\" y1=\"{mid}\" x2=\"{X(w.P95):0.#}\" y2=\"{mid}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>"));
            foreach (double end in new[] { w.P5, w.P95 })
                svg.AppendLine(I($"<line x1=\"{X(end):0.#}\" y1=\"{mid - 6}\" x2=\"{X(end):0.#}\" y2=\"{mid + 6}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>"));
            svg.AppendLine(I($"<rect x=\"{X(w.P25):0.#}\" y=\"{mid - 11}\" width=\"{Math.Max(1, X(w.P75) - X(w.P25)):0.#}\" height=\"22\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\" stroke-width=\"1.5\"/>"));
            svg.AppendLine(I($"<line x1=\"{X(w.P50):0.#}\" y1=\"{mid - 15}\" x2=\"{X(w.P50):0.#}\" y2=\"{mid + 15}\" stroke=\"{colour}\" stroke-width=\"3.5\"/>"));
            Text(svg, X(w.P50), mid - 19, $"p50 {Report.F(w.P50)} {unit}", 11, colour, anchor: "middle", weight: "bold");
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Text(StringBuilder svg, double x, double y, string text, int size, string fill = "#222",
        string anchor = "start", string weight = "normal", string style = "normal") =>
        svg.AppendLine(I($"<text x=\"{x:0.#}\" y=\"{y:0.#}\" font-size=\"{size}\" fill=\"{fill}\" text-anchor=\"{anchor}\" font-weight=\"{weight}\" font-style=\"{style}\">{SecurityElement.Escape(text)}</text>"));

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The largest of 1, 2, 5 × 10^k not above <paramref name="v"/>, so axis ends land on labels.</summary>
    private static double StepAtOrBelow(double v)
    {
        double decade = Math.Pow(10, Math.Floor(Math.Log10(v)));
        return Steps.Select(s => s * decade).Where(s => s <= v).DefaultIfEmpty(decade).Max();
    }

    private static double StepAtOrAbove(double v)
    {
        double decade = Math.Pow(10, Math.Floor(Math.Log10(v)));
        return Steps.Append(10).Select(s => s * decade).Where(s => s >= v).Min();
    }
}
