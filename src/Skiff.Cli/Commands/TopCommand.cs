using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff top CONTAINER [ps OPTIONS]: the container's processes, as docker top lays them out.</summary>
public static class TopCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        // Everything after the container is ps's (docker top turns interspersed flags off).
        var p = FlagParser.Parse(Flags, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff top CONTAINER [ps OPTIONS]", "Display the running processes of a container", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            return CliErrors.Usage("top", "\"skiff top\" requires at least 1 argument");
        }
        var store = ContainerTargets.Store(context);
        ContainerTopResult result;
        try
        {
            result = ContainerTop.List(store, p.Positionals[0], string.Join(' ', p.Positionals.Skip(1)));
        }
        catch (SkiffException e)
        {
            return CliErrors.Daemon(e);
        }
        var rows = new List<IReadOnlyList<string>>(result.Processes.Count + 1) { result.Titles };
        rows.AddRange(result.Processes);
        Console.Out.Write(TabTable.Format(rows, minWidth: 20, padding: 3));
        return 0;
    }
}

/// <summary>How the container verbs report failures, as the docker CLI does (exit 1).</summary>
internal static class CliErrors
{
    /// <summary>An error from the engine: "Error response from daemon: ...".</summary>
    public static int Daemon(SkiffException e)
    {
        Console.Error.WriteLine($"Error response from daemon: {e.Message}");
        return 1;
    }

    /// <summary>An error of the command line itself (the docker CLI's own words, no daemon prefix).</summary>
    public static int Client(string message)
    {
        Console.Error.WriteLine(message);
        return 1;
    }

    /// <summary>Too few or too many arguments.</summary>
    public static int Usage(string verb, string message)
    {
        Console.Error.WriteLine($"skiff: {message}");
        Console.Error.WriteLine($"See 'skiff {verb} --help'.");
        return 1;
    }
}

/// <summary>Go's text/tabwriter as the docker CLI sets it up: every column but the last padded to max(minWidth, widest + padding).</summary>
internal static class TabTable
{
    public static string Format(IReadOnlyList<IReadOnlyList<string>> rows, int minWidth, int padding)
    {
        int columns = rows.Count == 0 ? 0 : rows.Max(r => r.Count);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            // The last cell of a row is not tab-terminated: it takes no part in the column widths.
            for (int i = 0; i < row.Count - 1; i++)
            {
                widths[i] = Math.Max(widths[i], Math.Max(minWidth, row[i].Length + padding));
            }
        }
        var sb = new System.Text.StringBuilder();
        foreach (var row in rows)
        {
            for (int i = 0; i < row.Count; i++)
            {
                sb.Append(i == row.Count - 1 ? row[i] : row[i].PadRight(widths[i]));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
