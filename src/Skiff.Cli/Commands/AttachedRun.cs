using System.Runtime.InteropServices;
using Skiff.Engine.Containers;
using Skiff.Runtime;
using Skiff.Runtime.Supervision;

namespace Skiff.Cli.Commands;

/// <summary>
/// A terminal attached to a supervised container (run without -d and --rm, start -a,
/// attach): output frames to stdout and stderr, stdin in, signals and window sizes
/// passed on, and the container's exit code as ours.
/// </summary>
public static unsafe class AttachedRun
{
    /// <summary>Starts the container with the attach already in place, so no output is missed.</summary>
    public static int StartAttached(ContainerStore store, string id, ContainerDefinition def, string binary, string root, bool stdin, bool sigProxy)
    {
        AttachClient? client = null;
        try
        {
            ContainerStart.Start(store, id, binary, root, waitAttach: true,
                spawned: () => client = AttachClient.Connect(store.Dir(id).Path, Streams(stdin)));
        }
        catch
        {
            client?.Dispose();
            throw;
        }
        return Pump(store, id, def, client, stdin, sigProxy);
    }

    public static int Attach(ContainerStore store, string id, ContainerDefinition def, bool stdin, bool sigProxy) =>
        Pump(store, id, def, AttachClient.Connect(store.Dir(id).Path, Streams(stdin)), stdin, sigProxy);

    private static AttachStreams Streams(bool stdin) =>
        AttachStreams.Stdout | AttachStreams.Stderr | (stdin ? AttachStreams.Stdin : AttachStreams.None);

    private static int Pump(ContainerStore store, string id, ContainerDefinition def, AttachClient? client, bool stdin, bool sigProxy)
    {
        if (client is null)
        {
            // The container ended before we got there.
            return store.State(id).ExitCode;
        }
        using var _ = client;
        string dir = store.Dir(id).Path;
        bool tty = def.Config.Tty;
        var saved = new byte[128];
        bool raw = false;
        var registrations = new List<PosixSignalRegistration>();
        try
        {
            if (tty)
            {
                if (stdin && Interop.Libc.isatty(0) == 1)
                {
                    fixed (byte* s = saved)
                    {
                        raw = Interop.Shim.TtyRaw(0, s, saved.Length) > 0;
                    }
                }
                Resize(dir);
                registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Resize(dir)));
            }
            else if (sigProxy)
            {
                foreach (var (signal, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1), (PosixSignal.SIGQUIT, 3) })
                {
                    registrations.Add(PosixSignalRegistration.Create(signal, c =>
                    {
                        c.Cancel = true;
                        try
                        {
                            ContainerSignals.Signal(store, id, number);
                        }
                        catch (SkiffException)
                        {
                        }
                    }));
                }
            }
            using var stdout = Console.OpenStandardOutput();
            using var stderr = Console.OpenStandardError();
            var input = stdin ? Console.OpenStandardInput() : null;
            int? code = client.RunAsync(input, stdout, tty ? null : stderr).GetAwaiter().GetResult();
            return code ?? store.State(id).ExitCode;
        }
        finally
        {
            registrations.ForEach(r => r.Dispose());
            if (raw)
            {
                fixed (byte* s = saved)
                {
                    Interop.Shim.TtyRestore(0, s, saved.Length);
                }
            }
        }
    }

    private static void Resize(string dir)
    {
        var (rows, cols) = TerminalSession.CurrentSize();
        if (rows > 0 && cols > 0)
        {
            try
            {
                Supervisor.Resize(dir, rows, cols);
            }
            catch (SkiffException)
            {
            }
        }
    }
}
