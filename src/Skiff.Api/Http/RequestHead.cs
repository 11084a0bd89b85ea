using System.Text;

namespace Skiff.Api.Http;

/// <summary>The request line and header fields of one HTTP/1.x request.</summary>
public sealed class RequestHead
{
    public string Method { get; init; } = "";

    /// <summary>The request target as sent, in origin form ("/v1.47/images/json?all=1").</summary>
    public string Target { get; init; } = "";

    /// <summary>1 for HTTP/1.1, 0 for HTTP/1.0.</summary>
    public int MinorVersion { get; init; } = 1;

    public HttpHeaders Headers { get; } = new();
}

/// <summary>
/// Parses a request head out of a byte buffer. Nothing is consumed until the blank line
/// that ends the head is in the buffer; the caller bounds the buffer (MaxHeadBytes).
/// Bare LF line ends are accepted as CRLF, as most servers do; obs-fold, spaces before
/// the colon and control bytes are refused.
/// </summary>
public static class RequestHeadParser
{
    /// <summary>Request line plus header fields; more is answered with 431.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    public const int MaxFields = 256;

    /// <summary>A whole head, or null when the buffer does not hold its end yet; consumed is what it took.</summary>
    public static RequestHead? TryParse(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        int end = FindHeadEnd(buffer, out int terminatorLength);
        if (end < 0)
        {
            if (buffer.Length >= MaxHeadBytes)
            {
                throw new BadHttpRequestException(431, $"request header too large: more than {MaxHeadBytes / 1024} KiB");
            }
            // Leading empty lines before a request line are allowed (RFC 9112 2.2): skipped at the next attempt.
            return null;
        }
        if (end + terminatorLength > MaxHeadBytes)
        {
            throw new BadHttpRequestException(431, $"request header too large: more than {MaxHeadBytes / 1024} KiB");
        }
        var head = Parse(buffer[..end]);
        consumed = end + terminatorLength;
        return head;
    }

    /// <summary>Where the head ends (the index of its final line break pair), skipping leading empty lines; -1 if not yet.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> b, out int terminatorLength)
    {
        terminatorLength = 0;
        for (int i = 0; i < b.Length; i++)
        {
            if (b[i] != '\n')
            {
                continue;
            }
            // b[i] ends a line; the head ends if the next line is empty ("\n" or "\r\n").
            if (i + 1 < b.Length && b[i + 1] == '\n')
            {
                terminatorLength = 2;
                return i;
            }
            if (i + 2 < b.Length && b[i + 1] == '\r' && b[i + 2] == '\n')
            {
                terminatorLength = 3;
                return i;
            }
        }
        return -1;
    }

    private static RequestHead Parse(ReadOnlySpan<byte> text)
    {
        // Skip empty lines a client may send between requests.
        while (text.Length > 0 && (text[0] == '\r' || text[0] == '\n'))
        {
            text = text[1..];
        }
        int nl = text.IndexOf((byte)'\n');
        var requestLine = TrimCr(nl < 0 ? text : text[..nl]);
        var rest = nl < 0 ? ReadOnlySpan<byte>.Empty : text[(nl + 1)..];

        var (method, target, minor) = ParseRequestLine(requestLine);
        var head = new RequestHead { Method = method, Target = target, MinorVersion = minor };
        while (rest.Length > 0)
        {
            nl = rest.IndexOf((byte)'\n');
            var line = TrimCr(nl < 0 ? rest : rest[..nl]);
            rest = nl < 0 ? ReadOnlySpan<byte>.Empty : rest[(nl + 1)..];
            if (line.Length == 0)
            {
                continue;
            }
            if (head.Headers.Count >= MaxFields)
            {
                throw new BadHttpRequestException(431, $"too many header fields: more than {MaxFields}");
            }
            ParseField(line, head.Headers);
        }
        return head;
    }

    private static (string Method, string Target, int Minor) ParseRequestLine(ReadOnlySpan<byte> line)
    {
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            throw new BadHttpRequestException(400, "malformed request line");
        }
        var method = line[..sp1];
        foreach (byte c in method)
        {
            if (!IsTokenChar(c))
            {
                throw new BadHttpRequestException(400, "malformed request line: invalid method");
            }
        }
        var afterMethod = line[(sp1 + 1)..];
        int sp2 = afterMethod.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            throw new BadHttpRequestException(400, "malformed request line: no request target or version");
        }
        var target = afterMethod[..sp2];
        var version = afterMethod[(sp2 + 1)..];
        foreach (byte c in target)
        {
            if (c <= 0x20 || c >= 0x7f)
            {
                throw new BadHttpRequestException(400, "malformed request line: invalid byte in the request target");
            }
        }
        int minor = version.SequenceEqual("HTTP/1.1"u8) ? 1
            : version.SequenceEqual("HTTP/1.0"u8) ? 0
            : version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7])
                ? throw new BadHttpRequestException(505, $"HTTP version not supported: {Encoding.ASCII.GetString(version)}")
            : throw new BadHttpRequestException(400, "malformed request line: bad HTTP version");
        string t = Encoding.ASCII.GetString(target);
        if (!t.StartsWith('/'))
        {
            t = OriginForm(t);
        }
        return (Encoding.ASCII.GetString(method), t, minor);
    }

    /// <summary>"http://docker/v1.47/_ping" (absolute form, as some clients send) becomes "/v1.47/_ping".</summary>
    private static string OriginForm(string target)
    {
        int scheme = target.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0)
        {
            throw new BadHttpRequestException(400, $"malformed request target \"{target}\"");
        }
        int path = target.IndexOf('/', scheme + 3);
        if (path < 0)
        {
            int query = target.IndexOf('?', scheme + 3);
            return query < 0 ? "/" : "/" + target[query..];
        }
        return target[path..];
    }

    private static void ParseField(ReadOnlySpan<byte> line, HttpHeaders headers)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            throw new BadHttpRequestException(400, "obsolete header line folding is not accepted");
        }
        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            throw new BadHttpRequestException(400, "malformed header field: no name or no colon");
        }
        var name = line[..colon];
        foreach (byte c in name)
        {
            if (!IsTokenChar(c))
            {
                throw new BadHttpRequestException(400, $"malformed header field name \"{Encoding.Latin1.GetString(name)}\"");
            }
        }
        var value = line[(colon + 1)..];
        foreach (byte c in value)
        {
            if (c < 0x20 && c != '\t' || c == 0x7f)
            {
                throw new BadHttpRequestException(400, $"control character in header field {Encoding.ASCII.GetString(name)}");
            }
        }
        value = value.Trim(" \t"u8);
        // Latin-1 keeps every byte as it came; the values skiff reads (base64, tokens, numbers) are ASCII.
        headers.Add(Encoding.ASCII.GetString(name), Encoding.Latin1.GetString(value));
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    /// <summary>tchar of RFC 9110: the bytes a method or a field name may hold.</summary>
    private static bool IsTokenChar(byte c) =>
        c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
        || "!#$%&'*+-.^_`|~"u8.Contains(c);
}
