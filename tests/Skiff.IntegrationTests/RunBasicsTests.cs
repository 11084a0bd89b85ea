using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests;

/// <summary>skiff run end to end: output, exit codes, users, environment, working directory.</summary>
[Collection(SkiffCollection.Name)]
public sealed class RunBasicsTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Echo_prints_to_stdout_and_exits_0(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Run("echo", "hello");

        result.AssertExit(0);
        Assert.Equal("hello\n", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Exit_code_of_the_command_is_skiffs(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        (await box.Run("sh", "-c", "exit 7")).AssertExit(7);
        (await box.RunWith(["--rm"], "sh", "-c", "exit 8")).AssertExit(8);
    }

    [Theory, BothModes]
    public async Task Runs_as_root_in_the_container_by_default(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("id")).AssertExit(0);

        Assert.StartsWith("uid=0(root) gid=0(root)", result.Stdout);
    }

    [Fact]
    public async Task Without_subordinate_ids_runs_as_root_with_a_one_line_warning()
    {
        using var box = install.NewSandbox(Mode.RootlessNoSubIds);

        var result = (await box.Run("id")).AssertExit(0);

        Assert.StartsWith("uid=0(root) gid=0(root)", result.Stdout);
        var warning = Assert.Single(result.StderrLines);
        Assert.StartsWith("skiff: warning: no subordinate ids", warning);
        Assert.Contains(HostUsers.WithoutSubIds, warning);
    }

    [Theory, BothModes]
    public async Task Rootfs_directory_is_never_modified(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string rootfs = Path.Combine(box.Dir, "rootfs");
        await SkiffInstall.CopyTreeAsync(box.Rootfs, rootfs);
        if (HostUsers.NameOf(mode) is { } user)
        {
            // A rootless user's own rootfs: files owned by the host's root are unmapped in
            // its user namespace, and container root could not remove /bin/ls at all.
            (await HostProcess.RunAsync(["chown", "-R", $"{user}:", rootfs])).AssertExit(0);
        }

        var result = await box.Skiff(["run", "--rm", "--rootfs", rootfs, "sh", "-c", "echo x > /newfile; rm /bin/ls; ls /newfile /bin/ls"]);

        // Inside, the change is real: /newfile exists and /bin/ls is gone.
        Assert.Equal("/newfile\n", result.Stdout);
        Assert.False(File.Exists(Path.Combine(rootfs, "newfile")), "the container's write reached the rootfs directory");
        Assert.True(Path.Exists(Path.Combine(rootfs, "bin", "ls")), "the container's rm reached the rootfs directory");
    }

    [Theory, BothModes]
    public async Task Later_env_wins_and_appears_once(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-e", "A=1", "-e", "A=2"], "env")).AssertExit(0);

        Assert.Equal("A=2", Assert.Single(result.StdoutLines, l => l.StartsWith("A=", StringComparison.Ordinal)));
    }

    [Theory, BothModes]
    public async Task Bare_env_name_copies_skiffs_own_value_or_is_dropped(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        var environment = new Dictionary<string, string?> { ["FOO"] = "from skiff", ["SKIFF_IT_UNSET"] = null };

        var result = (await box.Skiff(box.RunArgs(["-e", "FOO", "-e", "SKIFF_IT_UNSET"], "env"), environment: environment)).AssertExit(0);

        Assert.Contains("FOO=from skiff", result.StdoutLines);
        Assert.DoesNotContain(result.StdoutLines, l => l.StartsWith("SKIFF_IT_UNSET", StringComparison.Ordinal));
    }

    [Theory, BothModes]
    public async Task Default_environment_has_path_hostname_and_home(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("sh", "-c", "env; echo host=$(hostname)")).AssertExit(0);

        var lines = result.StdoutLines;
        Assert.Contains(lines, l => l.StartsWith("PATH=", StringComparison.Ordinal) && l.Contains("/bin", StringComparison.Ordinal));
        Assert.Contains("HOME=/root", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("TERM=", StringComparison.Ordinal));
        string hostname = lines.Single(l => l.StartsWith("host=", StringComparison.Ordinal))["host=".Length..];
        Assert.Contains($"HOSTNAME={hostname}", lines);
    }

    [Theory, BothModes]
    public async Task Named_user_gets_its_uid_groups_and_home(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-u", "user"], "sh", "-c", "id; echo HOME=$HOME")).AssertExit(0);

        Assert.StartsWith("uid=1000(user) gid=1000(user)", result.StdoutLines[0]);
        Assert.Contains("10(wheel)", result.StdoutLines[0]);
        Assert.Equal("HOME=/home/user", result.StdoutLines[1]);
    }

    [Theory, BothModes]
    public async Task Numeric_user_and_group(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-u", "1000:1000"], "sh", "-c", "id -u; id -g")).AssertExit(0);

        Assert.Equal("1000\n1000\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Nobody_is_the_highest_mapped_user(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-u", "nobody"], "id")).AssertExit(0);

        Assert.StartsWith("uid=65534(nobody) gid=65534(nogroup)", result.Stdout);
    }

    [Theory, BothModes]
    public async Task User_with_a_named_group(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-u", "daemon:wheel"], "sh", "-c", "id -u; id -g")).AssertExit(0);

        Assert.Equal("1\n10\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Workdir_is_created_and_used(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-w", "/a/b"], "pwd")).AssertExit(0);

        Assert.Equal("/a/b\n", result.Stdout);
        Assert.False(Directory.Exists(Path.Combine(box.Rootfs, "a")), "-w created its directory in the rootfs directory");
    }
}
