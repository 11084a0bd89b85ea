using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// What the container verbs share. Docker prints what its daemon refused as "Error
/// response from daemon: …" and exits 1 (not 125, which is for `run` and `create`); a
/// wrong number of arguments is also 1; a flag that does not parse stays 125.
/// </summary>
public static class ContainerVerb
{
    public const string DaemonError = "Error response from daemon: ";

    public static int Guard(Func<int> verb)
    {
        try
        {
            return ImageVerb.Guard(verb);
        }
        catch (UsageException)
        {
            throw;
        }
        catch (ClientException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (SkiffException e)
        {
            Console.Error.WriteLine(DaemonError + e.Message);
            return 1;
        }
    }

    /// <summary>Docker's RequiresMinArgs.</summary>
    public static void AtLeast(ParsedArgs p, int min, string verb, string usage)
    {
        if (p.Positionals.Count < min)
        {
            throw new ClientException(
                $"skiff: '{verb}' requires at least {min} argument{(min == 1 ? "" : "s")}\n\nUsage:  {usage}\n\nSee '{verb} --help' for more information");
        }
    }

    /// <summary>Docker's ExactArgs.</summary>
    public static void Exactly(ParsedArgs p, int n, string verb, string usage)
    {
        if (p.Positionals.Count != n)
        {
            throw new ClientException(
                $"skiff: '{verb}' requires {n} argument{(n == 1 ? "" : "s")}\n\nUsage:  {usage}\n\nRun '{verb} --help' for more information");
        }
    }

    /// <summary>Docker's NoArgs.</summary>
    public static void None(ParsedArgs p, string verb, string usage)
    {
        if (p.Positionals.Count > 0)
        {
            throw new ClientException(
                $"skiff: '{verb}' accepts no arguments\n\nUsage:  {usage}\n\nRun '{verb} --help' for more information");
        }
    }

    /// <summary>--filter values, Docker's flag error for one without '='.</summary>
    public static ContainerFilters Filters(ParsedArgs p, string display = "-f, --filter")
    {
        foreach (var v in p.Values("filter"))
        {
            if (!v.Contains('='))
            {
                throw new UsageException($"invalid argument \"{v}\" for \"{display}\" flag: bad format of filter (expected name=value)");
            }
        }
        return ContainerFilters.Parse(p.Values("filter"));
    }
}

/// <summary>An error docker's CLI itself reports (too few arguments, a bad --since): printed as it is, exit 1.</summary>
public sealed class ClientException(string message) : SkiffException(ErrorCategory.InvalidArgument, message);
