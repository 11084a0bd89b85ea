
namespace Skiff.Runtime;

/// <summary>
/// Connects skiff's terminal to the container's pty master for -t: raw mode on our
/// side, bytes copied both ways, window size changes passed on, all undone at the end.
/// </summary>
public sealed unsafe class TerminalSession : IDisposable
{
    private readonly int _master;
    private readonly byte[] _saved = new byte[128];
    private readonly bool _raw;
    private readonly Thread _output;

    /// <summary>The container's pty master; skiff_wait_forwarding resizes it on SIGWINCH.</summary>
    public int Master => _master;

    public TerminalSession(int master, bool forwardInput)
    {
        _master = master;
        if (Interop.Libc.isatty(0) == 1 && forwardInput)
        {
            fixed (byte* s = _saved)
            {
                _raw = Interop.Shim.TtyRaw(0, s, _saved.Length) > 0;
            }
        }
        _output = new Thread(() => Pump(_master, 1)) { IsBackground = true, Name = "tty-out" };
        _output.Start();
        if (forwardInput)
        {
            new Thread(() => Pump(0, _master)) { IsBackground = true, Name = "tty-in" }.Start();
        }
    }

    /// <summary>Terminal size of skiff's stdin, or 0x0 when it is not a terminal.</summary>
    public static (ushort Rows, ushort Cols) CurrentSize()
    {
        ushort rows = 0, cols = 0;
        return Interop.Shim.TtySize(0, &rows, &cols) == 0 ? (rows, cols) : ((ushort)0, (ushort)0);
    }

    private static void Pump(int from, int to)
    {
        byte* buf = stackalloc byte[16384];
        while (true)
        {
            nint n = Interop.Libc.ReadRetry(from, buf, 16384);
            // EIO on the master: every slave fd is closed, the container is gone.
            if (n <= 0 || Interop.Libc.WriteAll(to, buf, n) < 0)
            {
                return;
            }
        }
    }

    /// <summary>After the container exits: let the output drain, then restore the terminal.</summary>
    public void Dispose()
    {
        _output.Join(TimeSpan.FromSeconds(2));
        if (_raw)
        {
            fixed (byte* s = _saved)
            {
                Interop.Shim.TtyRestore(0, s, _saved.Length);
            }
        }
        Interop.Libc.close(_master);
    }
}
