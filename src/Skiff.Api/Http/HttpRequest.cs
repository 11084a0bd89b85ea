namespace Skiff.Api.Http;

/// <summary>One request as a handler sees it: head, decoded path and query, and the body stream.</summary>
public sealed class HttpRequest
{
    private readonly HttpConnection? _connection;

    internal HttpRequest(RequestHead head, RequestBody body, HttpConnection? connection)
    {
        _connection = connection;
        Head = head;
        Body = body;
        int q = head.Target.IndexOf('?');
        RawPath = q < 0 ? head.Target : head.Target[..q];
        Query = QueryString.Parse(q < 0 ? "" : head.Target[(q + 1)..]);
    }

    public RequestHead Head { get; }

    public string Method => Head.Method;

    /// <summary>The path as sent, still percent-encoded, without the query.</summary>
    public string RawPath { get; }

    public QueryString Query { get; }

    public HttpHeaders Headers => Head.Headers;

    public RequestBody Body { get; }

    public bool IsHead => Method == "HEAD";

    /// <summary>
    /// Cancelled when the client goes away while the handler still works (wait, pull,
    /// events). Asking for it starts the watch, which needs the body read first: a
    /// bodyless request, or after reading the body.
    /// </summary>
    public CancellationToken Aborted
    {
        get
        {
            if (_connection is null)
            {
                return CancellationToken.None;
            }
            if (Body.Completed && !_watching)
            {
                _watching = true;
                _connection.WatchForDisconnect();
            }
            return _connection.Aborted;
        }
    }

    private bool _watching;

    /// <summary>HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.</summary>
    public bool KeepAlive => Head.MinorVersion >= 1
        ? !Headers.HasToken("Connection", "close")
        : Headers.HasToken("Connection", "keep-alive");

    /// <summary>The client asked to take over the connection (docker attach and exec: "Upgrade: tcp").</summary>
    public bool WantsUpgrade => Headers.Get("Upgrade") is { Length: > 0 } && Headers.HasToken("Connection", "upgrade");
}
