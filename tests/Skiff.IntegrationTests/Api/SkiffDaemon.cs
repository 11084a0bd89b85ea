using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Api;

/// <summary>
/// `skiff serve` started in the background for one sandbox, and the real docker CLI
/// pointed at it with DOCKER_HOST (and a DOCKER_CONFIG of its own, so the host's docker
/// settings stay out). Stopped with SIGTERM, which must end it with 0 and remove its socket.
/// </summary>
public sealed class SkiffDaemon : IAsyncDisposable
{
    private readonly Sandbox _box;
    private readonly BackgroundProcess _process;
    private readonly string _dockerConfig;
    private bool _stopped;

    private SkiffDaemon(Sandbox box, BackgroundProcess process, string socketPath, int pid, string dockerConfig)
    {
        _box = box;
        _process = process;
        SocketPath = socketPath;
        Pid = pid;
        _dockerConfig = dockerConfig;
    }

    public string SocketPath { get; }

    /// <summary>skiff's own pid (rootless, runuser is its parent).</summary>
    public int Pid { get; }

    public string Host => "unix://" + SocketPath;

    /// <summary>Starts the daemon; with no socket path it takes its default one, which the caller names.</summary>
    public static async Task<SkiffDaemon> StartAsync(Sandbox box, string? socketPath = null, string? expectedSocket = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        string dir = Path.Combine(box.Dir, "api");
        Directory.CreateDirectory(dir);
        if (HostUsers.NameOf(box.Mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(dir, user.Uid, user.Gid);
        }
        string path = socketPath ?? expectedSocket ?? Path.Combine(dir, "skiff.sock");
        string[] args = socketPath is null && expectedSocket is not null ? ["serve"] : ["serve", "--host", "unix://" + path];
        var process = BackgroundProcess.Start(box.Argv(args), environment, box.Dir);
        HostProcessEntry skiff;
        try
        {
            await process.WaitForLineAsync("Listening on unix://" + path, TimeSpan.FromSeconds(30));
            // Rootless, runuser starts skiff, which runs itself again in the keeper's namespace
            // through /proc/self/exe (so its name may be "exe"): the serving process is the one with our argv.
            skiff = await ProcTable.WaitForAsync($"skiff serve started as pid {process.Pid} or as its child",
                p => (p.Pid == process.Pid || p.ParentPid == process.Pid) && p.Argv.Contains("serve") && p.Name != "runuser");
        }
        catch
        {
            process.Dispose();
            throw;
        }
        string dockerConfig = Path.Combine(box.Dir, "docker-config");
        Directory.CreateDirectory(dockerConfig);
        return new SkiffDaemon(box, process, path, skiff.Pid, dockerConfig);
    }

    /// <summary>docker ARGS against this daemon, as root (root may use any user's socket).</summary>
    public Task<ProcessResult> Docker(params string[] args) => DockerWith(null, args);

    public Task<ProcessResult> DockerWith(string? stdin, params string[] args) =>
        HostProcess.RunAsync(["docker", .. args], stdin, TimeSpan.FromSeconds(60), Environment(), _box.Dir);

    /// <summary>A shell pipeline with DOCKER_HOST set (docker save | docker load).</summary>
    public Task<ProcessResult> Shell(string script) =>
        HostProcess.RunAsync(["bash", "-o", "pipefail", "-c", script], null, TimeSpan.FromSeconds(60), Environment(), _box.Dir);

    public Dictionary<string, string?> Environment() => new()
    {
        ["DOCKER_HOST"] = Host,
        ["DOCKER_CONFIG"] = _dockerConfig,
        ["DOCKER_CONTEXT"] = null,
        ["DOCKER_API_VERSION"] = null,
    };

    /// <summary>SIGTERM; the daemon must exit 0 and take its socket with it.</summary>
    public async Task<ProcessResult> StopAsync()
    {
        _stopped = true;
        Libc.Kill(Pid, Libc.SIGTERM);
        var result = await _process.WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.True(result.ExitCode == 0, $"skiff serve did not exit 0 on SIGTERM: {result}");
        Assert.False(File.Exists(SocketPath), $"{SocketPath} is still there after skiff serve stopped");
        return result;
    }

    /// <summary>RSS of the daemon in KiB, from /proc.</summary>
    public long RssKiB()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
            }
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            // A test that failed half-way: stop the daemon without judging how.
            try
            {
                Libc.Kill(Pid, Libc.SIGTERM);
                await _process.WaitForExitAsync(TimeSpan.FromSeconds(15));
            }
            catch (Exception e) when (e is InvalidOperationException or Xunit.Sdk.XunitException)
            {
            }
        }
        _process.Dispose();
    }
}
