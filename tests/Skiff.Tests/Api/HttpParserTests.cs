using System.Text;
using Skiff.Api.Http;

namespace Skiff.Tests.Api;

public class HttpParserTests
{
    private static RequestHead Parse(string text, out int consumed) =>
        RequestHeadParser.TryParse(Encoding.Latin1.GetBytes(text), out consumed) ?? throw new InvalidOperationException("incomplete");

    private static int Rejected(string text) =>
        Assert.Throws<BadHttpRequestException>(() => RequestHeadParser.TryParse(Encoding.Latin1.GetBytes(text), out _)).Status;

    [Fact]
    public void A_request_head_gives_method_target_version_and_fields_and_says_what_it_took()
    {
        const string text = "POST /v1.47/images/load?quiet=1 HTTP/1.1\r\nHost: docker\r\nContent-Type:  application/x-tar \r\nTransfer-Encoding: chunked\r\n\r\nBODY";

        var head = Parse(text, out int consumed);

        Assert.Equal("POST", head.Method);
        Assert.Equal("/v1.47/images/load?quiet=1", head.Target);
        Assert.Equal(1, head.MinorVersion);
        Assert.Equal("application/x-tar", head.Headers.Get("content-type"));
        Assert.True(head.Headers.HasToken("TRANSFER-ENCODING", "Chunked"));
        Assert.Equal(text.Length - "BODY".Length, consumed);
    }

    [Fact]
    public void Nothing_is_parsed_until_the_blank_line_arrives()
    {
        Assert.Null(RequestHeadParser.TryParse("GET /_ping HTTP/1.1\r\nHost: x\r\n"u8, out int consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void Bare_line_feeds_and_leading_blank_lines_are_read_like_crlf()
    {
        var head = Parse("\r\nGET /_ping HTTP/1.0\nHost: x\n\n", out int consumed);

        Assert.Equal("/_ping", head.Target);
        Assert.Equal(0, head.MinorVersion);
        Assert.Equal("x", head.Headers.Get("Host"));
        Assert.Equal(31, consumed);
    }

    [Fact]
    public void An_absolute_form_target_becomes_a_path()
    {
        Assert.Equal("/v1.41/containers/json?all=1", Parse("GET http://localhost/v1.41/containers/json?all=1 HTTP/1.1\r\n\r\n", out _).Target);
        Assert.Equal("/?a=1", Parse("GET http://docker?a=1 HTTP/1.1\r\n\r\n", out _).Target);
    }

    [Fact]
    public void A_head_over_64_KiB_is_refused_with_431_whether_or_not_it_has_ended()
    {
        string big = "GET / HTTP/1.1\r\nX-Big: " + new string('a', RequestHeadParser.MaxHeadBytes);
        Assert.Equal(431, Rejected(big));
        Assert.Equal(431, Rejected(big + "\r\n\r\n"));
        string many = "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, RequestHeadParser.MaxFields + 1).Select(i => $"X-{i}: 1\r\n")) + "\r\n";
        Assert.Equal(431, Rejected(many));
    }

    [Theory]
    [InlineData("GET /\r\n\r\n")]
    [InlineData("GET  HTTP/1.1\r\n\r\n")]
    [InlineData("G(T / HTTP/1.1\r\n\r\n")]
    [InlineData("GET / HTTP/1.1 extra\r\n\r\n")]
    [InlineData("GET / FTP/1.0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nNoColon\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n: empty name\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX: a\u0001b\r\n\r\n")]
    [InlineData("GET /a\u00e9 HTTP/1.1\r\n\r\n")]
    public void Malformed_heads_are_400(string text) => Assert.Equal(400, Rejected(text));

    [Fact]
    public void Other_http_versions_are_505() => Assert.Equal(505, Rejected("GET / HTTP/2.0\r\n\r\n"));
}

public class ChunkedBodyTests
{
    /// <summary>Gives one byte per read, so every boundary of the chunked syntax falls between two reads.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(1, buffer.Length)]);
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(1, count));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], ct);
    }

    private const string Encoded = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_chunked_body_decodes_with_extensions_and_trailers_and_leaves_the_next_request(bool trickle)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Encoded);
        var input = new ConnectionInput(trickle ? new TrickleStream(bytes) : new MemoryStream(bytes));
        var body = new ChunkedBody(input);

        var read = new MemoryStream();
        await body.CopyToAsync(read, 3);

        Assert.Equal("helloabcdefghijklmnopqrstuvwxyz", Encoding.ASCII.GetString(read.ToArray()));
        Assert.True(body.Completed);
        var rest = new byte[16];
        int n = await input.ReadAsync(rest);
        Assert.Equal("N", Encoding.ASCII.GetString(rest, 0, n)[..1]);
    }

    [Fact]
    public void Synchronous_reads_decode_the_same_bytes()
    {
        var body = new ChunkedBody(new ConnectionInput(new TrickleStream(Encoding.ASCII.GetBytes(Encoded.Replace("\r\n", "\n")))));
        var read = new MemoryStream();
        body.CopyTo(read);
        Assert.Equal("helloabcdefghijklmnopqrstuvwxyz", Encoding.ASCII.GetString(read.ToArray()));
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n")]
    [InlineData("5\r\nhelloXX0\r\n\r\n")]
    [InlineData("5\r\nhel")]
    [InlineData("5\r\nhello\r\n")]
    [InlineData("ffffffffffffffffff\r\n")]
    public async Task Broken_chunked_bodies_are_400(string encoded)
    {
        var body = new ChunkedBody(new ConnectionInput(new MemoryStream(Encoding.ASCII.GetBytes(encoded))));
        var e = await Assert.ThrowsAsync<BadHttpRequestException>(() => body.CopyToAsync(Stream.Null));
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public async Task A_content_length_body_stops_at_its_length_and_a_short_one_is_400()
    {
        var input = new ConnectionInput(new MemoryStream("abcdeNEXT"u8.ToArray()));
        var body = new ContentLengthBody(input, 5);
        var read = new MemoryStream();
        await body.CopyToAsync(read);
        Assert.Equal("abcde", Encoding.ASCII.GetString(read.ToArray()));
        Assert.True(body.Completed);

        var shortBody = new ContentLengthBody(new ConnectionInput(new MemoryStream("abc"u8.ToArray())), 5);
        Assert.Equal(400, (await Assert.ThrowsAsync<BadHttpRequestException>(() => shortBody.CopyToAsync(Stream.Null))).Status);
    }
}
