using Skiff.Linux;

namespace Skiff.Tests.Fakes;

/// <summary>
/// ISyscalls that records every call as a line ("mkdir /c/x 448") and fails the call
/// whose line starts with a prefix given to FailOn, with that errno. Launch returns a
/// child whose exec report and exit code the test chooses.
/// </summary>
public sealed class RecordingSyscalls : ISyscalls
{
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private int _nextFd = 100;

    public List<string> Calls { get; } = [];
    public List<LaunchPlan> Plans { get; } = [];
    public HashSet<int> OpenFds { get; } = [];
    public ChildFailure? ExecFailure { get; set; }
    public int ExitCode { get; set; }

    public RecordingSyscalls FailOn(string prefix, int errno)
    {
        _failures[prefix] = errno;
        return this;
    }

    private void Record(string call)
    {
        Calls.Add(call);
        foreach (var (prefix, errno) in _failures)
        {
            if (call.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new SystemCallException(call, errno);
            }
        }
    }

    private int Fd()
    {
        int fd = _nextFd++;
        OpenFds.Add(fd);
        return fd;
    }

    public void CreateDirectory(string path, UnixFileMode mode) => Record($"mkdir {path}");
    public void RemoveTree(string path, int userNamespaceFd) => Record($"rmtree {path} userns={userNamespaceFd}");

    public LaunchedChild Launch(LaunchPlan plan)
    {
        Record("launch");
        Plans.Add(plan);
        return new LaunchedChild(4242, Fd(), Fd(), Fd());
    }

    public int OpenNamespace(int pid, string kind)
    {
        Record($"open-ns {pid} {kind}");
        return Fd();
    }

    public void WriteFile(string path, string contents) => Record($"write {path} {contents.Trim().Replace('\n', ';')}");

    public int Run(string path, IReadOnlyList<string> argv)
    {
        Record($"run {string.Join(' ', argv)}");
        return 0;
    }

    public void Release(LaunchedChild child, bool go)
    {
        Record($"release go={go}");
        Close(child.SyncFd);
        child.SyncFd = -1;
    }

    public void ReleaseWithState(LaunchedChild child, byte[]? state, bool keepOpen)
    {
        Record($"release-state keep={keepOpen} {(state is null ? "" : System.Text.Encoding.UTF8.GetString(state))}");
        if (!keepOpen)
        {
            Close(child.SyncFd);
            child.SyncFd = -1;
        }
    }

    public ChildFailure? AwaitExec(LaunchedChild child)
    {
        Record("await-exec");
        Close(child.ErrFd);
        child.ErrFd = -1;
        return ExecFailure;
    }

    /// <summary>What ReadReport hands out, in order; then EOF.</summary>
    public Queue<ChildFailure> Reports { get; } = new();

    public ChildFailure? ReadReport(LaunchedChild child)
    {
        Record("read-report");
        return Reports.Count > 0 ? Reports.Dequeue() : null;
    }

    public int Wait(LaunchedChild child)
    {
        Record("wait");
        return ExitCode;
    }

    public int OpenPidFd(int pid)
    {
        Record($"pidfd_open {pid}");
        return 900 + pid % 100;
    }

    public int WaitForwarding(LaunchedChild child, int ptyMaster)
    {
        Record($"wait-forwarding pty={ptyMaster}");
        return ExitCode;
    }

    public void HoldSignals(bool hold) => Record($"hold-signals {hold}");

    public void Signal(LaunchedChild child, int signal) => Record($"signal {signal}");

    public void Close(int fd)
    {
        if (fd >= 0)
        {
            OpenFds.Remove(fd);
        }
    }

    public (int Parent, int Child) SocketPair()
    {
        Record("socketpair");
        return (Fd(), Fd());
    }

    public int ReceiveFd(int socket)
    {
        Record("recv-fd");
        return Fd();
    }

    public int ConnectUnix(string path)
    {
        Record($"connect {path}");
        return Fd();
    }

    /// <summary>What SendFd sent, as text.</summary>
    public List<string> Sent { get; } = [];

    public void SendFd(int socket, byte[] message, int fd)
    {
        Record($"send-fd {fd}");
        Sent.Add(System.Text.Encoding.UTF8.GetString(message));
    }
}
