using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// One test's skiff-runc: a state directory for --root (owned by the user it runs as),
/// bundles made the way a user makes them (busybox rootfs + skiff-runc spec, then edited),
/// and, on disposal, delete --force of every container the test left.
/// </summary>
public sealed class RuncBox : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly SkiffInstall _install;
    private int _bundles;
    private int _outputs;

    public RuncBox(SkiffInstall install, Mode mode)
    {
        _install = install;
        Box = install.NewSandbox(mode);
        Root = Path.Combine(Box.Dir, "runc");
        Directory.CreateDirectory(Root);
        ChownToUser(Root);
    }

    public Sandbox Box { get; }

    public Mode Mode => Box.Mode;

    /// <summary>What skiff-runc gets as --root: ROOT/ID holds a container's state.</summary>
    public string Root { get; }

    /// <summary>A container id no other test (or run) uses: cgroups are named after it.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>skiff-runc --root ROOT ARGS..., as this box's user, waited for (60 s at most).</summary>
    public Task<ProcessResult> Runc(params string[] args) => RuncWith([], args);

    /// <summary>skiff-runc --root ROOT GLOBAL... ARGS...</summary>
    public Task<ProcessResult> RuncWith(string[] global, params string[] args) =>
        HostProcess.RunAsync(Argv(global, args), timeout: Timeout, workingDirectory: Box.Dir);

    /// <summary>
    /// For the verbs that leave a container process behind (create, run -d): the container
    /// inherits skiff-runc's stdio, so it gets files, not the test's pipes (which would stay
    /// open until the container exits). The result holds what the files held on return.
    /// </summary>
    public Task<ProcessResult> RuncDetached(params string[] args) => RuncDetachedTo(OutputFiles(), args);

    /// <summary><see cref="RuncDetached"/> with the files named by the caller, to read the container's output later.</summary>
    public async Task<ProcessResult> RuncDetachedTo((string Stdout, string Stderr) files, params string[] args)
    {
        var (stdout, stderr) = files;
        string[] argv = Argv([], args);
        var result = await HostProcess.RunAsync(
            ["sh", "-c", "o=$1 e=$2; shift 2; exec \"$@\" </dev/null >\"$o\" 2>\"$e\"", "sh", stdout, stderr, .. argv],
            timeout: Timeout, workingDirectory: Box.Dir);
        return result with { Argv = argv, Stdout = File.ReadAllText(stdout), Stderr = File.ReadAllText(stderr) };
    }

    /// <summary>Names a pair of files for a detached container's output: read the first later to see what it printed.</summary>
    public (string Stdout, string Stderr) OutputFiles()
    {
        int n = Interlocked.Increment(ref _outputs);
        return (Path.Combine(Box.Dir, $"out{n}"), Path.Combine(Box.Dir, $"err{n}"));
    }

    public string[] Argv(string[] global, string[] args)
    {
        string[] runc = [_install.SkiffRunc, "--root", Root, .. global, .. args];
        return HostUsers.NameOf(Mode) is { } user ? ["runuser", "-u", user, "--", .. runc] : runc;
    }

    /// <summary>
    /// A bundle: a copy of busybox as rootfs and the config skiff-runc spec writes (spec
    /// --rootless for the rootless modes), run by this box's user in the bundle directory;
    /// then terminal false, the given args, and any further edit.
    /// </summary>
    public async Task<string> NewBundleAsync(string[] args, Action<JsonNode>? edit = null)
    {
        string bundle = Path.Combine(Box.Dir, $"bundle{Interlocked.Increment(ref _bundles)}");
        Directory.CreateDirectory(bundle);
        ChownToUser(bundle);
        await SkiffInstall.CopyTreeAsync(_install.Rootfs, Path.Combine(bundle, "rootfs"));
        string[] spec = Mode == Mode.Root ? ["spec"] : ["spec", "--rootless"];
        var made = await HostProcess.RunAsync(Argv([], spec), timeout: Timeout, workingDirectory: bundle);
        made.AssertExit(0);

        string path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidOperationException($"{path} is null");
        var process = config["process"]!;
        process["terminal"] = false;
        process["args"] = new JsonArray([.. args.Select(a => (JsonNode?)JsonValue.Create(a))]);
        edit?.Invoke(config);
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return bundle;
    }

    /// <summary>state ID, parsed; fails the test on a non-zero exit.</summary>
    public async Task<JsonElement> StateAsync(string id)
    {
        var result = (await Runc("state", id)).AssertExit(0);
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.Clone();
    }

    /// <summary>Polls state ID until its status is <paramref name="status"/> (10 s at most).</summary>
    public async Task<JsonElement> WaitForStatusAsync(string id, string status)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var state = await StateAsync(id);
            if (state.GetProperty("status").GetString() == status)
            {
                return state;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"container {id} is not {status} after 10 s: {state}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The ids list --format json shows.</summary>
    public async Task<IReadOnlyList<string>> ListIdsAsync()
    {
        var result = (await Runc("list", "--format", "json")).AssertExit(0);
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.ValueKind == JsonValueKind.Null
            ? []
            : [.. json.RootElement.EnumerateArray().Select(c => c.GetProperty("id").GetString() ?? "")];
    }

    /// <summary>
    /// After a refused verb: no ROOT/ID directory, list does not show the id, and (as root)
    /// no cgroup named after it in any v1 hierarchy.
    /// </summary>
    public async Task AssertNoTraceOfAsync(string id, ProcessResult after)
    {
        Assert.False(Directory.Exists(Path.Combine(Root, id)), $"{Root}/{id} left behind after {after}");
        Assert.DoesNotContain(id, await ListIdsAsync());
        if (Mode == Mode.Root)
        {
            var cgroups = Directory.EnumerateDirectories("/sys/fs/cgroup")
                .Select(h => Path.Combine(h, "skiff", id))
                .Where(Directory.Exists)
                .ToList();
            Assert.True(cgroups.Count == 0, $"cgroups left: {string.Join(", ", cgroups)}\nafter {after}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Directory.Exists(Root))
            {
                foreach (var dir in Directory.GetDirectories(Root))
                {
                    await HostProcess.RunAsync(Argv([], ["delete", "--force", Path.GetFileName(dir)]), timeout: Timeout);
                }
            }
        }
        finally
        {
            Box.Dispose();
        }
    }

    private void ChownToUser(string path)
    {
        if (HostUsers.NameOf(Mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(path, user.Uid, user.Gid);
        }
    }
}
