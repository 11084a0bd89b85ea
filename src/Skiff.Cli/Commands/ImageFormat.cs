using System.Globalization;

namespace Skiff.Cli.Commands;

/// <summary>Docker's human forms: sizes with 3 significant digits in decimal units, durations as "2 hours ago".</summary>
public static class ImageFormat
{
    private static readonly string[] Units = ["B", "kB", "MB", "GB", "TB", "PB"];

    public static string Size(long bytes)
    {
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < Units.Length - 1)
        {
            v /= 1000;
            u++;
        }
        return v.ToString("G3", CultureInfo.InvariantCulture) + Units[u];
    }

    public static string Ago(DateTimeOffset? when, DateTimeOffset now)
    {
        if (when is null)
        {
            return "N/A";
        }
        var d = now - when.Value;
        double s = d.TotalSeconds;
        string text = s < 1 ? "Less than a second"
            : s < 60 ? Plural((int)s, "second")
            : d.TotalMinutes < 2 ? "About a minute"
            : d.TotalMinutes < 60 ? Plural((int)d.TotalMinutes, "minute")
            : d.TotalHours < 2 ? "About an hour"
            : d.TotalHours < 48 ? Plural((int)d.TotalHours, "hour")
            : d.TotalDays < 14 ? Plural((int)d.TotalDays, "day")
            : d.TotalDays < 60 ? Plural((int)(d.TotalDays / 7), "week")
            : d.TotalDays < 365 * 2 ? Plural((int)(d.TotalDays / 30), "month")
            : Plural((int)(d.TotalDays / 365), "year");
        return text + " ago";
    }

    private static string Plural(int n, string unit) => n.ToString(CultureInfo.InvariantCulture) + " " + unit + (n == 1 ? "" : "s");

    public static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>Columns padded as Go's tabwriter pads docker's tables: width + 3.</summary>
    public static void Table(TextWriter w, IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var widths = new int[rows[0].Length];
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                widths[i] = Math.Max(widths[i], r[i].Length);
            }
        }
        var sb = new System.Text.StringBuilder();
        foreach (var r in rows)
        {
            sb.Clear();
            for (int i = 0; i < r.Length; i++)
            {
                sb.Append(i == r.Length - 1 ? r[i] : r[i].PadRight(widths[i] + 3));
            }
            w.WriteLine(sb.ToString().TrimEnd());
        }
    }
}
