using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Skiff.Api.Http;

/// <summary>
/// The response to one request, in one of three forms: a whole body with Content-Length
/// (<see cref="WriteAsync"/>), a chunked stream whose head goes out at once
/// (<see cref="StartStreamAsync"/>: wait, pull, logs), or the connection itself after a
/// 101 or a bare 200 (<see cref="HijackAsync"/>: attach, exec). A HEAD request gets the
/// same head and no body.
/// </summary>
public sealed class HttpResponse
{
    private readonly HttpConnection _connection;
    private readonly HttpRequest _request;
    private ChunkedResponseStream? _stream;

    internal HttpResponse(HttpConnection connection, HttpRequest request)
    {
        _connection = connection;
        _request = request;
    }

    public int Status { get; set; } = 200;

    public HttpHeaders Headers { get; } = new();

    /// <summary>The head has gone out: the status can no longer change, an error must travel in the body or end the connection.</summary>
    public bool Started { get; private set; }

    public bool Hijacked { get; private set; }

    /// <summary>The connection must close after this response (the client asked, or the body framing demands it).</summary>
    internal bool CloseConnection { get; set; }

    /// <summary>A whole response: status, headers, Content-Length and the body in one write.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> body, string? contentType = null, CancellationToken ct = default)
    {
        EnsureNotStarted();
        if (contentType is not null)
        {
            Headers.Set("Content-Type", contentType);
        }
        bool bodyAllowed = Status is not (204 or 304) && Status >= 200;
        if (bodyAllowed)
        {
            Headers.Set("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture));
        }
        var head = Head();
        Started = true;
        if (!bodyAllowed || _request.IsHead || body.Length == 0)
        {
            await _connection.SendAsync(head, ct);
            return;
        }
        if (body.Length <= 16 * 1024)
        {
            var all = new byte[head.Length + body.Length];
            head.CopyTo(all, 0);
            body.CopyTo(all.AsMemory(head.Length));
            await _connection.SendAsync(all, ct);
            return;
        }
        await _connection.SendAsync(head, ct);
        await _connection.SendAsync(body, ct);
    }

    /// <summary>
    /// Sends the head now (chunked; close-delimited for an HTTP/1.0 client) and returns the
    /// body stream. Writes are buffered until FlushAsync or a full buffer; the stream is
    /// finished when the handler returns.
    /// </summary>
    public async Task<Stream> StartStreamAsync(string? contentType, CancellationToken ct = default)
    {
        EnsureNotStarted();
        if (contentType is not null)
        {
            Headers.Set("Content-Type", contentType);
        }
        Headers.Remove("Content-Length");
        bool chunked = _request.Head.MinorVersion >= 1;
        if (chunked)
        {
            Headers.Set("Transfer-Encoding", "chunked");
        }
        else
        {
            CloseConnection = true;
        }
        var head = Head();
        Started = true;
        await _connection.SendAsync(head, ct);
        _stream = new ChunkedResponseStream(_connection, chunked, discard: _request.IsHead);
        return _stream;
    }

    /// <summary>
    /// Takes over the connection, as dockerd does for attach and exec start. With "Upgrade:
    /// tcp" the answer is "101 UPGRADED"; without (older Docker.DotNet) a 200 with no body
    /// framing. Either way the stream that comes back is the raw socket: reads give what the
    /// client sends (0 once it half-closes), writes go straight out. The handler keeps the
    /// stream until it returns; then the connection closes.
    /// </summary>
    public async Task<HijackedStream> HijackAsync(string contentType, CancellationToken ct = default)
    {
        EnsureNotStarted();
        // What follows the head is the client's stdin: a request body the handler left unread must not pass for it.
        if (!_request.Body.Completed && !await _request.Body.DrainAsync(1 << 20, ct))
        {
            throw new BadHttpRequestException(413, "request body too large for an attach or exec");
        }
        Headers.Set("Content-Type", contentType);
        Headers.Remove("Content-Length");
        if (_request.WantsUpgrade)
        {
            Status = 101;
            Headers.Set("Connection", "Upgrade");
            Headers.Set("Upgrade", "tcp");
        }
        else
        {
            Status = 200;
        }
        var head = Head();
        Started = true;
        Hijacked = true;
        CloseConnection = true;
        await _connection.SendAsync(head, ct);
        return _connection.Hijack();
    }

    /// <summary>After the handler: a response it never started goes out empty; a stream gets its last chunk.</summary>
    internal async Task FinishAsync(CancellationToken ct)
    {
        if (!Started)
        {
            await WriteAsync(ReadOnlyMemory<byte>.Empty, null, ct);
            return;
        }
        if (_stream is not null)
        {
            await _stream.FinishAsync(ct);
        }
    }

    private void EnsureNotStarted()
    {
        if (Started)
        {
            throw new InvalidOperationException("the response has started already");
        }
    }

    private byte[] Head()
    {
        if (CloseConnection && Status != 101)
        {
            Headers.Set("Connection", "close");
        }
        var sb = new StringBuilder(256);
        sb.Append("HTTP/1.1 ").Append(Status.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Reason(Status)).Append("\r\n");
        foreach (var (name, value) in Headers.Fields)
        {
            sb.Append(name).Append(": ");
            // A value echoing user input must not split the head.
            foreach (char c in value)
            {
                sb.Append(c is '\r' or '\n' ? ' ' : c);
            }
            sb.Append("\r\n");
        }
        sb.Append("\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    public static string Reason(int status) => status switch
    {
        100 => "Continue",
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };
}

/// <summary>
/// A streamed response body: chunked transfer coding (or raw for HTTP/1.0). Bytes are
/// gathered until Flush or a full buffer, then sent as one chunk.
/// </summary>
public sealed class ChunkedResponseStream : Stream
{
    private const int BufferSize = 32 * 1024;
    private readonly HttpConnection _connection;
    private readonly bool _chunked;
    private readonly bool _discard;
    private readonly byte[] _buffer = new byte[BufferSize + 32];
    private const int HeaderRoom = 16;
    private int _count;
    private bool _finished;

    internal ChunkedResponseStream(HttpConnection connection, bool chunked, bool discard)
    {
        _connection = connection;
        _chunked = chunked;
        _discard = discard;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        CheckOpen();
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, BufferSize - _count);
            data[..n].CopyTo(_buffer.AsSpan(HeaderRoom + _count));
            _count += n;
            data = data[n..];
            if (_count == BufferSize)
            {
                Flush();
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckOpen();
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, BufferSize - _count);
            data[..n].CopyTo(_buffer.AsMemory(HeaderRoom + _count));
            _count += n;
            data = data[n..];
            if (_count == BufferSize)
            {
                await FlushAsync(cancellationToken);
            }
        }
    }

    public override void Flush()
    {
        if (_count == 0 || _discard)
        {
            _count = 0;
            return;
        }
        var chunk = Frame();
        _count = 0;
        _connection.Send(chunk.Span);
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_count == 0 || _discard)
        {
            _count = 0;
            return;
        }
        var chunk = Frame();
        _count = 0;
        await _connection.SendAsync(chunk, cancellationToken);
    }

