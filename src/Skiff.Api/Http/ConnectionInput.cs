namespace Skiff.Api.Http;

/// <summary>
/// The read side of one connection: a buffer in front of the socket that request heads,
/// bodies and a hijacked stream all read through, so no byte is lost between them. At
/// most one read of the socket is outstanding; a read started in the background (to see
/// a client go away while a handler waits) is simply the next read the others await.
/// </summary>
public sealed class ConnectionInput(Stream inner)
{
    /// <summary>Room for the largest head the parser accepts; the buffer starts small and grows to it.</summary>
    private const int Capacity = RequestHeadParser.MaxHeadBytes + 1024;
    private byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;
    private Task<int>? _pending;

    /// <summary>The peer has shut its sending side (or the connection broke): no more bytes will come.</summary>
    public bool Ended { get; private set; }

    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    public int BufferedCount => _end - _start;

    public void Consume(int count)
    {
        if (count < 0 || count > _end - _start)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        _start += count;
        // Never rewind under a background read: it is writing at the old end.
        if (_start == _end && _pending is null)
        {
            _start = _end = 0;
        }
    }

    /// <summary>Reads more from the socket into the buffer; 0 at the end of input (or when the buffer is full).</summary>
    public async ValueTask<int> FillAsync(CancellationToken ct = default)
    {
        if (_pending is { } p)
        {
            _pending = null;
            return await p.WaitAsync(ct);
        }
        if (Ended || !MakeRoom())
        {
            return 0;
        }
        int n = await ReadInnerAsync(_buffer.AsMemory(_end), ct);
        _end += n;
        return n;
    }

    /// <summary>FillAsync for synchronous readers (a tar body read by a sync unpacker).</summary>
    public int Fill()
    {
        if (_pending is { } p)
        {
            _pending = null;
            return p.GetAwaiter().GetResult();
        }
        if (Ended || !MakeRoom())
        {
            return 0;
        }
        int n;
        try
        {
            n = inner.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (IOException)
        {
            n = 0;
        }
        if (n == 0)
        {
            Ended = true;
        }
        _end += n;
        return n;
    }

    /// <summary>
    /// Starts one read in the background and returns it; its bytes land in the buffer and
    /// the next reader gets them. Null when a read is already out or nothing can be read.
    /// </summary>
    public Task<int>? StartBackgroundFill()
    {
        if (_pending is not null || Ended || !MakeRoom())
        {
            return null;
        }
        _pending = BackgroundFillAsync();
        return _pending;
    }

    private async Task<int> BackgroundFillAsync()
    {
        int at = _end;
        int n = await ReadInnerAsync(_buffer.AsMemory(at), CancellationToken.None);
        // The bytes are in place before the end moves over them.
        Volatile.Write(ref _end, at + n);
        return n;
    }

    /// <summary>Buffered bytes first; with none, straight from the socket into the caller's memory.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
    {
        if (destination.Length == 0)
        {
            return 0;
        }
        if (BufferedCount == 0)
        {
            if (_pending is not null)
            {
                await FillAsync(ct);
            }
            else if (!Ended)
            {
                return await ReadInnerAsync(destination, ct);
            }
        }
        return Take(destination.Span);
    }

    public int Read(Span<byte> destination)
    {
        if (destination.Length == 0)
        {
            return 0;
        }
        if (BufferedCount == 0)
        {
            if (_pending is not null)
            {
                Fill();
            }
            else if (!Ended)
            {
                int n;
                try
                {
                    n = inner.Read(destination);
                }
                catch (IOException)
                {
                    n = 0;
                }
                if (n == 0)
                {
                    Ended = true;
                }
                return n;
            }
        }
        return Take(destination);
    }

    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, BufferedCount);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        Consume(n);
        return n;
    }

    /// <summary>A reset or a broken pipe is the end of input, like an orderly close.</summary>
    private async ValueTask<int> ReadInnerAsync(Memory<byte> destination, CancellationToken ct)
    {
        int n;
        try
        {
            n = await inner.ReadAsync(destination, ct);
        }
        catch (IOException)
        {
            n = 0;
        }
        catch (ObjectDisposedException)
        {
            n = 0;
        }
        if (n == 0)
        {
            Ended = true;
        }
        return n;
    }

    private bool MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return true;
        }
        if (_start == 0)
        {
            if (_buffer.Length >= Capacity)
            {
                return false;
            }
            Array.Resize(ref _buffer, Math.Min(Capacity, _buffer.Length * 2));
            return true;
        }
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
        return true;
    }
}
