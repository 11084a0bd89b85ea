namespace Skiff.IntegrationTests.Support;

/// <summary>
/// A copy of the build (out/skiff, a skiff-runc link to it, and the busybox rootfs) in a
/// fresh world-readable directory under /tmp, made once for the whole run: the rootless
/// users cannot reach the work tree, which may sit under /root.
/// </summary>
public sealed class SkiffInstall : IAsyncLifetime
{
    private static readonly UnixFileMode WorldReadableDir =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private int _sandboxes;

    /// <summary>The copy's directory, e.g. /tmp/skiff-it-XXXXXX (mode 0755).</summary>
    public string Dir { get; private set; } = "";

    public string Skiff => Path.Combine(Dir, "skiff");

    /// <summary>The OCI runtime face: a symlink to <see cref="Skiff"/> named skiff-runc (argv[0] picks the face).</summary>
    public string SkiffRunc => Path.Combine(Dir, "skiff-runc");

    /// <summary>The shared busybox rootfs; a test that could damage it takes its own copy.</summary>
    public string Rootfs => Path.Combine(Dir, "rootfs");

    public string RepoRoot { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Assert.True(Libc.GetEffectiveUid() == 0, "the integration tests run as root (they use runuser for the rootless cases)");
        RepoRoot = FindRepoRoot();
        string built = Path.Combine(RepoRoot, "out", "skiff");
        string rootfs = Path.Combine(RepoRoot, "out", "rootfs", "busybox");
        Assert.True(File.Exists(built), $"{built} is missing: run ./build.sh in {RepoRoot} first");
        Assert.True(Directory.Exists(rootfs), $"{rootfs} is missing: run ./build.sh in {RepoRoot} first");
        HostUsers.Get(HostUsers.WithSubIds);
        HostUsers.Get(HostUsers.WithoutSubIds);

        Dir = Directory.CreateTempSubdirectory("skiff-it-").FullName;
        File.SetUnixFileMode(Dir, WorldReadableDir);
        File.Copy(built, Skiff);
        File.SetUnixFileMode(Skiff, WorldReadableDir);
        File.CreateSymbolicLink(SkiffRunc, "skiff");
        await CopyTreeAsync(rootfs, Rootfs);
    }

    public Task DisposeAsync()
    {
        if (Dir.Length > 0 && Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>A fresh per-test directory holding the storage root skiff is given with --root.</summary>
    public Sandbox NewSandbox(Mode mode)
    {
        string dir = Path.Combine(Dir, $"t{Interlocked.Increment(ref _sandboxes)}-{Guid.NewGuid():N}");
        return new Sandbox(this, mode, dir);
    }

    /// <summary>cp -a: keeps busybox's symlinks, modes and owners.</summary>
    public static async Task CopyTreeAsync(string from, string to) =>
        (await HostProcess.RunAsync(["cp", "-a", from, to])).AssertExit(0);

    public static void MakeWorldReadable(string dir) => File.SetUnixFileMode(dir, WorldReadableDir);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runtime.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Runtime.sln above {AppContext.BaseDirectory}: cannot find the repository");
    }
}

/// <summary>Every test class shares one copy of the build; the classes run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SkiffCollection : ICollectionFixture<SkiffInstall>
{
    public const string Name = "skiff";
}
