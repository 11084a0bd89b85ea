using System.Globalization;
using System.Text.Json;
using Skiff.Api.Json;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Api.Endpoints;

/// <summary>
/// A pull's or push's progress as Docker's JSON lines ({"status","id","progressDetail",
/// "progress"}), written to a streamed response and flushed line by line. Byte counts
/// are sent at most every 100 ms per layer. If the client is gone, the transfer is
/// cancelled through the given source (a pull then discards what it had added).
/// </summary>
public sealed class JsonProgress(Stream output, CancellationTokenSource? cancelOnFailure = null) : ITransferProgress
{
    private const int BarWidth = 50;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string State, long At)> _layers = [];
    private bool _broken;

    public void Message(string line)
    {
        // "latest: Pulling from library/busybox" is Docker's {"status":"Pulling from ...","id":"latest"}.
        int at = line.IndexOf(": Pulling from ", StringComparison.Ordinal);
        Write(at > 0
            ? new ProgressMessage { Status = line[(at + 2)..], Id = line[..at] }
            : new ProgressMessage { Status = line });
    }

    public void Layer(Digest blob, string state, long done, long total)
    {
        string id = blob.Short;
        long now = Environment.TickCount64;
        bool counting = state is "Downloading" or "Pushing";
        lock (_lock)
        {
            bool known = _layers.TryGetValue(id, out var last);
            if (known && last.State == state && (!counting || now - last.At < 100))
            {
                return;
            }
            _layers[id] = (state, now);
            if (!known && state is "Waiting" or "Downloading")
            {
                Write(new ProgressMessage { Status = "Pulling fs layer", ProgressDetail = new ProgressDetail(), Id = id });
            }
        }
        Write(new ProgressMessage
        {
            Status = state,
            ProgressDetail = counting ? new ProgressDetail { Current = done, Total = total } : new ProgressDetail(),
            Progress = counting ? Bar(done, total) : null,
            Id = id,
        });
    }

    /// <summary>{"stream": text}: what load and build print.</summary>
    public void Stream(string text) => Write(new ProgressMessage { Stream = text });

    /// <summary>The error line that makes the docker CLI print the message and exit 1.</summary>
    public void Error(string message) =>
        Write(new ProgressMessage { ErrorDetail = new ErrorDetail { Message = message }, Error = message });

    public void Aux(JsonElement aux) => Write(new ProgressMessage { ProgressDetail = new ProgressDetail(), Aux = aux });

    public void Write(ProgressMessage message)
    {
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(message, ApiJson.Default.ProgressMessage);
        lock (_lock)
        {
            if (_broken)
            {
                return;
            }
            try
            {
                output.Write(line);
                output.WriteByte((byte)'\n');
                output.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                _broken = true;
                cancelOnFailure?.Cancel();
            }
        }
    }

    /// <summary>Docker's bar: "[=====>     ]  1.23MB/4.56MB".</summary>
    public static string Bar(long done, long total)
    {
        if (total <= 0)
        {
            return $"{HumanSize(done),8}";
        }
        int filled = (int)Math.Clamp(done * BarWidth / total, 0, BarWidth);
        string bar = new string('=', filled) + (filled < BarWidth ? ">" : "") + new string(' ', Math.Max(0, BarWidth - filled - 1));
        return $"[{bar}] {HumanSize(done),8}/{HumanSize(total)}";
    }

    /// <summary>go-units HumanSize: decimal units, 3 significant digits ("1.23MB").</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1)
        {
            v /= 1000;
            u++;
        }
        return v.ToString("G3", CultureInfo.InvariantCulture) + units[u];
    }
}
