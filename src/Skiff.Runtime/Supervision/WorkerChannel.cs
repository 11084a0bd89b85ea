using System.Globalization;
using System.Text;

namespace Skiff.Runtime.Supervision;

/// <summary>
/// The worker's side of the supervisor's control socket (fd 3, SOCK_SEQPACKET): after it
/// has launched the container with CLONE_PARENT (LaunchPlan.CloneParent), the worker
/// sends exactly one message and exits. Its fds 1 and 2 are the container's log pipes:
/// a worker says what went wrong here, never on stderr.
/// </summary>
public sealed class WorkerChannel(int fd = WorkerChannel.DefaultFd)
{
    public const int DefaultFd = 3;
    /// <summary>The supervisor takes at most this many fds: the pty master and 16 to hold.</summary>
    public const int MaxFds = 17;

    public int Fd { get; } = fd;

    /// <summary>
    /// The container runs as <paramref name="pid"/>. With a terminal its master goes first;
    /// <paramref name="holdFds"/> are kept open by the supervisor until the container exits
    /// (a network helper's exit fd, say). The fds are copied: the caller still owns them.
    /// </summary>
    public void ReportPid(int pid, int ptyMaster = -1, IReadOnlyList<int>? holdFds = null)
    {
        if (pid <= 0)
        {
            throw SkiffException.Invalid($"not a pid: {pid}");
        }
        var fds = new List<int>();
        if (ptyMaster >= 0)
        {
            fds.Add(ptyMaster);
        }
        fds.AddRange(holdFds ?? []);
        if (fds.Count > MaxFds)
        {
            throw SkiffException.Invalid($"the supervisor holds at most {MaxFds} fds, not {fds.Count}");
        }
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"pid {pid}"));
        if (ptyMaster >= 0)
        {
            text.Append(" tty");
        }
        if (holdFds is { Count: > 0 })
        {
            text.Append(CultureInfo.InvariantCulture, $" hold {holdFds.Count}");
        }
        Send(text.ToString(), fds);
    }

    /// <summary>
    /// The launch failed: <paramref name="code"/> is the exit code the CLI reports (125 for
    /// skiff's own errors, 126 cannot invoke, 127 not found), the message one line.
    /// </summary>
    public void ReportError(int code, string message)
    {
        string line = message.ReplaceLineEndings(" ").Trim();
        Send(string.Create(CultureInfo.InvariantCulture, $"error {(code > 0 ? code : 125)} {line}"), []);
    }

    /// <summary>The category's exit code, as Program.ExitCode maps it.</summary>
    public static int ExitCodeOf(ErrorCategory category) => category switch
    {
        ErrorCategory.CannotInvoke => 126,
        ErrorCategory.CommandNotFound => 127,
        _ => 125,
    };

    private unsafe void Send(string text, List<int> fds)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 1000)
        {
            Array.Resize(ref bytes, 1000); // the supervisor reads one message of at most 1023 bytes
        }
        int[] fdArray = [.. fds];
        fixed (byte* b = bytes)
        fixed (int* f = fdArray)
        {
            SystemCallException.Check(Interop.Shim.SupervisorReport(Fd, b, bytes.Length, f, fdArray.Length),
                "report to the supervisor (fd 3)");
        }
    }
}
