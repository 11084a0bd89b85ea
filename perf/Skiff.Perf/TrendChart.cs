using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;

namespace Skiff.Perf;

/// <summary>
/// The headline ratio of every scenario (skiff's p50 over its reference's) across the full runs kept in
/// perf/results/, oldest first. Read with JsonDocument so older report.json shapes still count: before
/// headlines existed, the ratio to "floor" was the headline.
/// </summary>
internal static class TrendChart
{
    private const int Width = 960, Height = 440, Left = 70, Right = 190, Top = 60, Bottom = 90;
    private static readonly string[] Palette = ["#d9480f", "#1c7ed6", "#2f9e44", "#7048e8", "#e67700", "#0c8599", "#c2255c", "#495057"];

    internal sealed record Point(string Run, string Timestamp, string Scenario, string Reference, double Ratio);

    public static List<Point> Collect(string resultsDir)
    {
        var points = new List<Point>();
        if (!Directory.Exists(resultsDir))
            return points;
        foreach (var dir in Directory.EnumerateDirectories(resultsDir).Order(StringComparer.Ordinal))
        {
            string file = Path.Combine(dir, "report.json");
            if (!File.Exists(file))
                continue;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                var root = doc.RootElement;
                // Quick and partial runs are smoke tests: only full runs make the trend.
                if (root.TryGetProperty("full", out var full) && full.ValueKind == JsonValueKind.False)
                    continue;
                if (!root.TryGetProperty("full", out _) && !(root.TryGetProperty("settings", out var settings)
                        && settings.TryGetProperty("runs", out var runs) && runs.GetInt32() >= 100))
                    continue;
                string timestamp = root.GetProperty("timestamp").GetString() ?? Path.GetFileName(dir);
                foreach (var scenario in root.GetProperty("scenarios").EnumerateArray())
                {
                    string name = scenario.GetProperty("name").GetString() ?? "?";
                    if (scenario.TryGetProperty("headline", out var h) && h.ValueKind == JsonValueKind.Object)
                        points.Add(new Point(Path.GetFileName(dir), timestamp, name, h.GetProperty("to").GetString() ?? "?", h.GetProperty("p50Ratio").GetDouble()));
                    else if (!scenario.TryGetProperty("headline", out _))
                        foreach (var r in scenario.GetProperty("ratios").EnumerateArray())
                            if (r.GetProperty("to").GetString() == "floor")
                                points.Add(new Point(Path.GetFileName(dir), timestamp, name, "floor", r.GetProperty("p50Ratio").GetDouble()));
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A report from an older or broken harness: left out of the trend rather than failing the run.
                Console.Error.WriteLine($"trend: skipping {file}: {e.Message}");
            }
        }
        return points;
    }

