using System.Diagnostics;
using System.Globalization;
using Skiff.Linux;

namespace Skiff.Runtime.Network;

/// <summary>
/// `skiff __net-test`, a hidden verb for the integration tests: starts a stand-in
/// container (unshare --net, plus a user namespace when rootless outside the keeper, as
/// skiff run would make), attaches a private network to it through the real code path,
/// prints what a test needs, then waits for the stand-in to exit and tears down.
///
///   skiff __net-test [--tool pasta|slirp4netns] [--name NAME] [-p SPEC]... [--repeat N] [--detach] -- CMD [ARG...]
///
/// --detach hands the hold fds to a `sleep` (a supervisor's stand-in) and exits at once.
/// --repeat attaches and tears down N times first, printing the latency of each.
/// </summary>
public static class NetworkProbe
{
    public static int Execute(string[] args)
    {
        string? tool = null;
        string name = "";
        var publish = new List<string>();
        bool detach = false;
        int repeat = 0;
        int i = 0;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            switch (args[i])
            {
                case "--tool": tool = args[++i]; break;
                case "--name": name = args[++i]; break;
                case "-p": publish.Add(args[++i]); break;
                case "--detach": detach = true; break;
                case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw SkiffException.Invalid($"__net-test: unknown option {args[i]}");
            }
        }
        string[] command = args[Math.Min(i + 1, args.Length)..];
        if (command.Length == 0)
        {
            throw SkiffException.Invalid("__net-test: give the stand-in container's command after --");
        }

        var tools = tool is null ? NetworkTools.FromEnvironment() : new NetworkTools(NetworkTools.FindInPath, HostRoutes.HasDefaultRoute, tool);
        var network = new PrivateNetwork(tools);
        bool rootless = Interop.Libc.geteuid() != 0 || UserNamespaceKeeper.Joined != 0;
        var plan = network.Prepare(name, PortSpec.ParseAll(publish), rootless);

        using var target = StartTarget(command);
        try
        {
            for (int r = 0; r < repeat; r++)
            {
                var t = Stopwatch.StartNew();
                using (network.Attach(plan, target.Pid))
                {
                    Say($"attach-ms {t.Elapsed.TotalMilliseconds:F1}");
                    t.Restart();
                }
                Say($"release-ms {t.Elapsed.TotalMilliseconds:F1}");
            }
            var clock = Stopwatch.StartNew();
            var attachment = network.Attach(plan, target.Pid);
            double attachMs = clock.Elapsed.TotalMilliseconds;
            Say($"target {target.Pid}");
            Say($"tool {(attachment.Tool == NetworkTool.Pasta ? "pasta" : "slirp4netns")} {attachment.ToolPid}");
            Say($"ip {attachment.IPAddress}/{attachment.IPPrefixLen} gateway {attachment.Gateway}");
            Say($"attach-ms {attachMs:F1}");
            foreach (var p in attachment.Ports)
            {
                Say($"port {p}");
            }
            foreach (string line in attachment.ResolvConf(ResolvConf.ReadHost()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Say($"resolv {line}");
            }
            if (detach)
            {
                var fds = attachment.HoldFds.Select((fd, n) => (fd, 3 + n)).ToList();
                using var holder = ToolProcess.Start("/bin/sleep", ["sleep", "3600"], fds, newSession: true);
                foreach (int fd in attachment.Detach())
                {
                    Interop.Libc.close(fd);
                }
                Say($"holder {holder.Pid}");
                Say("ready");
                return 0;
            }
            Say("ready");
            int code = target.WaitExit(-1);
            clock.Restart();
            attachment.Dispose();
            Say($"release-ms {clock.Elapsed.TotalMilliseconds:F1}");
            Say($"done {code}");
            return 0;
        }
        catch
        {
            target.Kill();
            throw;
        }
    }

    /// <summary>unshare --net (with a user namespace when rootless and not in the keeper's), once its namespace is there.</summary>
    private static ToolProcess StartTarget(string[] command)
    {
        bool ownUserNs = Interop.Libc.geteuid() != 0;
        string unshare = NetworkTools.FindInPath("unshare") ?? throw SkiffException.NotFound("__net-test needs unshare (util-linux)");
        string[] argv = ownUserNs
            ? ["unshare", "--user", "--map-root-user", "--net", "--", .. command]
            : ["unshare", "--net", "--", .. command];
        string ours = new FileInfo("/proc/self/ns/net").LinkTarget ?? "";
        var target = ToolProcess.Start(unshare, argv, [], newSession: true);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string theirs = "";
            try
            {
                theirs = new FileInfo($"/proc/{target.Pid}/ns/net").LinkTarget ?? "";
            }
            catch (IOException)
            {
            }
            if (theirs.Length > 0 && theirs != ours)
            {
                return target;
            }
            if (clock.ElapsedMilliseconds > 5000)
            {
                string output = target.Output();
                target.Kill();
                throw SkiffException.Internal($"__net-test: the stand-in container has no network namespace of its own: {output}");
            }
            Thread.Sleep(1);
        }
    }

    private static void Say(string line) => Console.Out.WriteLine(line);
}