    /// <summary>Puts "SIZE\r\n" in front of the gathered bytes and "\r\n" after them, in place.</summary>
    private ReadOnlyMemory<byte> Frame()
    {
        if (!_chunked)
        {
            return _buffer.AsMemory(HeaderRoom, _count);
        }
        string size = _count.ToString("x", CultureInfo.InvariantCulture) + "\r\n";
        int start = HeaderRoom - size.Length;
        Encoding.ASCII.GetBytes(size, _buffer.AsSpan(start));
        _buffer[HeaderRoom + _count] = (byte)'\r';
        _buffer[HeaderRoom + _count + 1] = (byte)'\n';
        return _buffer.AsMemory(start, size.Length + _count + 2);
    }

    internal async Task FinishAsync(CancellationToken ct)
    {
        if (_finished)
        {
            return;
        }
        await FlushAsync(ct);
        _finished = true;
        if (_chunked && !_discard)
        {
            await _connection.SendAsync("0\r\n\r\n"u8.ToArray(), ct);
        }
    }

    private void CheckOpen()
    {
        if (_finished)
        {
            throw new ObjectDisposedException(nameof(ChunkedResponseStream), "the response has been finished");
        }
    }

    // Disposing does not finish the response: the connection does, once the handler returns.
    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// The connection after a hijack: reads come from the client (what the head parser had
/// buffered first), writes go to it. CloseWrite half-closes, so the client sees EOF while
/// it may still send; disposing closes the socket.
/// </summary>
public sealed class HijackedStream : Stream
{
    private readonly ConnectionInput _input;
    private readonly HttpConnection _connection;
    private readonly Socket? _socket;

    internal HijackedStream(ConnectionInput input, HttpConnection connection, Socket? socket)
    {
        _input = input;
        _connection = connection;
        _socket = socket;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => _input.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _input.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _input.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _connection.Send(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => _connection.Send(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _connection.SendAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _connection.SendAsync(buffer, cancellationToken);

    /// <summary>Ends the output (the client reads EOF) and keeps the input open.</summary>
    public void CloseWrite()
    {
        try
        {
            _socket?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone already: nothing left to tell it.
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _connection.Close();
        }
        base.Dispose(disposing);
    }
}
