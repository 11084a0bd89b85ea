using System.Runtime.InteropServices;
using Skiff.Api;
using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff serve: the Docker Engine API on a unix socket (0600, the user's alone), so the
/// docker CLI and Docker's SDKs work against skiff. TCP only when asked for by address.
/// SIGTERM or SIGINT stops accepting, removes the socket and exits 0; running containers
/// belong to their supervisors and keep running.
/// </summary>
public static class ServeCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("host", 'H', "string", "Listen on unix:///PATH or tcp://ADDRESS:PORT (default unix://$XDG_RUNTIME_DIR/skiff/skiff.sock; /run/skiff/skiff.sock as root)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff serve [OPTIONS]", "Serve the Docker Engine API (DOCKER_HOST=unix://...)", Flags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            throw new UsageException("\"skiff serve\" accepts no arguments");
        }
        return ImageVerb.Guard(() => Serve(context, p.Value("host")));
    }

    private static int Serve(CliContext context, string? host)
    {
        if (host is not null && host.StartsWith("tcp://", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"skiff serve: WARNING: {host} is unauthenticated and unencrypted: anyone who can reach it controls your containers and, through them, your account");
        }
        // Rootless, this joins the keeper's user namespace first (running itself again once), so
        // layers unpack with the owners images give them, as for the image verbs.
        var store = ImageStores.ForWriting(context);
        var daemon = new Daemon
        {
            Paths = context.Paths,
            Images = store,
            Rootless = !context.IsRoot,
            Version = VersionCommand.Version,
            Commit = VersionCommand.Commit,
        };
        using var stopping = new CancellationTokenSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stopping.Cancel();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        var listener = ApiListener.Open(host);
        var server = new ApiServer(daemon, listener);
        Console.Out.WriteLine($"Listening on {listener.Address}");
        server.RunAsync(stopping.Token).GetAwaiter().GetResult();
        return 0;
    }
}
