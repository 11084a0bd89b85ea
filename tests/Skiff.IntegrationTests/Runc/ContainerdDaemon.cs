using System.Diagnostics;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// A containerd (the Debian package) of the test's own: a temporary config, root, state and
/// socket in a directory it is given, the CRI plugin off. Disposal stops it (TERM, then KILL), kills
/// any shim it left, unmounts what is left under its directory.
/// </summary>
public sealed class ContainerdDaemon : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;

    private ContainerdDaemon(string parent)
    {
        Dir = Path.Combine(parent, "containerd");
        Directory.CreateDirectory(Dir);
        File.WriteAllText(ConfigFile, $"""
            version = 2
            root = "{Path.Combine(Dir, "root")}"
            state = "{Path.Combine(Dir, "state")}"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]

            [grpc]
              address = "{Socket}"

            [plugins."io.containerd.internal.v1.opt"]
              path = "{Path.Combine(Dir, "opt")}"
            """);
        _process = HostProcess.Start(["sh", "-c", "exec containerd --config \"$1\" >\"$2\" 2>&1", "sh", ConfigFile, LogFile]);
        _process.StandardInput.Close();
    }

    public string Dir { get; }

    public string Socket => Path.Combine(Dir, "containerd.sock");

    /// <summary>What ctr run --runc-root gets: the shim keeps skiff-runc's state in RuncRoot/NAMESPACE/ID.</summary>
    public string RuncRoot => Path.Combine(Dir, "runc");

    private string ConfigFile => Path.Combine(Dir, "config.toml");

    private string LogFile => Path.Combine(Dir, "containerd.log");

    /// <summary>Starts it in PARENT/containerd and waits (20 s at most) for its socket.</summary>
    public static async Task<ContainerdDaemon> StartAsync(string parent)
    {
        var daemon = new ContainerdDaemon(parent);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(daemon.Socket))
        {
            if (daemon._process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                string log = daemon.Log();
                await daemon.DisposeAsync();
                Assert.Fail($"containerd did not open {daemon.Socket} in 20 s:\n{log}");
            }

            await Task.Delay(50);
        }

        return daemon;
    }

    /// <summary>ctr --address SOCKET ARGS..., waited for (60 s at most).</summary>
    public Task<ProcessResult> Ctr(params string[] args) =>
        HostProcess.RunAsync(["ctr", "--address", Socket, .. args], timeout: Timeout, workingDirectory: Dir);

    /// <summary>containerd's own log, for a failure message.</summary>
    public string Log() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Libc.Kill(_process.Id, Libc.SIGTERM);
            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                HostProcess.KillTree(_process);
            }
        }

        _process.Dispose();
        // A shim outlives containerd by design; ours carry this daemon's socket in their argv.
        foreach (var shim in ProcTable.Snapshot().Where(p => p.Name.StartsWith("containerd-shim", StringComparison.Ordinal)
                     && p.Argv.Contains(Socket)))
        {
            try
            {
                Libc.Kill(shim.Pid, Libc.SIGKILL);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
        }

        await MountCleanup.UnmountUnderAsync(Dir);
    }
}
