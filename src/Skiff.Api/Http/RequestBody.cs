namespace Skiff.Api.Http;

/// <summary>
/// A request body as a read-only stream over the connection: framed by Content-Length or
/// by chunked transfer coding. Reads past its end return 0; the next request's bytes are
/// never handed out. Synchronous reads work too (for the tar readers of load).
/// </summary>
public abstract class RequestBody : Stream
{
    /// <summary>Every byte of the body has been read (so the connection can carry another request).</summary>
    public abstract bool Completed { get; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads and drops the rest of the body, up to a limit; false when more than that was left.</summary>
    public async Task<bool> DrainAsync(long limit, CancellationToken ct)
    {
        var scratch = new byte[8192];
        long total = 0;
        while (!Completed)
        {
            int n = await ReadAsync(scratch, ct);
            if (n == 0)
            {
                break;
            }
            total += n;
            if (total > limit)
            {
                return false;
            }
        }
        return Completed;
    }

    public static RequestBody Empty { get; } = new ContentLengthBody(null!, 0);
}

/// <summary>A body of Content-Length bytes.</summary>
public sealed class ContentLengthBody(ConnectionInput input, long length) : RequestBody
{
    private readonly long _length = length;
    private long _left = length;

    public override bool Completed => _left == 0;

    public override int Read(Span<byte> buffer)
    {
        if (_left == 0 || buffer.Length == 0)
        {
            return 0;
        }
        int n = input.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
        return Account(n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_left == 0 || buffer.Length == 0)
        {
            return 0;
        }
        int n = await input.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
        return Account(n);
    }

    private int Account(int n)
    {
        if (n == 0)
        {
            throw new BadHttpRequestException(400, $"request body ended early: {_left} of {_length} bytes missing");
        }
        _left -= n;
        return n;
    }
}

/// <summary>
/// Transfer-Encoding: chunked (docker load and build send their tars this way): hex
/// size lines (extensions ignored), data, CRLF; a zero chunk, then trailer fields, which
/// are read and dropped.
/// </summary>
public sealed class ChunkedBody(ConnectionInput input) : RequestBody
{
    private const int MaxLineBytes = 4096;
    private const int MaxTrailerBytes = RequestHeadParser.MaxHeadBytes;
    private long _chunkLeft;
    private bool _needCrlf;
    private bool _done;

    public override bool Completed => _done;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (!_done && _chunkLeft == 0)
        {
            // Everything between chunks is small and parsed from the buffer: fill until a line is there.
            while (!TryAdvance())
            {
                if (input.Fill() == 0)
                {
                    throw Truncated();
                }
            }
        }
        if (_done)
        {
            return 0;
        }
        int n = input.Read(buffer[..(int)Math.Min(buffer.Length, _chunkLeft)]);
        return Account(n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (!_done && _chunkLeft == 0)
        {
            while (!TryAdvance())
            {
                if (await input.FillAsync(cancellationToken) == 0)
                {
                    throw Truncated();
                }
            }
        }
        if (_done)
        {
            return 0;
        }
        int n = await input.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _chunkLeft)], cancellationToken);
        return Account(n);
    }

    private int Account(int n)
    {
        if (n == 0)
        {
            throw Truncated();
        }
        _chunkLeft -= n;
        _needCrlf = _chunkLeft == 0;
        return n;
    }

    private static BadHttpRequestException Truncated() => new(400, "chunked request body ended early");

    /// <summary>
    /// Parses what comes between chunk data from the buffer: the CRLF after data, the next
    /// size line, or the trailer. False when the buffer does not hold a whole piece yet.
    /// </summary>
    private bool TryAdvance()
    {
        var b = input.Buffered;
        if (_needCrlf)
        {
            if (b.Length < 1 || b[0] == '\r' && b.Length < 2)
            {
                return CheckNoLineYet(b);
            }
            int skip = b[0] == '\n' ? 1 : b[0] == '\r' && b[1] == '\n' ? 2 : -1;
            if (skip < 0)
            {
                throw new BadHttpRequestException(400, "malformed chunked request body: no line break after chunk data");
            }
            input.Consume(skip);
            _needCrlf = false;
            b = input.Buffered;
        }
        int nl = b.IndexOf((byte)'\n');
        if (nl < 0)
        {
            return CheckNoLineYet(b);
        }
        if (nl > MaxLineBytes)
        {
            throw new BadHttpRequestException(400, "malformed chunked request body: chunk size line too long");
        }
        var line = b[..nl];
        if (line.Length > 0 && line[^1] == '\r')
        {
            line = line[..^1];
        }
        long size = ParseSize(line);
        if (size > 0)
        {
            input.Consume(nl + 1);
            _chunkLeft = size;
            return true;
        }
        // Last chunk: trailer fields up to an empty line, all in the buffer before anything is consumed.
        int pos = nl + 1;
        while (true)
        {
            int next = b[pos..].IndexOf((byte)'\n');
            if (next < 0)
            {
                if (b.Length - pos > MaxTrailerBytes)
                {
                    throw new BadHttpRequestException(431, "chunked request trailer too large");
                }
                return false;
            }
            var field = b.Slice(pos, next);
            pos += next + 1;
            if (field.Length == 0 || field.Length == 1 && field[0] == '\r')
            {
                input.Consume(pos);
                _done = true;
                return true;
            }
        }
    }

    private static bool CheckNoLineYet(ReadOnlySpan<byte> b)
    {
        if (b.Length > MaxLineBytes)
        {
            throw new BadHttpRequestException(400, "malformed chunked request body: chunk size line too long");
        }
        return false;
    }

    /// <summary>1*HEXDIG, then optional whitespace and ";extension" (ignored).</summary>
    private static long ParseSize(ReadOnlySpan<byte> line)
    {
        int semi = line.IndexOf((byte)';');
        var digits = (semi < 0 ? line : line[..semi]).TrimEnd(" \t"u8);
        if (digits.Length is 0 or > 15)
        {
            throw new BadHttpRequestException(400, "malformed chunked request body: bad chunk size");
        }
        long size = 0;
        foreach (byte c in digits)
        {
            int v = c is >= (byte)'0' and <= (byte)'9' ? c - '0'
                : c is >= (byte)'a' and <= (byte)'f' ? c - 'a' + 10
                : c is >= (byte)'A' and <= (byte)'F' ? c - 'A' + 10
                : -1;
            if (v < 0)
            {
                throw new BadHttpRequestException(400, "malformed chunked request body: bad chunk size");
            }
            size = size * 16 + v;
        }
        return size;
    }
}
