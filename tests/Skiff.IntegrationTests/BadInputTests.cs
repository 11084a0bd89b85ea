using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests;

/// <summary>
/// Input skiff refuses: the exit code (125 for its own errors, 126 and 127 for a command
/// it cannot run), one line on stderr that names what is wrong, and nothing left behind.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class BadInputTests(SkiffInstall install)
{
    private const string UsageHint = "See 'skiff run --help'.";

    [Theory, BothModes]
    public async Task Missing_rootfs_directory(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string missing = Path.Combine(box.Dir, "missing");

        var result = await box.Skiff(["run", "--rootfs", missing, "sh", "-c", "sleep 30", box.Marker]);

        AssertRefused(box, result, 125, missing);
    }

    [Theory, BothModes]
    public async Task Rootfs_that_is_a_file(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string file = Path.Combine(box.Dir, "rootfs-file");
        File.WriteAllText(file, "not a directory\n");

        var result = await box.Skiff(["run", "--rootfs", file, "sh", "-c", "sleep 30", box.Marker]);

        AssertRefused(box, result, 125, file);
        Assert.Contains("not a directory", result.Stderr);
    }

    [Fact]
    public async Task Rootless_rootfs_the_user_cannot_read()
    {
        using var box = install.NewSandbox(Mode.Rootless);
        string secret = Path.Combine(box.Dir, "secret");
        Directory.CreateDirectory(secret);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await box.Skiff(["run", "--rootfs", secret, "sh", "-c", "sleep 30", box.Marker]);

        AssertRefused(box, result, 125, secret);
        Assert.Contains("permission denied", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Unknown_flag(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Skiff(box.RunArgs(["--bogus"], "sh", "-c", "sleep 30", box.Marker));

        AssertRefused(box, result, 125, "--bogus", usage: true);
    }

    [Theory, BothModes]
    public async Task Missing_command(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Skiff(box.RunArgs([]));

        AssertRefused(box, result, 125, "requires a command", usage: true);
    }

    [Theory, BothModes]
    public async Task User_with_an_empty_group(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-u", "a:"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "\"a:\"");
    }

    [Theory, BothModes]
    public async Task User_not_in_the_rootfs(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-u", "ghost"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "ghost");
        Assert.Contains("/etc/passwd", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Group_not_in_the_rootfs(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-u", "user:ghosts"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "ghosts");
    }

    [Fact]
    public async Task Rootless_uid_beyond_the_mapping()
    {
        using var box = install.NewSandbox(Mode.Rootless);

        var result = await box.RunWith(["-u", "70000"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "70000");
        Assert.Contains("not mapped", result.Stderr);
    }

    [Fact]
    public async Task Without_subordinate_ids_only_root_exists()
    {
        using var box = install.NewSandbox(Mode.RootlessNoSubIds);

        var result = await box.RunWith(["-u", "1000"], "sh", "-c", "sleep 30", box.Marker);

        Assert.Equal(125, result.ExitCode);
        // The warning every run prints, then the refusal.
        Assert.True(result.StderrLines.Count == 2, result.ToString());
        Assert.StartsWith("skiff: warning: no subordinate ids", result.StderrLines[0]);
        Assert.StartsWith("skiff: ", result.StderrLines[1]);
        Assert.Contains("1000", result.StderrLines[1]);
        Assert.Contains("subordinate ids", result.StderrLines[1]);
        Assert.Equal("", result.Stdout);
        box.AssertNothingLeftBehind(result);
    }

    [Theory, BothModes]
    public async Task Env_with_an_empty_name(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-e", "=x"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "\"=x\"", usage: true);
    }

    [Theory, BothModes]
    public async Task Relative_workdir(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-w", "relative"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "relative");
        Assert.Contains("absolute", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Unsupported_network_mode(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["--network", "nope"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "network nope not found");
    }

    [Theory, BothModes]
    public async Task Command_not_found_is_127(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Run("nonexist", box.Marker);

        AssertRefused(box, result, 127, "skiff: exec: \"nonexist\": executable file not found in $PATH", exact: true);
    }

    [Theory, BothModes]
    public async Task Command_not_executable_is_126(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Run("/etc/passwd", box.Marker);

        AssertRefused(box, result, 126, "skiff: exec: \"/etc/passwd\": permission denied", exact: true);
    }

    [Theory, BothModes]
    public async Task Workdir_that_is_a_file(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.RunWith(["-w", "/etc/passwd"], "sh", "-c", "sleep 30", box.Marker);

        AssertRefused(box, result, 125, "/etc/passwd");
        Assert.Contains("not a directory", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The refusal: exit code, no output, one stderr line "skiff: ..." naming
    /// <paramref name="mentions"/> (plus the help hint for usage errors), nothing left behind.
    /// </summary>
    private static void AssertRefused(Sandbox box, ProcessResult result, int exitCode, string mentions, bool usage = false, bool exact = false)
    {
        result.AssertExit(exitCode);
        Assert.True(result.Stdout.Length == 0, $"printed on stdout: {result}");
        var lines = result.StderrLines;
        Assert.True(lines.Count == (usage ? 2 : 1), $"expected {(usage ? 2 : 1)} stderr lines: {result}");
        if (exact)
        {
            Assert.Equal(mentions, lines[0]);
        }
        else
        {
            Assert.StartsWith("skiff: ", lines[0]);
            Assert.Contains(mentions, lines[0]);
        }

        if (usage)
        {
            Assert.Equal(UsageHint, lines[1]);
        }

        box.AssertNothingLeftBehind(result);
    }
}
