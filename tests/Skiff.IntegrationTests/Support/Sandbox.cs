namespace Skiff.IntegrationTests.Support;

/// <summary>
/// One test's corner of the install: a storage root for --root (owned by the user skiff
/// runs as) and a unique marker. Every run that <see cref="Skiff"/> waits for is checked
/// to have left no container directory behind; background runs check it themselves.
/// </summary>
public sealed class Sandbox : IDisposable
{
    private readonly SkiffInstall _install;

    internal Sandbox(SkiffInstall install, Mode mode, string dir)
    {
        _install = install;
        Mode = mode;
        Dir = dir;
        Marker = Path.GetFileName(dir);
        Directory.CreateDirectory(StorageRoot);
        SkiffInstall.MakeWorldReadable(Dir);
        if (HostUsers.NameOf(mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(StorageRoot, user.Uid, user.Gid);
        }
    }

    public Mode Mode { get; }

    /// <summary>This test's directory (mode 0755, owned by root).</summary>
    public string Dir { get; }

    /// <summary>What skiff gets as --root.</summary>
    public string StorageRoot => Path.Combine(Dir, "storage");

    public string ContainersDir => Path.Combine(StorageRoot, "containers");

    /// <summary>The shared busybox rootfs.</summary>
    public string Rootfs => _install.Rootfs;

    /// <summary>Unique to this test: in every skiff argv (through --root), and in commands a test wants to find again.</summary>
    public string Marker { get; }

    /// <summary>skiff run --rootfs ROOTFS COMMAND...</summary>
    public Task<ProcessResult> Run(params string[] command) => RunWith([], command);

    /// <summary>skiff run OPTIONS... --rootfs ROOTFS COMMAND...</summary>
    public Task<ProcessResult> RunWith(string[] options, params string[] command) => Skiff(RunArgs(options, command));

    /// <summary>
    /// The arguments of skiff run, after "skiff --root DIR": --rm unless the test asks for -d
    /// (which keep their container), so that the no-container-left checks hold (a container run
    /// without --rm stays, as in Docker; the Lifecycle tests cover that).
    /// </summary>
    public string[] RunArgs(string[] options, params string[] command) =>
        ["run", .. options.Contains("--rm") || options.Contains("-d") ? options : ["--rm", .. options], "--rootfs", Rootfs, .. command];

    /// <summary>Runs skiff --root STORAGE ARGS... as this sandbox's user and checks nothing was left behind.</summary>
    public async Task<ProcessResult> Skiff(
        IEnumerable<string> args,
        string? stdin = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var result = await HostProcess.RunAsync(Argv(args), stdin, environment: environment, workingDirectory: Dir);
        AssertNoContainerLeft(result);
        return result;
    }

    /// <summary>Runs skiff inside util-linux script(1), which gives it a terminal on every standard stream.</summary>
    public async Task<ProcessResult> SkiffInTerminal(IEnumerable<string> args)
    {
        var result = await HostProcess.RunAsync(
            ["script", "--quiet", "--return", "--command", Shell.Join(Argv(args)), "/dev/null"],
            workingDirectory: Dir);
        AssertNoContainerLeft(result);
        return result;
    }

    /// <summary>Starts skiff without waiting; its stdin is closed unless <paramref name="keepStdinOpen"/>.</summary>
    public BackgroundProcess StartSkiff(IEnumerable<string> args, bool keepStdinOpen = false) =>
        BackgroundProcess.Start(Argv(args), workingDirectory: Dir, keepStdinOpen: keepStdinOpen);

    /// <summary>
    /// skiff's own process: as root the started process is skiff; rootless it is runuser,
    /// which forks skiff as its child. Waits until that child has exec'd skiff.
    /// </summary>
    public Task<HostProcessEntry> FindSkiffAsync(BackgroundProcess started) =>
        ProcTable.WaitForAsync(
            $"skiff started as pid {started.Pid} or as its child",
            p => p.Name == "skiff" && (p.Pid == started.Pid || (Mode != Mode.Root && p.ParentPid == started.Pid)));

    /// <summary>The full argv: runuser for the rootless modes, then skiff --root STORAGE ARGS.</summary>
    public string[] Argv(IEnumerable<string> args)
    {
        string[] skiff = [_install.Skiff, "--root", StorageRoot, .. args];
        return HostUsers.NameOf(Mode) is { } user ? ["runuser", "-u", user, "--", .. skiff] : skiff;
    }

    public void AssertNoContainerLeft(ProcessResult after)
    {
        if (Directory.Exists(ContainersDir))
        {
            var left = Directory.GetFileSystemEntries(ContainersDir);
            Assert.True(left.Length == 0, $"left in {ContainersDir}: {string.Join(", ", left)}\nafter {after}");
        }
    }

    /// <summary>
    /// The full check after a refused run: no container directory, no mount anywhere under
    /// the install, no process still carrying this sandbox's marker.
    /// </summary>
    public void AssertNothingLeftBehind(ProcessResult after)
    {
        AssertNoContainerLeft(after);
        var mounts = File.ReadLines("/proc/self/mountinfo").Where(l => l.Contains(_install.Dir, StringComparison.Ordinal)).ToList();
        Assert.True(mounts.Count == 0, $"mounts left under {_install.Dir}:\n{string.Join('\n', mounts)}\nafter {after}");
        var processes = ProcTable.Snapshot().Where(p => p.Argv.Any(a => a.Contains(Marker, StringComparison.Ordinal))).ToList();
        Assert.True(processes.Count == 0,
            $"processes left: {string.Join(", ", processes.Select(p => $"{p.Pid} {Shell.Join(p.Argv)}"))}\nafter {after}");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leak the assertions above already reported; the install's disposal retries.
        }
    }
}
