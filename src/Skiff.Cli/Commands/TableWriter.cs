using System.Text;

namespace Skiff.Cli.Commands;

/// <summary>
/// Go's text/tabwriter as docker's tables use it (minwidth 10, padding 3, spaces): cells
/// end at tabs, each column of consecutive lines is as wide as its widest cell plus three
/// and never narrower than ten, and a line's last cell is written as it is.
/// </summary>
public static class TableWriter
{
    private const int MinWidth = 10, Padding = 3;

    public static string Format(string text)
    {
        var lines = new List<string[]>();
        foreach (var line in text.Split('\n'))
        {
            lines.Add(line.Split('\t'));
        }
        // The text after the last newline is a line only if it is not empty.
        if (lines.Count > 0 && lines[^1] is [""])
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var sb = new StringBuilder();
        var widths = new List<int>();
        Block(lines, 0, lines.Count, widths, sb);
        return sb.ToString();
    }

    /// <summary>Go's tabwriter.format: a column block is the run of lines that have a cell in this column.</summary>
    private static void Block(List<string[]> lines, int line0, int line1, List<int> widths, StringBuilder sb)
    {
        int column = widths.Count;
        for (int at = line0; at < line1; at++)
        {
            if (column >= lines[at].Length - 1)
            {
                continue;
            }
            Write(lines, line0, at, widths, sb);
            line0 = at;
            int width = MinWidth;
            for (; at < line1; at++)
            {
                if (column >= lines[at].Length - 1)
                {
                    break;
                }
                width = Math.Max(width, Width(lines[at][column]) + Padding);
            }
            widths.Add(width);
            Block(lines, line0, at, widths, sb);
            widths.RemoveAt(widths.Count - 1);
            line0 = at;
        }
        Write(lines, line0, line1, widths, sb);
    }

    private static void Write(List<string[]> lines, int from, int to, List<int> widths, StringBuilder sb)
    {
        for (int i = from; i < to; i++)
        {
            var cells = lines[i];
            for (int j = 0; j < cells.Length; j++)
            {
                sb.Append(cells[j]);
                if (j < widths.Count && j < cells.Length - 1)
                {
                    sb.Append(' ', Math.Max(0, widths[j] - Width(cells[j])));
                }
            }
            sb.Append('\n');
        }
    }

    private static int Width(string cell) => cell.EnumerateRunes().Count();
}
