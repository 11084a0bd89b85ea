using System.Text;
using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>Docker-style --help output from a verb's flag list.</summary>
public static class HelpText
{
    public static string For(string usage, string description, IReadOnlyList<FlagSpec> flags)
    {
        var sb = new StringBuilder();
        sb.Append("\nUsage:  ").Append(usage).Append("\n\n").Append(description).Append("\n\nOptions:\n");
        foreach (var f in flags)
        {
            string left = (f.Short != FlagSpec.NoShort ? $"  -{f.Short}, " : "      ") + "--" + f.Name +
                          (f.ValueName is null ? "" : " " + f.ValueName);
            sb.Append(left.PadRight(32)).Append(f.Help).Append('\n');
        }
        return sb.ToString();
    }
}