    public static string Render(List<Point> points)
    {
        var runs = points.Select(p => (p.Run, p.Timestamp)).Distinct().OrderBy(r => r.Run, StringComparer.Ordinal).ToList();
        var scenarios = points.Select(p => p.Scenario).Distinct().ToList();
        double max = points.Count == 0 ? 4 : Math.Max(1.5, points.Max(p => p.Ratio) * 1.15);
        double step = NiceStep(max / 6);
        max = Math.Ceiling(max / step) * step;
        int plotRight = Width - Right, plotBottom = Height - Bottom;
        double X(int i) => runs.Count <= 1 ? (Left + plotRight) / 2.0 : Left + 20 + i * (plotRight - Left - 40.0) / (runs.Count - 1);
        double Y(double v) => plotBottom - v / max * (plotBottom - Top);

        var svg = new StringBuilder();
        svg.AppendLine(I($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\">"));
        svg.AppendLine(I($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>"));
        Text(svg, 20, 30, "skiff perf trend: p50 of skiff over each scenario's reference (lower is better)", 17, weight: "bold");
        Text(svg, 20, 50, $"{runs.Count} full run{(runs.Count == 1 ? "" : "s")} in perf/results/ · same-run ratios, so machines' speed cancels · 1.0 = as fast as the reference", 12, "#555");

        for (double v = 0; v <= max + 1e-9; v += step)
        {
            svg.AppendLine(I($"<line x1=\"{Left}\" y1=\"{Y(v):0.#}\" x2=\"{plotRight}\" y2=\"{Y(v):0.#}\" stroke=\"{(Math.Abs(v - 1) < 1e-9 ? "#888" : "#e5e5e5")}\"{(Math.Abs(v - 1) < 1e-9 ? " stroke-dasharray=\"5 4\"" : "")}/>"));
            Text(svg, Left - 8, Y(v) + 4, v.ToString("0.##", CultureInfo.InvariantCulture) + "×", 12, anchor: "end");
        }
        svg.AppendLine(I($"<line x1=\"{Left}\" y1=\"{plotBottom}\" x2=\"{plotRight}\" y2=\"{plotBottom}\" stroke=\"#333\"/>"));
        for (int i = 0; i < runs.Count; i++)
        {
            string label = runs[i].Timestamp.Length >= 16 ? runs[i].Timestamp[..16].Replace('T', ' ') : runs[i].Timestamp;
            svg.AppendLine(I($"<text x=\"{X(i):0.#}\" y=\"{plotBottom + 16}\" font-size=\"11\" fill=\"#222\" text-anchor=\"end\" transform=\"rotate(-30 {X(i):0.#} {plotBottom + 16})\">{SecurityElement.Escape(label)}</text>"));
        }
        if (points.Count == 0)
            Text(svg, (Left + plotRight) / 2.0, (Top + plotBottom) / 2.0, "no full runs in perf/results/ yet", 14, "#888", anchor: "middle");

        // Labels at each series' last point, pushed apart where values are close so none hides another.
        var labels = new Dictionary<string, double>(StringComparer.Ordinal);
        double previous = double.NegativeInfinity;
        foreach (var (name, y) in scenarios
                     .Select(name => (name, last: points.Where(p => p.Scenario == name).MaxBy(p => p.Run, StringComparer.Ordinal)))
                     .Where(x => x.last is not null)
                     .Select(x => (x.name, y: Y(x.last!.Ratio) - 6))
                     .OrderBy(x => x.y))
        {
            previous = Math.Max(y, previous + 13);
            labels[name] = previous;
        }

        for (int k = 0; k < scenarios.Count; k++)
        {
            string colour = Palette[k % Palette.Length];
            var series = runs.Select((r, i) => (i, p: points.FirstOrDefault(p => p.Run == r.Run && p.Scenario == scenarios[k]))).Where(x => x.p is not null).ToList();
            if (series.Count > 1)
                svg.AppendLine($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{string.Join(' ', series.Select(x => I($"{X(x.i):0.#},{Y(x.p!.Ratio):0.#}")))}\"/>");
            foreach (var (i, p) in series)
            {
                svg.AppendLine(I($"<circle cx=\"{X(i):0.#}\" cy=\"{Y(p!.Ratio):0.#}\" r=\"4\" fill=\"{colour}\"/>"));
                if (i == series[^1].i)
                    Text(svg, X(i) + 7, labels[scenarios[k]], $"{Report.F(p.Ratio)}×", 11, colour, weight: "bold");
            }
            var last = series.Count > 0 ? series[^1].p : null;
            double ly = Top + 10 + k * 20;
            svg.AppendLine(I($"<rect x=\"{plotRight + 16}\" y=\"{ly - 9}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>"));
            Text(svg, plotRight + 34, ly + 1, $"{scenarios[k]} / {last?.Reference}", 12);
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static double NiceStep(double raw)
    {
        double decade = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (double m in new[] { 1, 2, 2.5, 5, 10 })
            if (m * decade >= raw)
                return m * decade;
        return 10 * decade;
    }

    private static void Text(StringBuilder svg, double x, double y, string text, int size, string fill = "#222", string anchor = "start", string weight = "normal") =>
        svg.AppendLine(I($"<text x=\"{x:0.#}\" y=\"{y:0.#}\" font-size=\"{size}\" fill=\"{fill}\" text-anchor=\"{anchor}\" font-weight=\"{weight}\">{SecurityElement.Escape(text)}</text>"));

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
