using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests;

/// <summary>What the container sees of the host: namespaces, ids, hostname, network, /dev, /sys.</summary>
[Collection(SkiffCollection.Name)]
public sealed partial class RunIsolationTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Command_is_pid_1(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("sh", "-c", "echo $$")).AssertExit(0);

        Assert.Equal("1\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Processes_left_running_die_with_pid_1(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        // The background sh would outlive a plain fork; the pid namespace takes it down with pid 1.
        var result = await box.Run("sh", "-c", "sh -c 'sleep 100' " + box.Marker + " & echo started; exit 5");

        result.AssertExit(5);
        Assert.Equal("started\n", result.Stdout);
        box.AssertNothingLeftBehind(result);
    }

    [Theory, BothModes]
    public async Task Namespaces_differ_from_the_hosts(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string[] kinds = ["user", "mnt", "pid", "ipc", "uts", "net"];

        var result = (await box.Run("sh", "-c", "for n in " + string.Join(' ', kinds) + "; do readlink /proc/self/ns/$n; done")).AssertExit(0);

        Assert.Equal(kinds.Length, result.StdoutLines.Count);
        for (int i = 0; i < kinds.Length; i++)
        {
            string? host = new FileInfo($"/proc/self/ns/{kinds[i]}").LinkTarget;
            bool shared = kinds[i] == "user" && mode == Mode.Root; // Rootful: no user namespace.
            Assert.True(shared == (result.StdoutLines[i] == host), $"{kinds[i]}: container {result.StdoutLines[i]}, host {host}");
        }
    }

    [Fact]
    public async Task Rootless_maps_root_to_the_user_and_the_rest_to_its_subordinate_range()
    {
        using var box = install.NewSandbox(Mode.Rootless);
        var user = HostUsers.Get(HostUsers.WithSubIds);
        var uids = HostUsers.SubordinateIds("/etc/subuid", user.Name) ?? throw new InvalidOperationException("skiff-test has no /etc/subuid range: run tests/setup.sh");
        var gids = HostUsers.SubordinateIds("/etc/subgid", user.Name) ?? throw new InvalidOperationException("skiff-test has no /etc/subgid range: run tests/setup.sh");

        var result = (await box.Run("sh", "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map")).AssertExit(0);

        var maps = result.StdoutLines.Select(l => Whitespace().Replace(l.Trim(), " ")).ToList();
        Assert.Equal(
            [$"0 {user.Uid} 1", $"1 {uids.Start} {Math.Min(uids.Count, 65536)}", "--", $"0 {user.Gid} 1", $"1 {gids.Start} {Math.Min(gids.Count, 65536)}"],
            maps);
    }

    [Fact]
    public async Task Rootless_container_root_can_chown_to_a_mapped_uid()
    {
        using var box = install.NewSandbox(Mode.Rootless);

        var result = (await box.Run("sh", "-c", "touch /x && chown 1000:1000 /x && stat -c %u:%g /x")).AssertExit(0);

        Assert.Equal("1000:1000\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Default_hostname_is_12_hex_digits(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("hostname")).AssertExit(0);

        Assert.Matches("^[0-9a-f]{12}\n$", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Hostname_flag_sets_it(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["-h", "box"], "sh", "-c", "hostname; echo $HOSTNAME")).AssertExit(0);

        Assert.Equal("box\nbox\n", result.Stdout);
        Assert.NotEqual("box", Environment.MachineName);
    }

    [Theory, BothModes]
    public async Task Network_none_has_only_loopback(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.RunWith(["--network", "none"], "ls", "/sys/class/net")).AssertExit(0);

        Assert.Equal("lo\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task The_default_private_network_has_eth0_with_an_address_and_a_route(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("sh", "-c", "ls /sys/class/net; ip -4 -o addr show eth0 | grep -o 'inet [0-9./]*'; ip route | grep default")).AssertExit(0);

        Assert.Equal("eth0", result.StdoutLines[0]);
        Assert.Equal("lo", result.StdoutLines[1]);
        Assert.Equal("inet 10.0.2.100/24", result.StdoutLines[2]);
        Assert.StartsWith("default via ", result.StdoutLines[3]);
    }

    [Theory, BothModes]
    public async Task Network_host_sees_the_hosts_interfaces(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        var hostInterfaces = Directory.GetFileSystemEntries("/sys/class/net").Select(p => Path.GetFileName(p)).Order().ToList();
        Assert.True(hostInterfaces.Count > 1, "this host has only lo: the test cannot tell host from none");

        var result = (await box.RunWith(["--network", "host"], "ls", "/sys/class/net")).AssertExit(0);

        Assert.Equal(hostInterfaces, result.StdoutLines.Order().ToList());
    }

    [Theory, BothModes]
    public async Task Sys_is_read_only(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Run("touch", "/sys/x");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Read-only file system", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Dev_is_minimal_and_dev_null_is_writable(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("sh", "-c", "echo x > /dev/null && echo written; ls /dev")).AssertExit(0);

        Assert.Equal("written", result.StdoutLines[0]);
        var entries = result.StdoutLines.Skip(1).ToList();
        foreach (string name in new[] { "null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm" })
        {
            Assert.Contains(name, entries);
        }

        // Minimal: none of the host's disks or consoles.
        Assert.DoesNotContain(entries, e => e.StartsWith("sd", StringComparison.Ordinal) || e.StartsWith("vd", StringComparison.Ordinal) || e == "mem" || e == "kmsg");
    }

    [Theory, BothModes]
    public async Task Proc_shows_only_the_containers_processes(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Run("sh", "-c", "ls -d /proc/[0-9]*")).AssertExit(0);

        // sh (pid 1) and ls itself; the host has hundreds.
        Assert.InRange(result.StdoutLines.Count, 1, 3);
        Assert.Contains("/proc/1", result.StdoutLines);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
