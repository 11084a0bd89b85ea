using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff logs: the container's json-file log, what it wrote to stdout on stdout and to
/// stderr on stderr (as docker does without a terminal); -f follows until it stops.
/// </summary>
public static class LogsCommand
{
    private const string Usage = "skiff logs [OPTIONS] CONTAINER";

    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("details", FlagSpec.NoShort, "Show extra details provided to logs"),
        FlagSpec.Bool("follow", 'f', "Follow log output"),
        FlagSpec.Value("since", FlagSpec.NoShort, "string", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
        FlagSpec.Value("tail", 'n', "string", "Number of lines to show from the end of the logs (default \"all\")"),
        FlagSpec.Bool("timestamps", 't', "Show timestamps"),
        FlagSpec.Value("until", FlagSpec.NoShort, "string", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args));

    private static int Run(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(Usage, "Fetch the logs of a container", Flags));
            return 0;
        }
        ContainerVerb.Exactly(p, 1, "skiff logs", Usage);
        var now = DateTime.UtcNow;
        DateTime? since = Time(p.Value("since"), "since", now);
        DateTime? until = Time(p.Value("until"), "until", now);
        var store = ContainerTargets.Store(context);
        string id = store.Resolve(p.Positionals[0]);
        bool timestamps = p.Bool("timestamps"), details = p.Bool("details");
        using var stdout = new BufferedStream(Console.OpenStandardOutput(), 64 * 1024);
        using var stderr = new BufferedStream(Console.OpenStandardError(), 16 * 1024);
        var options = new LogReadOptions
        {
            Follow = p.Bool("follow"),
            Tail = LogReadOptions.ParseTail(p.Value("tail")),
            Since = since,
            Until = until,
            OnIdle = () =>
            {
                stdout.Flush();
                stderr.Flush();
            },
        };
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            Copy(store, id, options, stdout, stderr, timestamps, details, cancel.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException) when (!cancel.IsCancellationRequested)
        {
            // The reader of our output went away (logs -f | head): done, as docker is.
        }
        return 0;
    }

    private static async Task Copy(ContainerStore store, string id, LogReadOptions options, Stream stdout, Stream stderr,
        bool timestamps, bool details, CancellationToken cancel)
    {
        await foreach (var e in LogReader.Open(store, id, options).WithCancellation(cancel).ConfigureAwait(false))
        {
            var to = e.Stream == LogStream.Stderr ? stderr : stdout;
            if (timestamps)
            {
                to.Write(System.Text.Encoding.ASCII.GetBytes(e.Timestamp + " "));
            }
            if (details)
            {
                to.Write(System.Text.Encoding.UTF8.GetBytes(e.Attrs + " "));
            }
            to.Write(e.Line);
        }
        stdout.Flush();
        stderr.Flush();
    }

    /// <summary>Docker's client turns --since/--until into a timestamp before it asks; a bad value is its error.</summary>
    private static DateTime? Time(string? value, string flag, DateTime now)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        try
        {
            return DockerTime.Parse(value, now);
        }
        catch (SkiffException e)
        {
            throw new ClientException($"invalid value for \"{flag}\": {e.Message}");
        }
    }
}
