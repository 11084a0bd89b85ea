using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff cp CONTAINER:SRC DEST | SRC CONTAINER:DEST, with "-" for a tar stream on stdout
/// or stdin: docker cp's rules for "dir", "dir/" and "dir/.", -a and -L, and its messages.
/// </summary>
public static class CpCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("archive", 'a', "Archive mode (copy all uid/gid information)"),
        FlagSpec.Bool("follow-link", 'L', "Always follow symlinks in SRC_PATH"),
        FlagSpec.Bool("quiet", 'q', "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private const string Usage = "skiff cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n        skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH";

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(Usage,
                "Copy files/folders between a container and the local filesystem\n\n" +
                "Use '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\n" +
                "Use '-' as the destination to stream a tar archive of a\ncontainer source to stdout.", Flags));
            return 0;
        }
        if (p.Positionals.Count != 2)
        {
            return CliErrors.Usage("cp", "\"skiff cp\" requires exactly 2 arguments");
        }
        string source = p.Positionals[0], destination = p.Positionals[1];
        if (source.Length == 0)
        {
            return CliErrors.Client("source can not be empty");
        }
        if (destination.Length == 0)
        {
            return CliErrors.Client("destination can not be empty");
        }
        var (srcContainer, srcPath) = Split(source);
        var (dstContainer, dstPath) = Split(destination);
        if (srcContainer.Length > 0 && dstContainer.Length > 0)
        {
            return CliErrors.Client("copying between containers is not supported");
        }
        if (srcContainer.Length == 0 && dstContainer.Length == 0)
        {
            return CliErrors.Client("must specify at least one container source");
        }
        bool quiet = p.Has("quiet") ? p.Bool("quiet") : Interop.Libc.isatty(1) != 1;
        var store = ContainerTargets.Store(context);
        try
        {
            CopyOutcome outcome;
            if (srcContainer.Length > 0)
            {
                using var stdout = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
                outcome = ContainerCopy.FromContainer(store, srcContainer, srcPath, dstPath, stdout, p.Bool("follow-link"), p.Bool("archive"));
                stdout.Flush();
            }
            else
            {
                using var stdin = Console.OpenStandardInput();
                outcome = ContainerCopy.ToContainer(store, srcPath, dstContainer, dstPath, stdin, p.Bool("follow-link"), p.Bool("archive"));
            }
            if (!quiet && outcome.Destination != "-")
            {
                Console.Error.WriteLine(Summary(outcome));
            }
            return 0;
        }
        catch (CopyClientException e)
        {
            return CliErrors.Client(e.Message);
        }
        catch (SkiffException e)
        {
            return CliErrors.Daemon(e);
        }
        catch (IOException e)
        {
            return CliErrors.Client(e.Message);
        }
    }

    /// <summary>
    /// The docker CLI's splitCpArg: CONTAINER:PATH, unless the argument is an absolute path or
    /// starts with "." (so ./file:name.txt is local).
    /// </summary>
    public static (string Container, string Path) Split(string arg)
    {
        if (arg.StartsWith('/'))
        {
            return ("", arg);
        }
        int colon = arg.IndexOf(':');
        if (colon < 0 || arg.StartsWith('.'))
        {
            return ("", arg);
        }
        return (arg[..colon], arg[(colon + 1)..]);
    }

    /// <summary>"Successfully copied 1.2kB (transferred 4.1kB) to DEST" as the docker CLI words it.</summary>
    public static string Summary(CopyOutcome outcome) =>
        outcome.ContentSize != outcome.Transferred
            ? $"Successfully copied {Units.HumanSize(outcome.ContentSize)} (transferred {Units.HumanSize(outcome.Transferred)}) to {outcome.Destination}"
            : $"Successfully copied {Units.HumanSize(outcome.ContentSize)} to {outcome.Destination}";
}
