using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Skiff.Api.Http;

/// <summary>Handles one request; the response is finished (or the connection closed) when the task ends.</summary>
public delegate Task RequestHandler(HttpRequest request, HttpResponse response);

/// <summary>
/// One client connection: requests one after another (keep-alive) until the client
/// closes, asks to close, or a request cannot be read; or until a handler hijacks it.
/// Writes are serialized, so two pumps (stdout and stderr of an attach) may share it.
/// </summary>
public sealed class HttpConnection
{
    /// <summary>An unread request body up to this size is skipped to keep the connection; a bigger one closes it.</summary>
    private const long DrainLimit = 256 * 1024;

    private readonly Socket? _socket;
    private readonly Stream _stream;
    private readonly ConnectionInput _input;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _aborted = new();
    private int _closed;

    public HttpConnection(Socket socket)
        : this(new NetworkStream(socket, ownsSocket: true), socket)
    {
    }

    /// <summary>Over any duplex stream; without a socket, CloseWrite of a hijacked stream does nothing.</summary>
    public HttpConnection(Stream stream, Socket? socket = null)
    {
        _stream = stream;
        _socket = socket;
        _input = new ConnectionInput(stream);
    }

    /// <summary>Cancelled when the client is seen to be gone: a failed write, or end of input seen by the watcher.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public async Task RunAsync(RequestHandler handler, CancellationToken stopping = default)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                HttpRequest? request;
                try
                {
                    request = await ReadRequestAsync(stopping);
                }
                catch (BadHttpRequestException e)
                {
                    await RejectAsync(e);
                    return;
                }
                if (request is null)
                {
                    return;
                }
                var response = new HttpResponse(this, request) { CloseConnection = !request.KeepAlive };
                if (!await ServeAsync(handler, request, response, stopping))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away mid-response or the server is stopping: nothing more to say to it.
        }
        finally
        {
            Close();
        }
    }

    /// <summary>Runs the handler and finishes its response; false when the connection must end.</summary>
    private async Task<bool> ServeAsync(RequestHandler handler, HttpRequest request, HttpResponse response, CancellationToken stopping)
    {
        try
        {
            await handler(request, response);
        }
        catch (BadHttpRequestException e) when (!response.Started)
        {
            await RejectAsync(e);
            return false;
        }
        catch (Exception e) when (!response.Started && e is not (IOException or OperationCanceledException))
        {
            response.Status = 500;
            response.CloseConnection = true;
            await response.WriteAsync(ErrorBody(e.Message), "application/json", stopping);
            return false;
        }
        catch (Exception e) when (response.Started && e is not (IOException or OperationCanceledException or ObjectDisposedException))
        {
            // Too late for a status: cutting the connection is how the client learns the body is incomplete.
            Console.Error.WriteLine($"skiff serve: {request.Method} {request.RawPath}: {e.Message}");
            return false;
        }
        if (response.Hijacked)
        {
            // The stream was the handler's until it returned; now the connection ends.
            return false;
        }
        await response.FinishAsync(stopping);
        if (response.CloseConnection)
        {
            return false;
        }
        if (!request.Body.Completed)
        {
            try
            {
                return await request.Body.DrainAsync(DrainLimit, stopping);
            }
            catch (BadHttpRequestException)
            {
                return false;
            }
        }
        return true;
    }

    private async Task<HttpRequest?> ReadRequestAsync(CancellationToken ct)
    {
        RequestHead? head;
        int consumed;
        while ((head = RequestHeadParser.TryParse(_input.Buffered, out consumed)) is null)
        {
            if (await _input.FillAsync(ct) == 0)
            {
                if (_input.BufferedCount > 0 && !IsBlank(_input.Buffered))
                {
                    throw new BadHttpRequestException(400, "connection closed in the middle of a request head");
                }
                return null;
            }
        }
        _input.Consume(consumed);
        var body = Framing(head);
        if (body is not ContentLengthBody { Completed: true } && head.Headers.HasToken("Expect", "100-continue"))
        {
            await SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), ct);
        }
        return new HttpRequest(head, body, this);
    }

    private static bool IsBlank(ReadOnlySpan<byte> b) => b.IndexOfAnyExcept("\r\n"u8) < 0;

    /// <summary>Transfer-Encoding chunked, else Content-Length, else no body (RFC 9112 6.3 for requests).</summary>
    private RequestBody Framing(RequestHead head)
    {
        var te = head.Headers.Tokens("Transfer-Encoding").ToList();
        string? cl = head.Headers.Get("Content-Length");
        if (te.Count > 0)
        {
            if (cl is not null)
            {
                throw new BadHttpRequestException(400, "both Transfer-Encoding and Content-Length: refused");
            }
            if (te.Count != 1 || !te[0].Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                throw new BadHttpRequestException(501, $"unsupported Transfer-Encoding \"{string.Join(", ", te)}\": only chunked");
            }
            if (head.MinorVersion == 0)
            {
                throw new BadHttpRequestException(400, "chunked transfer coding in an HTTP/1.0 request");
            }
            return new ChunkedBody(_input);
        }
        if (cl is null)
        {
            return RequestBody.Empty;
        }
        long length = -1;
        foreach (var v in head.Headers.Tokens("Content-Length"))
        {
            if (v.Length is 0 or > 18 || !v.All(char.IsAsciiDigit))
            {
                throw new BadHttpRequestException(400, $"invalid Content-Length \"{v}\"");
            }
            long n = long.Parse(v, CultureInfo.InvariantCulture);
            if (length >= 0 && n != length)
            {
                throw new BadHttpRequestException(400, "conflicting Content-Length values");
            }
            length = n;
        }
        return length switch
        {
            < 0 => throw new BadHttpRequestException(400, "invalid Content-Length"),
            0 => RequestBody.Empty,
            _ => new ContentLengthBody(_input, length),
        };
    }

    /// <summary>A request that cannot be read: its status and Docker's error body, then the connection closes.</summary>
    private async Task RejectAsync(BadHttpRequestException e)
    {
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {e.Status} {HttpResponse.Reason(e.Status)}\r\nContent-Type: application/json\r\nConnection: close\r\n");
        var body = ErrorBody(e.Message);
        var all = new byte[head.Length + body.Length + 64];
        int n = head.Length;
        head.CopyTo(all, 0);
        n += Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n", all.AsSpan(n));
        body.CopyTo(all, n);
        n += body.Length;
        try
        {
            await SendAsync(all.AsMemory(0, n), CancellationToken.None);
            // Half-close and give the client a moment to read the answer before the socket goes.
            _socket?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception x) when (x is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>{"message": "..."}, the error body of the Docker API.</summary>
    public static byte[] ErrorBody(string message)
    {
        using var ms = new MemoryStream();
        // Relaxed escaping, as Go writes it: a quote in a message stays readable with curl.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("message", message);
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>
    /// Starts watching for the client to go away (a background read that sees end of
    /// input cancels <see cref="Aborted"/>). Only once the request body has been read:
    /// a client that sends more (the next request) simply stops the watch.
    /// </summary>
    internal void WatchForDisconnect()
    {
        var read = _input.StartBackgroundFill();
        if (read is null)
        {
            if (_input.Ended)
            {
                Abort();
            }
            return;
        }
        _ = read.ContinueWith(t =>
        {
            if (t.IsFaulted || t.Result == 0)
            {
                Abort();
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    internal HijackedStream Hijack() => new(_input, this, _socket);

    internal async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await _stream.WriteAsync(data, ct);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Abort();
            throw new IOException("the client closed the connection", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal void Send(ReadOnlySpan<byte> data)
    {
        _writeLock.Wait();
        try
        {
            _stream.Write(data);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Abort();
            throw new IOException("the client closed the connection", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Abort()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the socket; safe to call more than once and from any thread.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        Abort();
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
        }
    }
}
