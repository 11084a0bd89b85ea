using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Skiff.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Skiff.IntegrationTests.Network;

/// <summary>
/// The private network for real, through `skiff __net-test`: a stand-in container made
/// with unshare, connected by pasta or slirp4netns through the code skiff run uses, as
/// root, rootless in a user namespace of its own, and rootless inside the keeper's.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class PrivateNetworkTests(SkiffInstall install, ITestOutputHelper log)
{
    public enum Who
    {
        Root,
        /// <summary>skiff-test outside the keeper (SKIFF_NO_KEEPER): the container has a user namespace of its own.</summary>
        Rootless,
        /// <summary>skiff-test inside the keeper's user namespace, which the container shares.</summary>
        RootlessInKeeper,
    }

    public static TheoryData<Who, string> Everyone => new()
    {
        { Who.Root, "pasta" }, { Who.Root, "slirp4netns" },
        { Who.Rootless, "pasta" }, { Who.Rootless, "slirp4netns" },
        { Who.RootlessInKeeper, "pasta" }, { Who.RootlessInKeeper, "slirp4netns" },
    };

    [Theory]
    [MemberData(nameof(Everyone))]
    public async Task A_published_port_reaches_httpd_inside_and_inside_reaches_the_host(Who who, string tool)
    {
        using var sb = install.NewSandbox(who == Who.Root ? Mode.Root : Mode.Rootless);
        int? keeper = who == Who.RootlessInKeeper ? await StartKeeper(sb) : null;
        string www = WebRoot(sb);
        using var probe = Probe.Start(Argv(sb, who, ["__net-test", "--tool", tool, "--name", "web", "-p", "127.0.0.1:18080:80",
            "--", "busybox", "httpd", "-f", "-p", "80", "-h", www]));
        await probe.WaitForAsync("ready");
        int target = probe.Int("target");
        Assert.Equal($"{tool} {probe.Value("tool").Split(' ')[1]}", probe.Value("tool"));
        Assert.Equal("10.0.2.100/24 gateway 10.0.2.2", probe.Value("ip"));
        Assert.Equal("127.0.0.1:18080->80/tcp", probe.Value("port"));
        Assert.Equal("nameserver 10.0.2.3", probe.Value("resolv"));
        log.WriteLine($"{who} {tool}: attach {probe.Value("attach-ms")} ms");
        if (keeper is { } k)
        {
            Assert.Equal(new FileInfo($"/proc/{k}/ns/user").LinkTarget, new FileInfo($"/proc/{target}/ns/user").LinkTarget);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal($"hello from {sb.Marker}\n", await http.GetStringAsync("http://127.0.0.1:18080/"));

        // Outbound: from inside the namespace to a server on the host's own address.
        string hostIp = PrimaryAddress();
        using var server = new TcpListener(IPAddress.Parse(hostIp), 0);
        server.Start();
        int port = ((IPEndPoint)server.LocalEndpoint).Port;
        var served = ServeOnceAsync(server, $"outbound {sb.Marker}");
        var wget = await HostProcess.RunAsync(["nsenter", "-t", Num(target), "-n", "busybox", "wget", "-q", "-O", "-", $"http://{hostIp}:{Num(port)}/"]);
        wget.AssertExit(0);
        Assert.Equal($"outbound {sb.Marker}", wget.Stdout);
        await served;

        // DNS through the helper's forwarder, wherever the host itself can resolve.
        var hostLookup = await HostProcess.RunAsync(["busybox", "nslookup", "deb.debian.org"]);
        if (hostLookup.ExitCode == 0)
        {
            (await HostProcess.RunAsync(["nsenter", "-t", Num(target), "-n", "busybox", "nslookup", "deb.debian.org", "10.0.2.3"])).AssertExit(0);
        }
        else
        {
            log.WriteLine("the host resolves no names here: DNS inside not checked");
        }

        Libc.Kill(target, 9);
        var exit = await probe.WaitForExitAsync();
        Assert.True(exit.Code == 0, exit.ToString());
        Assert.Equal("137", probe.Value("done"));
        AssertNoHelperFor(target);
        AssertFree(18080);
    }

    [Theory]
    [MemberData(nameof(Everyone))]
    public async Task A_port_already_bound_is_refused_with_dockers_message_before_anything_starts(Who who, string tool)
    {
        using var sb = install.NewSandbox(who == Who.Root ? Mode.Root : Mode.Rootless);
        if (who == Who.RootlessInKeeper)
        {
            await StartKeeper(sb);
        }
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var result = await HostProcess.RunAsync(Argv(sb, who, ["__net-test", "--tool", tool, "--name", "web", "-p", $"127.0.0.1:{Num(port)}:80",
            "--", "busybox", "httpd", "-f", "-p", "80", "-h", WebRoot(sb)]));
        result.AssertExit(125);
        Assert.Equal($"skiff: driver failed programming external connectivity on endpoint web: Bind for 127.0.0.1:{Num(port)} failed: port is already allocated\n",
            result.Stderr);
        Assert.Empty(result.Stdout);
        sb.AssertNothingLeftBehind(result);
    }

    [Theory]
    [MemberData(nameof(Everyone))]
    public async Task The_helper_outlives_the_caller_while_its_hold_fds_are_held_and_no_longer(Who who, string tool)
    {
        using var sb = install.NewSandbox(who == Who.Root ? Mode.Root : Mode.Rootless);
        if (who == Who.RootlessInKeeper)
        {
            await StartKeeper(sb);
        }
        using var probe = Probe.Start(Argv(sb, who, ["__net-test", "--tool", tool, "--detach", "-p", "127.0.0.1::80",
            "--", "busybox", "httpd", "-f", "-p", "80", "-h", WebRoot(sb)]));
        var exit = await probe.WaitForExitAsync();
        Assert.True(exit.Code == 0, exit.ToString());
        int target = probe.Int("target");
        int holder = probe.Int("holder");
        int helper = int.Parse(probe.Value("tool").Split(' ')[1], CultureInfo.InvariantCulture);
        string port = probe.Value("port").Split("->")[0].Split(':')[1];
        Assert.NotEqual("0", port);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal($"hello from {sb.Marker}\n", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
            Assert.True(Alive(helper), $"{tool} {helper} is gone with the skiff that started it");
        }
        finally
        {
            Libc.Kill(target, 9);
            Libc.Kill(holder, 9);
        }
        await WaitGone(helper);
        AssertFree(int.Parse(port, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(Mode.Root)]
    [InlineData(Mode.Rootless)]
    public async Task Without_pasta_or_slirp4netns_the_message_names_the_packages(Mode mode)
    {
        using var sb = install.NewSandbox(mode);
        var argv = sb.Argv(["__net-test", "-p", "127.0.0.1:18080:80", "--", "busybox", "true"]).ToList();
        argv.Insert(argv.IndexOf(install.Skiff), "PATH=/nonexistent");
        argv.Insert(argv.IndexOf("PATH=/nonexistent"), "env");
        var result = await HostProcess.RunAsync(argv);
        result.AssertExit(125);
        Assert.Equal("skiff: private networking needs pasta (apt-get install passt) or slirp4netns (apt-get install slirp4netns); "
            + "or use --network none or --network host\n", result.Stderr);
    }

    [Theory]
    [InlineData(Who.Root, "pasta")]
    [InlineData(Who.Root, "slirp4netns")]
    [InlineData(Who.Rootless, "pasta")]
    [InlineData(Who.Rootless, "slirp4netns")]
    public async Task Attach_latency(Who who, string tool)
    {
        using var sb = install.NewSandbox(who == Who.Root ? Mode.Root : Mode.Rootless);
        using var probe = Probe.Start(Argv(sb, who, ["__net-test", "--tool", tool, "--repeat", "10", "-p", "127.0.0.1::80", "--", "sleep", "60"]));
        await probe.WaitForAsync("ready");
        Libc.Kill(probe.Int("target"), 9);
        await probe.WaitForExitAsync();
        var attach = probe.Values("attach-ms").Select(v => double.Parse(v, CultureInfo.InvariantCulture)).Order().ToList();
        var release = probe.Values("release-ms").Select(v => double.Parse(v, CultureInfo.InvariantCulture)).Order().ToList();
        log.WriteLine($"{who} {tool}: attach p50 {attach[attach.Count / 2]:F1} ms (min {attach[0]:F1}, max {attach[^1]:F1}); "
            + $"release p50 {release[release.Count / 2]:F1} ms");
        Assert.Equal(11, attach.Count);
        Assert.All(attach, ms => Assert.InRange(ms, 0, 5000));
    }

    /// <summary>skiff's argv for who: runuser for the rootless cases, SKIFF_NO_KEEPER outside the keeper.</summary>
    private string[] Argv(Sandbox sb, Who who, string[] args)
    {
        var argv = sb.Argv(args).ToList();
        if (who == Who.Rootless)
        {
            argv.InsertRange(argv.IndexOf(install.Skiff), ["env", "SKIFF_NO_KEEPER=1"]);
        }
        return [.. argv];
    }

    /// <summary>A rootless skiff run leaves the keeper (or finds it); the next skiff joins it.</summary>
    private static async Task<int> StartKeeper(Sandbox sb)
    {
        (await sb.Run("true")).AssertExit(0);
        var user = HostUsers.Get(HostUsers.WithSubIds);
        string pidFile = $"/tmp/skiff-run-{user.Uid}/userns-keeper.pid";
        int pid = int.Parse(File.ReadAllText(pidFile).Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.True(Alive(pid), $"no keeper behind {pidFile}");
        return pid;
    }

    private static string WebRoot(Sandbox sb)
    {
        string www = Path.Combine(sb.Dir, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), $"hello from {sb.Marker}\n");
        SkiffInstall.MakeWorldReadable(www);
        File.SetUnixFileMode(Path.Combine(www, "index.html"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return www;
    }

    private static async Task ServeOnceAsync(TcpListener server, string body)
    {
        using var client = await server.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(15));
        using var stream = client.GetStream();
        // Read the request up to its blank line, then answer.
        var request = new StringBuilder();
        var buf = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buf);
            if (n == 0)
            {
                break;
            }
            request.Append(Encoding.ASCII.GetString(buf, 0, n));
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
    }

    /// <summary>The host's address on its default route (no packet is sent).</summary>
    private static string PrimaryAddress()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(new IPEndPoint(IPAddress.Parse("198.51.100.1"), 9));
        return ((IPEndPoint)s.LocalEndPoint!).Address.ToString();
    }

    /// <summary>No pasta or slirp4netns serving target's namespace (their argv names its pid) is still running.</summary>
    private static void AssertNoHelperFor(int target)
    {
        var left = ProcTable.Snapshot()
            .Where(p => p.Argv.Any(a => a.Contains($"pasta-{target}-", StringComparison.Ordinal) || a.Contains($"slirp-{target}-", StringComparison.Ordinal)))
            .Where(p => Alive(p.Pid))
            .ToList();
        Assert.True(left.Count == 0, $"left running: {string.Join(", ", left.Select(p => $"{p.Pid} {Shell.Join(p.Argv)}"))}");
    }

    private static async Task WaitGone(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (Alive(pid))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"process {pid} still running 5 s after its hold fds were closed");
            await Task.Delay(20);
        }
    }

    /// <summary>Running: present and not a zombie waiting for init to reap it.</summary>
    private static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void AssertFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        socket.Listen();
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>skiff __net-test in the background, its "key value" lines collected as they come.</summary>
    private sealed class Probe : IDisposable
    {
        private readonly Process _process;
        private readonly IReadOnlyList<string> _argv;
        private readonly List<string> _lines = [];
        private readonly Task _pump;
        private readonly Task<string> _stderr;

        private Probe(IReadOnlyList<string> argv)
        {
            _argv = argv;
            _process = HostProcess.Start(argv);
            _process.StandardInput.Close();
            _stderr = _process.StandardError.ReadToEndAsync();
            _pump = Task.Run(async () =>
            {
                while (await _process.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (_lines)
                    {
                        _lines.Add(line);
                    }
                }
            });
        }

        public static Probe Start(IReadOnlyList<string> argv) => new(argv);

        public async Task WaitForAsync(string line)
        {
            var clock = Stopwatch.StartNew();
            while (!Lines().Contains(line))
            {
                if (_pump.IsCompleted || clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    await Task.WhenAny(_process.WaitForExitAsync(), Task.Delay(1000));
                    string why = _process.HasExited ? $"exit {_process.ExitCode}" : "timeout";
                    Assert.Fail($"no \"{line}\" ({why}) from {Shell.Join(_argv)}\n--- stdout\n{string.Join('\n', Lines())}\n--- stderr\n"
                        + (_stderr.IsCompleted ? await _stderr : "(open)"));
                }
                await Task.Delay(10);
            }
        }

        public async Task<(int Code, string Stderr)> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await _pump.WaitAsync(TimeSpan.FromSeconds(30));
            return (_process.ExitCode, await _stderr);
        }

        public string Value(string key) => Values(key).FirstOrDefault()
            ?? throw new InvalidOperationException($"no \"{key}\" line from {Shell.Join(_argv)}:\n{string.Join('\n', Lines())}");

        public IEnumerable<string> Values(string key) =>
            Lines().Where(l => l.StartsWith(key + " ", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..]);

        public int Int(string key) => int.Parse(Value(key), CultureInfo.InvariantCulture);

        private List<string> Lines()
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                HostProcess.KillTree(_process);
            }
            _process.Dispose();
        }
    }
}
