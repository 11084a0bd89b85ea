using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>
/// How pull and push show progress: a line per layer state on a pipe, a redrawn block of
/// per-layer bars on a terminal, nothing at all with -q.
/// </summary>
public sealed class TransferProgressView : ITransferProgress
{
    private readonly bool _quiet;
    private readonly bool _terminal;
    private readonly TextWriter _out;
    private readonly Lock _lock = new();
    private readonly List<Row> _rows = [];
    private int _drawn;
    private long _lastDraw;

    private sealed class Row(Digest blob)
    {
        public Digest Blob { get; } = blob;
        public string State { get; set; } = "";
        public long Done { get; set; }
        public long Total { get; set; }
    }

    public TransferProgressView(bool quiet, TextWriter output)
    {
        _quiet = quiet;
        _out = output;
        _terminal = !quiet && Interop.Libc.isatty(1) == 1;
    }

    public void Message(string line)
    {
        if (_quiet)
        {
            return;
        }
        lock (_lock)
        {
            if (_terminal && _rows.Count > 0)
            {
                Draw();
                _rows.Clear();
                _drawn = 0;
            }
            _out.WriteLine(line);
            _out.Flush();
        }
    }

    public void Layer(Digest blob, string state, long done, long total)
    {
        if (_quiet)
        {
            return;
        }
        lock (_lock)
        {
            var row = _rows.Find(r => r.Blob == blob);
            if (row is null)
            {
                row = new Row(blob);
                _rows.Add(row);
            }
            bool changed = row.State != state;
            row.State = state;
            row.Done = done;
            row.Total = total;
            if (!_terminal)
            {
                if (changed)
                {
                    _out.WriteLine($"{blob.Short}: {state}");
                    _out.Flush();
                }
                return;
            }
            long now = Environment.TickCount64;
            if (changed || now - _lastDraw >= 100)
            {
                _lastDraw = now;
                Draw();
            }
        }
    }

    private void Draw()
    {
        var sb = new System.Text.StringBuilder();
        if (_drawn > 0)
        {
            sb.Append($"\x1b[{_drawn}A");
        }
        foreach (var r in _rows)
        {
            sb.Append("\r\x1b[2K").Append(r.Blob.Short).Append(": ").Append(r.State);
            if (r.State is "Downloading" or "Pushing" && r.Total > 0)
            {
                const int width = 30;
                int filled = (int)Math.Clamp(r.Done * width / r.Total, 0, width);
                sb.Append(" [").Append('=', filled).Append(filled < width ? ">" : "").Append(' ', Math.Max(0, width - filled - 1))
                  .Append("] ").Append(Size(r.Done)).Append('/').Append(Size(r.Total));
            }
            sb.Append('\n');
        }
        _drawn = _rows.Count;
        _out.Write(sb.ToString());
        _out.Flush();
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1000 => $"{bytes}B",
        < 1000 * 1000 => $"{bytes / 1000.0:0.#}kB",
        < 1000L * 1000 * 1000 => $"{bytes / 1e6:0.#}MB",
        _ => $"{bytes / 1e9:0.##}GB",
    };
}
