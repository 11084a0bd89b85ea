namespace Skiff.Cli.CommandLine;

/// <summary>
/// Parses flags the way Docker's CLI does (spf13/pflag with interspersed arguments
/// off): --name=value, --name value, -x, -abc, -eK=V, -e=K=V, and "--". The first
/// positional ends the flags, so `run IMAGE ls -la` hands "-la" to the container.
/// Written here rather than taken from System.CommandLine because that grammar (and a
/// few microseconds on the hot path) matter more than what the library adds.
/// </summary>
public static class FlagParser
{
    public static ParsedArgs Parse(IReadOnlyList<FlagSpec> flags, IReadOnlyList<string> args, bool interspersed = false)
    {
        var result = new ParsedArgs();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                result.Positionals.AddRange(args.Skip(i + 1));
                break;
            }
            if (a.Length < 2 || a[0] != '-')
            {
                if (!interspersed)
                {
                    result.Positionals.AddRange(args.Skip(i));
                    break;
                }
                result.Positionals.Add(a);
                continue;
            }
            if (a[1] == '-')
            {
                i = Long(flags, args, i, result);
            }
            else
            {
                i = Shorts(flags, args, i, result);
            }
        }
        return result;
    }

    private static int Long(IReadOnlyList<FlagSpec> flags, IReadOnlyList<string> args, int i, ParsedArgs result)
    {
        string body = args[i][2..];
        int eq = body.IndexOf('=');
        string name = eq < 0 ? body : body[..eq];
        var flag = flags.FirstOrDefault(f => f.Name == name) ?? throw new UsageException($"unknown flag: --{name}");
        if (flag.Kind == FlagKind.Bool)
        {
            result.Add(flag, eq < 0 ? "true" : BoolValue(body[(eq + 1)..], "--" + name));
            return i;
        }
        if (eq >= 0)
        {
            result.Add(flag, body[(eq + 1)..]);
            return i;
        }
        if (i + 1 >= args.Count)
        {
            throw new UsageException($"flag needs an argument: --{name}");
        }
        result.Add(flag, args[i + 1]);
        return i + 1;
    }

    private static int Shorts(IReadOnlyList<FlagSpec> flags, IReadOnlyList<string> args, int i, ParsedArgs result)
    {
        string group = args[i];
        for (int j = 1; j < group.Length; j++)
        {
            char c = group[j];
            var flag = flags.FirstOrDefault(f => f.Short == c)
                       ?? throw new UsageException($"unknown shorthand flag: '{c}' in {group}");
            string rest = group[(j + 1)..];
            if (flag.Kind == FlagKind.Bool)
            {
                if (rest.StartsWith('='))
                {
                    result.Add(flag, BoolValue(rest[1..], "-" + c));
                    return i;
                }
                result.Add(flag, "true");
                continue;
            }
            if (rest.Length > 0)
            {
                result.Add(flag, rest.StartsWith('=') ? rest[1..] : rest);
                return i;
            }
            if (i + 1 >= args.Count)
            {
                throw new UsageException($"flag needs an argument: '{c}' in -{c}");
            }
            result.Add(flag, args[i + 1]);
            return i + 1;
        }
        return i;
    }

    private static string BoolValue(string text, string flag) => text switch
    {
        "true" or "1" or "t" or "T" or "TRUE" or "True" => "true",
        "false" or "0" or "f" or "F" or "FALSE" or "False" => "false",
        _ => throw new UsageException($"invalid argument \"{text}\" for \"{flag}\" flag: use true or false"),
    };
}

/// <summary>A command line that does not parse: exit 125 and a pointer to --help.</summary>
public sealed class UsageException(string message) : SkiffException(ErrorCategory.InvalidArgument, message);
