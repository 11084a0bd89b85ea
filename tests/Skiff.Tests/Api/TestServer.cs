using System.Net.Sockets;
using System.Text;
using Skiff.Api.Http;

namespace Skiff.Tests.Api;

/// <summary>A real HttpServer on a unix socket in a temporary directory, with the handler a test gives it.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Socket _listener;
    private readonly Task _serving;

    public TestServer(RequestHandler handler)
    {
        Dir = Directory.CreateTempSubdirectory("skiff-api-test-").FullName;
        SocketPath = Path.Combine(Dir, "api.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        Server = new HttpServer(handler);
        _serving = Server.ServeAsync(_listener, _stop.Token);
    }

    public string Dir { get; }
    public string SocketPath { get; }
    public HttpServer Server { get; }

    public RawClient Connect()
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(SocketPath));
        return new RawClient(s);
    }

    /// <summary>Waits until the server has no connection open (a dropped client was cleaned up).</summary>
    public async Task WaitForNoConnectionsAsync()
    {
        for (int i = 0; i < 200 && Server.OpenConnections > 0; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal(0, Server.OpenConnections);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _serving.WaitAsync(TimeSpan.FromSeconds(5));
        _listener.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>One response as the test read it off the wire.</summary>
public sealed record RawResponse(int Status, string Reason, List<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>A client that writes exact bytes and reads responses by hand, to test what a library client would hide.</summary>
public sealed class RawClient(Socket socket) : IDisposable
{
    private readonly List<byte> _pending = [];

    public Socket Socket { get; } = socket;

    public void Send(string text) => Send(Encoding.Latin1.GetBytes(text));

    public void Send(byte[] data) => Socket.Send(data);

    public void CloseWrite() => Socket.Shutdown(SocketShutdown.Send);

    /// <summary>Reads one response; a HEAD response has no body whatever its headers say.</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        string headText = Encoding.Latin1.GetString(await ReadUntilAsync("\r\n\r\n"u8.ToArray(), cts.Token));
        var lines = headText.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        var headers = lines.Skip(1).Where(l => l.Length > 0)
            .Select(l => new KeyValuePair<string, string>(l[..l.IndexOf(':')], l[(l.IndexOf(':') + 1)..].Trim())).ToList();
        var response = new RawResponse(int.Parse(statusParts[1]), statusParts.Length > 2 ? statusParts[2] : "", headers, []);
        int status = response.Status;
        if (head || status is 204 or 304 or 101 || status < 200)
        {
            return response;
        }
        if (response.Header("Transfer-Encoding") is "chunked")
        {
            var body = new List<byte>();
            while (true)
            {
                string sizeLine = Encoding.ASCII.GetString(await ReadUntilAsync("\r\n"u8.ToArray(), cts.Token)).TrimEnd('\r', '\n');
                int size = Convert.ToInt32(sizeLine, 16);
                if (size == 0)
                {
                    await ReadUntilAsync("\r\n"u8.ToArray(), cts.Token);
                    break;
                }
                body.AddRange(await ReadExactlyAsync(size, cts.Token));
                await ReadExactlyAsync(2, cts.Token);
            }
            return response with { Body = body.ToArray() };
        }
        if (response.Header("Content-Length") is { } cl)
        {
            return response with { Body = await ReadExactlyAsync(int.Parse(cl), cts.Token) };
        }
        return response with { Body = await ReadToEndAsync(cts.Token) };
    }

    /// <summary>Reads what the server sends until it closes (or half-closes) the connection.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken ct = default)
    {
        var all = new List<byte>(_pending);
        _pending.Clear();
        var buffer = new byte[8192];
        int n;
        while ((n = await Socket.ReceiveAsync(buffer, ct)) > 0)
        {
            all.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        return all.ToArray();
    }

    /// <summary>True when the server has closed the connection (a read returns 0).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var buffer = new byte[1];
            return await Socket.ReceiveAsync(buffer, cts.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken ct)
    {
        var buffer = new byte[8192];
        while (_pending.Count < count)
        {
            int n = await Socket.ReceiveAsync(buffer, ct);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed with {_pending.Count} of {count} bytes");
            }
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        var result = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return result;
    }

    private async Task<byte[]> ReadUntilAsync(byte[] marker, CancellationToken ct)
    {
        var buffer = new byte[8192];
        while (true)
        {
            int at = IndexOf(_pending, marker);
            if (at >= 0)
            {
                var result = _pending.GetRange(0, at + marker.Length).ToArray();
                _pending.RemoveRange(0, at + marker.Length);
                return result;
            }
            int n = await Socket.ReceiveAsync(buffer, ct);
            if (n == 0)
            {
                throw new EndOfStreamException("connection closed before " + Encoding.ASCII.GetString(marker).Replace("\r\n", "CRLF"));
            }
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    private static int IndexOf(List<byte> data, byte[] marker)
    {
        for (int i = 0; i + marker.Length <= data.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < marker.Length && match; j++)
            {
                match = data[i + j] == marker[j];
            }
            if (match)
            {
                return i;
            }
        }
        return -1;
    }

    public void Dispose() => Socket.Dispose();
}

public static class RawClientExtensions
{
    /// <summary>Reads until the bytes end with <paramref name="end"/> (or the server closes), within a time limit.</summary>
    public static async Task<byte[]> ReadToEndWithinAsync(this RawClient client, TimeSpan limit, string end)
    {
        using var cts = new CancellationTokenSource(limit);
        var all = new List<byte>();
        byte[] marker = Encoding.ASCII.GetBytes(end);
        while (all.Count < marker.Length || !all.Skip(all.Count - marker.Length).SequenceEqual(marker))
        {
            all.AddRange(await client.ReadExactlyAsync(1, cts.Token));
        }
        return all.ToArray();
    }
}
