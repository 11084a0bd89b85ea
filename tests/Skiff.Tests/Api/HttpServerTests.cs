using System.Text;
using Skiff.Api.Http;

namespace Skiff.Tests.Api;

/// <summary>The HTTP server on a real unix socket, driven with exact bytes.</summary>
public class HttpServerTests
{
    /// <summary>Answers with what it read: method, path, the body's length and text.</summary>
    private static async Task Echo(HttpRequest request, HttpResponse response)
    {
        var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        string text = $"{request.Method} {request.RawPath} {body.Length} {Encoding.ASCII.GetString(body.ToArray())}";
        await response.WriteAsync(Encoding.ASCII.GetBytes(text), "text/plain");
    }

    [Fact]
    public async Task Requests_follow_each_other_on_one_connection()
    {
        await using var server = new TestServer(Echo);
        using var client = server.Connect();

        client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();
        client.Send("GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
        var third = await client.ReadResponseAsync();

        Assert.Equal("GET /a 0 ", first.Text);
        Assert.Equal("POST /b 3 abc", second.Text);
        Assert.Equal("GET /c 0 ", third.Text);
        Assert.Equal("close", third.Header("Connection"));
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_chunked_request_body_arrives_whole_whatever_its_chunks()
    {
        await using var server = new TestServer(Echo);
        using var client = server.Connect();

        client.Send("POST /load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ntar-\r\n");
        await Task.Delay(50);
        client.Send("6;x=y\r\nstream\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n");

        Assert.Equal("POST /load 10 tar-stream", (await client.ReadResponseAsync()).Text);
        Assert.Equal("GET /next 0 ", (await client.ReadResponseAsync()).Text);
    }

    [Fact]
    public async Task Head_gets_the_headers_of_get_and_no_body()
    {
        await using var server = new TestServer((_, response) => response.WriteAsync("OK"u8.ToArray(), "text/plain"));
        using var client = server.Connect();

        client.Send("HEAD /_ping HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n");
        var head = await client.ReadResponseAsync(head: true);
        var get = await client.ReadResponseAsync();

        Assert.Equal("2", head.Header("Content-Length"));
        Assert.Empty(head.Body);
        Assert.Equal("OK", get.Text);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501)]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nnothex\r\n", 400)]
    public async Task A_request_that_cannot_be_read_gets_its_status_as_json_and_the_connection_closes(string request, int status)
    {
        await using var server = new TestServer(Echo);
        using var client = server.Connect();

        client.Send(request);
        var response = await client.ReadResponseAsync();

        Assert.Equal(status, response.Status);
        Assert.StartsWith("{\"message\":", response.Text);
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_header_over_64_KiB_is_431()
    {
        await using var server = new TestServer(Echo);
        using var client = server.Connect();

        client.Send("GET / HTTP/1.1\r\nX-Big: " + new string('a', 70 * 1024) + "\r\n\r\n");

        Assert.Equal(431, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task A_stream_sends_its_head_at_once_and_its_chunks_on_flush()
    {
        var release = new TaskCompletionSource();
        await using var server = new TestServer(async (_, response) =>
        {
            var body = await response.StartStreamAsync("application/json");
            await release.Task;
            await body.WriteAsync("{\"StatusCode\":3}\n"u8.ToArray());
            await body.FlushAsync();
        });
        using var client = server.Connect();

        client.Send("POST /containers/x/wait HTTP/1.1\r\n\r\n");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        byte[] head = await client.ReadExactlyAsync("HTTP/1.1 200 OK\r\n".Length, cts.Token);
        Assert.Equal("HTTP/1.1 200 OK\r\n", Encoding.ASCII.GetString(head));
        release.SetResult();
        byte[] rest = await client.ReadToEndWithinAsync(TimeSpan.FromSeconds(5), "0\r\n\r\n");
        string text = Encoding.ASCII.GetString(rest);
        Assert.Contains("Transfer-Encoding: chunked\r\n", text);
        Assert.Contains("\r\n11\r\n{\"StatusCode\":3}\n\r\n0\r\n\r\n", text);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hijacked_connection_carries_raw_bytes_both_ways_and_a_half_close_is_end_of_input(bool upgrade)
    {
        await using var server = new TestServer(async (request, response) =>
        {
            using var raw = await response.HijackAsync("application/vnd.docker.raw-stream");
            var seen = new MemoryStream();
            var buffer = new byte[64];
            int n;
            while ((n = await raw.ReadAsync(buffer)) > 0)
            {
                seen.Write(buffer, 0, n);
                await raw.WriteAsync(buffer.AsMemory(0, n));
            }
            await raw.WriteAsync(Encoding.ASCII.GetBytes($"[eof after {seen.Length}]"));
        });
        using var client = server.Connect();

        string upgradeHeaders = upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "";
        // Bytes right behind the head (stdin sent before the answer) must not be lost.
        client.Send($"POST /containers/x/attach?stdin=1 HTTP/1.1\r\n{upgradeHeaders}Content-Length: 0\r\n\r\nearly ");
        var response = await client.ReadResponseAsync(head: true);
        client.Send("late");
        client.CloseWrite();
        string rest = Encoding.ASCII.GetString(await client.ReadToEndAsync());

        Assert.Equal(upgrade ? 101 : 200, response.Status);
        if (upgrade)
        {
            Assert.Equal("UPGRADED", response.Reason);
            Assert.Equal("Upgrade", response.Header("Connection"));
            Assert.Equal("tcp", response.Header("Upgrade"));
        }
        Assert.Equal("application/vnd.docker.raw-stream", response.Header("Content-Type"));
        Assert.Equal("early late[eof after 10]", rest);
        await server.WaitForNoConnectionsAsync();
    }

    [Fact]
    public async Task The_handler_can_end_its_output_and_still_read_the_client()
    {
        var heard = new TaskCompletionSource<string>();
        await using var server = new TestServer(async (_, response) =>
        {
            using var raw = await response.HijackAsync("application/vnd.docker.multiplexed-stream");
            await raw.WriteAsync("bye"u8.ToArray());
            raw.CloseWrite();
            var text = new MemoryStream();
            await raw.CopyToAsync(text);
            heard.SetResult(Encoding.ASCII.GetString(text.ToArray()));
        });
        using var client = server.Connect();
        // The body (exec start's JSON) is not the client's stdin, even when the handler leaves it unread.
        client.Send("POST /exec/x/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}");
        Assert.Equal(101, (await client.ReadResponseAsync(head: true)).Status);

        Assert.Equal("bye", Encoding.ASCII.GetString(await client.ReadToEndAsync()));
        client.Send("still here");
        client.CloseWrite();

        Assert.Equal("still here", await heard.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_client_that_drops_a_waiting_request_cancels_it_and_leaves_nothing_open()
    {
        var aborted = new TaskCompletionSource();
        await using var server = new TestServer(async (request, response) =>
        {
            var token = request.Aborted;
            await response.StartStreamAsync("application/json");
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                aborted.SetResult();
                throw;
            }
        });
        var client = server.Connect();
        client.Send("POST /containers/x/wait?condition=next-exit HTTP/1.1\r\n\r\n");
        await client.ReadResponseAsync(head: true);

        client.Dispose();

        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await server.WaitForNoConnectionsAsync();
        using var next = server.Connect();
        next.Send("GET / HTTP/1.1\r\n\r\n");
        Assert.Equal(200, (await next.ReadResponseAsync(head: true)).Status);
    }

    [Fact]
    public async Task An_unread_small_body_is_skipped_and_a_big_one_closes_the_connection()
    {
        await using var server = new TestServer((_, response) => response.WriteAsync("ignored"u8.ToArray()));
        using var client = server.Connect();

        client.Send("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n");
        Assert.Equal("ignored", (await client.ReadResponseAsync()).Text);
        Assert.Equal("ignored", (await client.ReadResponseAsync()).Text);

        using var big = server.Connect();
        big.Send($"POST /a HTTP/1.1\r\nContent-Length: {1 << 30}\r\n\r\n");
        var sending = Task.Run(() =>
        {
            try
            {
                big.Send(new byte[512 * 1024]);
            }
            catch (System.Net.Sockets.SocketException)
            {
                // The server stops reading and closes: the rest of the send fails, as it should.
            }
        });
        Assert.Equal(200, (await big.ReadResponseAsync()).Status);
        Assert.True(await big.IsClosedAsync(TimeSpan.FromSeconds(5)));
        await sending.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Expect_100_continue_is_answered_before_the_body_is_read()
    {
        await using var server = new TestServer(Echo);
        using var client = server.Connect();

        client.Send("PUT /archive HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        var interim = await client.ReadResponseAsync(head: true);
        client.Send("data");

        Assert.Equal(100, interim.Status);
        Assert.Equal("PUT /archive 4 data", (await client.ReadResponseAsync()).Text);
    }

    [Fact]
    public async Task A_handler_that_throws_gets_500_and_the_server_keeps_serving()
    {
        await using var server = new TestServer((request, _) =>
            request.RawPath == "/boom" ? throw new InvalidOperationException("kaput") : Echo(request, _));
        using (var client = server.Connect())
        {
            client.Send("GET /boom HTTP/1.1\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(500, response.Status);
            Assert.Equal("{\"message\":\"kaput\"}\n", response.Text);
        }
        using var again = server.Connect();
        again.Send("GET /fine HTTP/1.1\r\n\r\n");
        Assert.Equal("GET /fine 0 ", (await again.ReadResponseAsync()).Text);
    }
}
