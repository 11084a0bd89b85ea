using System.Globalization;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// Podman (the Debian package) with skiff-runc as its OCI runtime, on a storage of its own
/// (--root, --runroot, --tmpdir under a directory of its own): the host's images and containers
/// are neither seen nor touched. Rootless it runs as skiff-test through runuser with its
/// own HOME and XDG_RUNTIME_DIR, so the user-namespace pause process is this store's too.
/// The busybox rootfs is imported as localhost/skiff-busybox:latest.
/// </summary>
public sealed class PodmanStore : IAsyncDisposable
{
    public const string Image = "localhost/skiff-busybox:latest";

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly SkiffInstall _install;

    private PodmanStore(SkiffInstall install, Mode mode)
    {
        _install = install;
        Mode = mode;
        // Short: podman refuses a runroot longer than 50 characters.
        Dir = Directory.CreateTempSubdirectory("skiff-pm-").FullName;
        SkiffInstall.MakeWorldReadable(Dir);
        foreach (var dir in new[] { Dir, Home, RuntimeDir })
        {
            Directory.CreateDirectory(dir);
            if (HostUsers.NameOf(mode) is { } name)
            {
                var user = HostUsers.Get(name);
                Libc.Chown(dir, user.Uid, user.Gid);
            }
        }

        File.SetUnixFileMode(RuntimeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public Mode Mode { get; }

    /// <summary>Everything podman keeps for this store: /tmp/skiff-pm-XXXXXX (mode 0755, the user's).</summary>
    public string Dir { get; }

    public string Home => Path.Combine(Dir, "home");

    /// <summary>XDG_RUNTIME_DIR rootless; skiff-runc (run by podman without --root) keeps its state in its skiff-runc/.</summary>
    public string RuntimeDir => Path.Combine(Dir, "xdg");

    /// <summary>Where skiff-runc, as podman runs it, keeps the containers' state (its default --root).</summary>
    public string RuncRoot => Mode == Mode.Root ? "/run/skiff-runc" : Path.Combine(RuntimeDir, "skiff-runc");

    /// <summary>
    /// As root this sandbox lacks CAP_SYS_RESOURCE, so podman's default RLIMIT_NOFILE
    /// (1048576, above the hard limit) fails in any runtime: ask for what the host allows.
    /// </summary>
    public string[] Limits => Mode == Mode.Root
        ? ["--ulimit", $"nofile={HardNoFile}:{HardNoFile}", "--ulimit", "nproc=32768:32768"]
        : [];

    /// <summary>Flags for podman run that every test wants: the limits, and no network rootless (slirp4netns may be missing).</summary>
    public string[] RunFlags => Mode == Mode.Root ? Limits : ["--network", "none"];

    private static string HardNoFile =>
        File.ReadLines("/proc/self/limits")
            .Where(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4])
            .Single();

    public static async Task<PodmanStore> CreateAsync(SkiffInstall install, Mode mode)
    {
        var store = new PodmanStore(install, mode);
        try
        {
            // A world-readable tar of the rootfs: the rootless user imports it too.
            string tar = Path.Combine(store.Dir, "busybox.tar");
            (await HostProcess.RunAsync(["tar", "-C", install.Rootfs, "-cf", tar, "."], timeout: Timeout)).AssertExit(0);
            File.SetUnixFileMode(tar, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            (await store.Podman("import", tar, Image)).AssertExit(0);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>podman GLOBAL... ARGS..., as this store's user, waited for (60 s at most).</summary>
    public Task<ProcessResult> Podman(params string[] args) =>
        HostProcess.RunAsync(Argv(args), timeout: Timeout, workingDirectory: Dir);

    /// <summary>podman inside util-linux script(1): a terminal on every standard stream, for -it.</summary>
    public Task<ProcessResult> PodmanInTerminal(params string[] args) =>
        HostProcess.RunAsync(["script", "--quiet", "--return", "--command", Shell.Join(Argv(args)), "/dev/null"],
            timeout: Timeout, workingDirectory: Dir);

    /// <summary>skiff-runc with podman's runtime root, as this store's user: to see what podman made through it.</summary>
    public Task<ProcessResult> Runc(params string[] args) =>
        HostProcess.RunAsync(UserArgv([_install.SkiffRunc, "--root", RuncRoot, .. args]), timeout: Timeout, workingDirectory: Dir);

    public string[] Argv(string[] args) =>
        UserArgv(
        [
            "podman",
            "--root", Path.Combine(Dir, "storage"),
            "--runroot", Path.Combine(Dir, "run"),
            "--tmpdir", Path.Combine(Dir, "tmp"),
            "--runtime", _install.SkiffRunc,
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "file",
            .. args,
        ]);

    /// <summary>A container name unique to this run.</summary>
    public static string NewName(string prefix) => $"skiff-{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 18)];

    public async ValueTask DisposeAsync()
    {
        try
        {
            // -t 0: no grace period for containers a failed test left running.
            await HostProcess.RunAsync(Argv(["rm", "--all", "--force", "--time", "0"]), timeout: Timeout, workingDirectory: Dir);
            await HostProcess.RunAsync(Argv(["rmi", "--all", "--force"]), timeout: Timeout, workingDirectory: Dir);
            // Rootless: the pause process that holds the user namespace is this store's alone.
            string pauseFile = Path.Combine(Dir, "tmp", "pause.pid");
            if (File.Exists(pauseFile) && int.TryParse(File.ReadAllText(pauseFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pause)
                && ProcTable.Read(pause) is { Name: "catatonit" or "podman" or "pause" })
            {
                Libc.Kill(pause, Libc.SIGKILL);
            }

            await MountCleanup.UnmountUnderAsync(Dir);
        }
        finally
        {
            try
            {
                Directory.Delete(Dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Something still holds it (a leak the test reported); /tmp keeps it.
            }
        }
    }

    private string[] UserArgv(string[] argv) =>
        HostUsers.NameOf(Mode) is { } user
            ? ["runuser", "-u", user, "--", "env", $"HOME={Home}", $"XDG_RUNTIME_DIR={RuntimeDir}",
                $"XDG_CONFIG_HOME={Path.Combine(Home, ".config")}", $"XDG_DATA_HOME={Path.Combine(Home, ".local", "share")}", .. argv]
            : argv;
}

/// <summary>What an engine may leave mounted under a directory it was given: unmounted, deepest first, best effort.</summary>
public static class MountCleanup
{
    public static async Task UnmountUnderAsync(string dir)
    {
        var points = File.ReadLines("/proc/self/mountinfo")
            .Select(l => l.Split(' ')[4].Replace("\\040", " "))
            .Where(p => p == dir || p.StartsWith(dir + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(p => p.Length)
            .ToList();
        foreach (var point in points)
        {
            await HostProcess.RunAsync(["umount", "-R", "-l", point], timeout: TimeSpan.FromSeconds(10));
        }
    }
}
