using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Skiff.Api.Http;

namespace Skiff.Api.Routing;

/// <summary>One API call as an endpoint sees it: request, response, route values, the daemon.</summary>
public sealed class ApiContext(HttpRequest request, HttpResponse response, RouteMatch route, Daemon daemon)
{
    /// <summary>Request bodies read whole (JSON configs) stop here; tars are streamed, never read whole.</summary>
    public const int MaxJsonBody = 8 << 20;

    public HttpRequest Request { get; } = request;
    public HttpResponse Response { get; } = response;
    public Daemon Daemon { get; } = daemon;
    public QueryString Query => Request.Query;

    /// <summary>The "/v1.NN" the client asked for, or null for an unversioned path.</summary>
    public string? Version { get; } = route.Version;

    /// <summary>The value of a {name} or {name...} segment, percent-decoded.</summary>
    public string Route(string name) =>
        route.Values.TryGetValue(name, out var v) ? v : throw new InvalidOperationException($"route {route.Pattern} has no {{{name}}}");

    /// <summary>See <see cref="HttpRequest.Aborted"/>: cancelled when the client goes away (bodyless requests).</summary>
    public CancellationToken Aborted => Request.Aborted;

    public Task JsonAsync<T>(T value, JsonTypeInfo<T> type, int status = 200)
    {
        Response.Status = status;
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        return Response.WriteAsync(Append(body, (byte)'\n'), "application/json");
    }

    public Task StatusAsync(int status)
    {
        Response.Status = status;
        return Response.WriteAsync(ReadOnlyMemory<byte>.Empty);
    }

    public Task TextAsync(string text, string contentType = "text/plain; charset=utf-8", int status = 200)
    {
        Response.Status = status;
        return Response.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), contentType);
    }

    /// <summary>A chunked body whose head goes out now (the client sees the status at once).</summary>
    public Task<Stream> StreamAsync(string contentType, int status = 200)
    {
        Response.Status = status;
        return Response.StartStreamAsync(contentType);
    }

    /// <summary>Takes over the connection for attach and exec: Docker's multiplexed frames without a TTY, raw bytes with one.</summary>
    public Task<HijackedStream> HijackAsync(bool tty) =>
        Response.HijackAsync(tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");

    /// <summary>The JSON body as T; an empty body is null. Bad JSON is the client's error (400).</summary>
    public async Task<T?> ReadJsonAsync<T>(JsonTypeInfo<T> type)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await Request.Body.ReadAsync(buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > MaxJsonBody)
            {
                throw SkiffException.Invalid($"request body too large: more than {MaxJsonBody >> 20} MiB of JSON");
            }
        }
        if (ms.Length == 0)
        {
            return default;
        }
        try
        {
            return JsonSerializer.Deserialize(ms.GetBuffer().AsSpan(0, (int)ms.Length), type);
        }
        catch (JsonException e)
        {
            throw SkiffException.Invalid($"invalid JSON in the request body: {e.Message}");
        }
    }

    private static byte[] Append(byte[] body, byte last)
    {
        var all = new byte[body.Length + 1];
        body.CopyTo(all, 0);
        all[^1] = last;
        return all;
    }
}
