using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Skiff.Images.Registry;

/// <summary>
/// The OCI distribution API for one registry: manifests and blobs by repository, with
/// bearer-token and basic auth answered from WWW-Authenticate, and retries with backoff
/// on connection errors and 5xx answers. HTTPS trusts what <see cref="RegistryTrust"/>
/// says; plain HTTP only where the endpoint's policy allows it and HTTPS found no TLS.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    public static readonly string[] ManifestAccept =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    private const int MaxAttempts = 4;
    private readonly HttpClient _http;
    private readonly Credential? _credential;
    private readonly Dictionary<string, AuthenticationHeaderValue> _authByScope = [];
    private readonly Lock _authLock = new();
    private readonly RegistryTrust _trust;
    private Task? _transport;

    /// <summary>A client for one registry; certDirectory is Podman's --cert-dir (else the registry's certs.d is looked up).</summary>
    public RegistryClient(RegistryEndpoint endpoint, Credential? credential, string? certDirectory = null)
    {
        Endpoint = endpoint;
        _credential = credential;
        _trust = RegistryTrust.For(endpoint, certDirectory);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = 8,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            SslOptions = _trust.Options(),
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(10) };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("skiff", "1"));
    }

    /// <summary>Where requests go: switches to plain HTTP once, when the policy allows it and HTTPS found no TLS.</summary>
    public RegistryEndpoint Endpoint { get; private set; }

    /// <summary>Base delay of the retry backoff (tests shorten it).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    private string Host => Endpoint.Registry;

    public static string PullScope(string repository) => $"repository:{repository}:pull";

    public static string PushScope(string repository) => $"repository:{repository}:pull,push";

    /// <summary>GET /v2/ with the credential: what login checks.</summary>
    public async Task PingAsync(CancellationToken ct)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Endpoint.Ping), "", ct);
        if (r.StatusCode != HttpStatusCode.OK)
        {
            throw Unexpected(r, "GET /v2/");
        }
    }

    /// <summary>A manifest or index by tag or digest: its bytes and media type; null when the registry has none (404).</summary>
    public async Task<(byte[] Bytes, string MediaType)?> GetManifestAsync(string repository, string reference, CancellationToken ct)
    {
        using var r = await SendAsync(() =>
        {
            var m = new HttpRequestMessage(HttpMethod.Get, Endpoint.Manifest(repository, reference));
            foreach (var a in ManifestAccept)
            {
                m.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            }
            return m;
        }, PullScope(repository), ct);
        if (r.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        if (r.StatusCode != HttpStatusCode.OK)
        {
            throw Unexpected(r, $"GET manifest {repository}:{reference}");
        }
        byte[] bytes = await ReadLimitedAsync(r, 4 << 20, "manifest", ct);
        string mt = SpecJson.MediaTypeOf(bytes) ?? r.Content.Headers.ContentType?.MediaType ?? MediaTypes.OciManifest;
        return (bytes, mt);
    }

    /// <summary>A small blob (a config) in memory, verified against its digest.</summary>
    public async Task<byte[]> GetSmallBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Endpoint.Blob(repository, digest)), PullScope(repository), ct);
        if (r.StatusCode == HttpStatusCode.NotFound)
        {
            throw SkiffException.NotFound($"blob {digest} not found in {Host}/{repository}");
        }
        if (r.StatusCode != HttpStatusCode.OK)
        {
            throw Unexpected(r, $"GET blob {digest.Short}");
        }
        byte[] bytes = await ReadLimitedAsync(r, 16 << 20, $"blob {digest.Short}", ct);
        var got = Digest.Of(bytes);
        if (got != digest)
        {
            throw SkiffException.Invalid($"digest mismatch: blob {digest} from {Host} holds {got}: nothing was stored");
        }
        return bytes;
    }

    /// <summary>
    /// Streams a blob into the content store's ingest/ and commits it once its digest
    /// checks out. A broken connection resumes with a Range request where it stopped.
    /// </summary>
    public async Task<Digest> DownloadBlobAsync(string repository, Digest digest, long size, ContentStore content,
        Action<long>? progress, CancellationToken ct)
    {
        var writer = content.BeginWrite();
        try
        {
            var buffer = new byte[1 << 16];
            for (int attempt = 1; ; attempt++)
            {
                long have = writer.Length;
                try
                {
                    using var r = await SendAsync(() =>
                    {
                        var m = new HttpRequestMessage(HttpMethod.Get, Endpoint.Blob(repository, digest));
                        if (have > 0)
                        {
                            m.Headers.Range = new RangeHeaderValue(have, null);
                        }
                        return m;
                    }, PullScope(repository), ct);
                    if (r.StatusCode == HttpStatusCode.NotFound)
                    {
                        throw SkiffException.NotFound($"blob {digest} not found in {Host}/{repository}");
                    }
                    if (r.StatusCode == HttpStatusCode.OK && have > 0)
                    {
                        // The registry ignored the range: start the blob again.
                        writer.Dispose();
                        writer = content.BeginWrite();
                    }
                    else if (r.StatusCode != HttpStatusCode.OK && r.StatusCode != HttpStatusCode.PartialContent)
                    {
                        throw Unexpected(r, $"GET blob {digest.Short}");
                    }
                    using var body = await r.Content.ReadAsStreamAsync(ct);
                    int n;
                    while ((n = await body.ReadAsync(buffer, ct)) > 0)
                    {
                        writer.Stream.Write(buffer, 0, n);
                        if (size > 0 && writer.Length > size)
                        {
                            throw SkiffException.Invalid($"blob {digest} from {Host} is longer than the {size} bytes its descriptor says: nothing was stored");
                        }
                        progress?.Invoke(writer.Length);
                    }
                    if (size > 0 && writer.Length < size)
                    {
                        throw new IOException($"the connection closed after {writer.Length} of {size} bytes");
                    }
                    break;
                }
                catch (Exception e) when (e is IOException or HttpRequestException && attempt < MaxAttempts + 2 && !ct.IsCancellationRequested)
                {
                    await Task.Delay(Backoff(attempt), ct);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw SkiffException.Unavailable($"downloading blob {digest.Short} from {Host}: {Explain(e)}");
                }
            }
            return writer.Commit(digest);
        }
        finally
        {
            writer.Dispose();
        }
    }

    public async Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Endpoint.Blob(repository, digest)), PushScope(repository), ct);
        return r.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw Unexpected(r, $"HEAD blob {digest.Short}"),
        };
    }

    /// <summary>Blobs up to this size go up in one PUT; larger ones in PATCH chunks of this size.</summary>
    public long ChunkSize { get; init; } = 32 << 20;

    /// <summary>
    /// POST for an upload URL; then a monolithic PUT ?digest= with the whole blob, or for a
    /// large blob PATCH chunks (Content-Range) and a closing PUT ?digest= without a body.
    /// </summary>
    public async Task UploadBlobAsync(string repository, Digest digest, string path, CancellationToken ct, Action<long>? progress = null)
    {
        string location;
        using (var start = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Endpoint.Uploads(repository)) { Content = new ByteArrayContent([]) },
                   PushScope(repository), ct))
        {
            if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is null)
            {
                throw Unexpected(start, $"POST upload of blob {digest.Short}");
            }
            location = start.Headers.Location.OriginalString;
        }
        long length = new FileInfo(path).Length;
        long offset = 0;
        if (length > ChunkSize)
        {
            for (; offset < length; offset += ChunkSize)
            {
                long count = Math.Min(ChunkSize, length - offset);
                using var patch = await SendAsync(() =>
                {
                    var content = new FileRangeContent(path, offset, count);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    content.Headers.ContentLength = count;
                    var m = new HttpRequestMessage(HttpMethod.Patch, new Uri(Endpoint.BaseUri, location)) { Content = content };
                    m.Content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + count - 1}");
                    return m;
                }, PushScope(repository), ct, retry: false);
                if (patch.StatusCode != HttpStatusCode.Accepted || patch.Headers.Location is null)
                {
                    throw Unexpected(patch, $"PATCH blob {digest.Short} at {offset}");
                }
                location = patch.Headers.Location.OriginalString;
                progress?.Invoke(offset + count);
            }
        }
        using var put = await SendAsync(() =>
        {
            HttpContent content = offset == 0 ? new FileRangeContent(path, 0, length) : new ByteArrayContent([]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = offset == 0 ? length : 0;
            return new HttpRequestMessage(HttpMethod.Put, Endpoint.FinishUpload(location, digest)) { Content = content };
        }, PushScope(repository), ct, retry: false);
        if (put.StatusCode != HttpStatusCode.Created)
        {
            throw Unexpected(put, $"PUT blob {digest.Short}");
        }
    }

    /// <summary>A slice of a file as a request body, opened only when sent.</summary>
    private sealed class FileRangeContent(string path, long offset, long count) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
            f.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[1 << 16];
            long left = count;
            while (left > 0)
            {
                int n = await f.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
                if (n == 0)
                {
                    throw new IOException($"{path} ended {left} bytes early");
                }
                await stream.WriteAsync(buffer.AsMemory(0, n));
                left -= n;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = count;
            return true;
        }
    }

    /// <summary>PUT a manifest under a tag; returns the digest the registry answers (or ours).</summary>
    public async Task<Digest> PutManifestAsync(string repository, string tag, byte[] bytes, string mediaType, CancellationToken ct)
    {
        using var r = await SendAsync(() =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, Endpoint.Manifest(repository, tag)) { Content = content };
        }, PushScope(repository), ct);
        if (r.StatusCode != HttpStatusCode.Created && r.StatusCode != HttpStatusCode.OK)
        {
            throw Unexpected(r, $"PUT manifest {repository}:{tag}");
        }
        var ours = Digest.Of(bytes);
        return r.Headers.TryGetValues("Docker-Content-Digest", out var v) && Digest.TryParse(v.FirstOrDefault(), out var theirs) ? theirs : ours;
    }

    /// <summary>
    /// HTTPS or plain HTTP, decided once before the first request. Only a policy that allows
    /// plain HTTP probes: GET /v2/ over HTTPS, as Docker and Podman do; any answer keeps HTTPS.
    /// </summary>
    private async Task TransportAsync(CancellationToken ct)
    {
        if (!Endpoint.MayUsePlainHttp)
        {
            return;
        }
        Task probe;
        lock (_authLock) // the only other lock of this client; one probe for every caller
        {
            probe = _transport ??= ProbeAsync(ct);
        }
        try
        {
            await probe;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw _trust.Refused(e) ? _trust.Failure(Host) : SkiffException.Unavailable($"cannot reach registry {Host}: {Explain(e)}");
        }
    }

    /// <summary>
    /// Falls back to plain HTTP when HTTPS failed before any certificate came (refused, or a
    /// peer that does not speak TLS); a peer that did (a refused certificate, a client
    /// certificate it wanted) keeps its error: plain HTTP could only confuse it.
    /// </summary>
    private async Task ProbeAsync(CancellationToken ct)
    {
        try
        {
            using var probe = await _http.GetAsync(Endpoint.Ping, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested
                                   && !_trust.PeerSpokeTls && _trust.LastRejection is null)
        {
            Endpoint = Endpoint with { PlainHttp = true };
        }
    }

    /// <summary>
    /// Sends a request (made fresh for every attempt), answering a 401 challenge once and
    /// retrying connection errors and 5xx with backoff. The caller disposes the response.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, string scope, CancellationToken ct, bool retry = true)
    {
        await TransportAsync(ct);
        bool challenged = false;
        for (int attempt = 1; ; attempt++)
        {
            var request = make();
            AuthenticationHeaderValue? auth;
            lock (_authLock)
            {
                auth = _authByScope.GetValueOrDefault(scope) ?? _authByScope.GetValueOrDefault("*");
            }
            if (auth is not null)
            {
                request.Headers.Authorization = auth;
            }
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                request.Dispose();
                if (_trust.Refused(e))
                {
                    throw _trust.Failure(Host);
                }
                // A TLS alert (a client certificate wanted or refused), or a peer that does not
                // speak TLS at all, comes back the same every time.
                if (retry && attempt < MaxAttempts && RemoteAlert(e) is null && !HandshakeRefused(e))
                {
                    await Task.Delay(Backoff(attempt), ct);
                    continue;
                }
                throw SkiffException.Unavailable($"cannot reach registry {Host}: {Explain(e)}");
            }
            request.Dispose();
            if (response.StatusCode == HttpStatusCode.Unauthorized && !challenged)
            {
                challenged = true;
                var challenge = AuthChallenge.Parse(response.Headers.WwwAuthenticate.FirstOrDefault()?.ToString());
                response.Dispose();
                var header = await AnswerAsync(challenge, scope, ct);
                lock (_authLock)
                {
                    _authByScope[challenge?.IsBasic == true ? "*" : scope] = header;
                }
                attempt--;
                continue;
            }
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                response.Dispose();
                throw AuthFailure();
            }
            if ((int)response.StatusCode >= 500 && retry && attempt < MaxAttempts)
            {
                response.Dispose();
                await Task.Delay(Backoff(attempt), ct);
                continue;
            }
            return response;
        }
    }

    private SkiffException AuthFailure() => _credential is null
        ? SkiffException.Invalid($"authentication required: run skiff login {Host}")
        : SkiffException.Invalid($"authentication failed for {Host}: the registry refused the credentials of {_credential.Username}");

    private async Task<AuthenticationHeaderValue> AnswerAsync(AuthChallenge? challenge, string scope, CancellationToken ct)
    {
        if (challenge is { IsBearer: true, Realm: { } realm })
        {
            return new AuthenticationHeaderValue("Bearer", await TokenAsync(realm, challenge.Service, scope, ct));
        }
        if (_credential is null)
        {
            throw AuthFailure();
        }
        return Basic(_credential);
    }

    private static AuthenticationHeaderValue Basic(Credential c) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(c.Username + ":" + c.Password)));

    private async Task<string> TokenAsync(string realm, string? service, string scope, CancellationToken ct)
    {
        var query = new List<string>();
        if (service is not null)
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }
        if (scope.Length > 0)
        {
            query.Add("scope=" + Uri.EscapeDataString(scope));
        }
        string url = realm + (query.Count == 0 ? "" : (realm.Contains('?') ? "&" : "?") + string.Join('&', query));
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw SkiffException.Invalid($"registry {Host} names an invalid token realm \"{realm}\"");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (_credential is not null)
        {
            request.Headers.Authorization = Basic(_credential);
        }
        HttpResponseMessage r;
        try
        {
            r = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            if (_trust.Refused(e))
            {
                throw _trust.Failure(Host);
            }
            throw SkiffException.Unavailable($"cannot reach the token service of {Host} ({uri.Host}): {Explain(e)}");
        }
        using (r)
        {
            if (r.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw AuthFailure();
            }
            if (r.StatusCode != HttpStatusCode.OK)
            {
                throw Unexpected(r, "GET token");
            }
            byte[] body = await ReadLimitedAsync(r, 1 << 20, "token", ct);
            TokenResponse? t;
            try
            {
                t = JsonSerializer.Deserialize(body, RegistryJson.Default.TokenResponse);
            }
            catch (JsonException e)
            {
                throw SkiffException.Invalid($"the token service of {Host} answered something that does not parse: {e.Message}");
            }
            return t?.Token ?? t?.AccessToken ?? throw SkiffException.Invalid($"the token service of {Host} answered no token");
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage r, int max, string what, CancellationToken ct)
    {
        if (r.Content.Headers.ContentLength > max)
        {
            throw SkiffException.Invalid($"the {what} is {r.Content.Headers.ContentLength} bytes, more than the {max} skiff accepts");
        }
        using var s = await r.Content.ReadAsStreamAsync(ct);
        using var ms = new MemoryStream();
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await s.ReadAsync(buffer, ct)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > max)
            {
                throw SkiffException.Invalid($"the {what} is more than the {max} bytes skiff accepts");
            }
        }
        return ms.ToArray();
    }

    private TimeSpan Backoff(int attempt) => RetryDelay * (1 << Math.Min(attempt - 1, 5));

    private SkiffException Unexpected(HttpResponseMessage r, string what)
    {
        string detail = "";
        try
        {
            detail = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
        }
        detail = detail.ReplaceLineEndings(" ").Trim();
        if (detail.Length > 200)
        {
            detail = detail[..200] + "...";
        }
        return SkiffException.Unavailable($"registry {Host} answered {(int)r.StatusCode} {r.ReasonPhrase} to {what}{(detail.Length > 0 ? ": " + detail : "")}");
    }

    /// <summary>
    /// Runs one registry operation to the end for a verb: a network failure the client did
    /// not already turn into a SkiffException (a body cut short, a timeout) becomes one here.
    /// </summary>
    public static T Run<T>(string registry, Func<Task<T>> operation) =>
        RunAsync(registry, operation).GetAwaiter().GetResult();

    /// <summary>Run for callers that stay asynchronous (the API daemon); the same errors.</summary>
    public static async Task<T> RunAsync<T>(string registry, Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception e) when (e is HttpRequestException or HttpIOException or OperationCanceledException
                                   || e is IOException { InnerException: SocketException })
        {
            // A local IOException (a full disk while unpacking) is not the registry's: the verb's guard reports it.
            throw SkiffException.Unavailable($"registry {registry}: {Describe(e)}");
        }
    }

    /// <summary>The useful cause: "Connection refused", not the wrapper's generic text.</summary>
    public static string Describe(Exception e)
    {
        if (RemoteAlert(e) is { } alert)
        {
            return "remote error: tls: " + alert;
        }
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is SocketException se)
            {
                return se.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "no such host",
                    SocketError.TimedOut => "connection timed out",
                    SocketError.ConnectionReset => "connection reset by peer",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
                    _ => se.Message,
                };
            }
            if (x is System.Security.Authentication.AuthenticationException)
            {
                return "TLS handshake failed: " + x.Message + " (use --tls-verify=false for a registry without valid HTTPS)";
            }
            if (x is TaskCanceledException or TimeoutException)
            {
                return "timed out";
            }
        }
        return e.Message;
    }

    /// <summary>
    /// A TLS handshake that failed on what the peer sent (not a connection lost in the middle,
    /// which is an IOException): a plain-HTTP server answering, or a protocol the client refuses.
    /// </summary>
    private static bool HandshakeRefused(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The TLS alert the server sent ("bad certificate", "certificate required"), as OpenSSL
    /// words it at the bottom of the exception chain ("... sslv3 alert bad certificate").
    /// </summary>
    public static string? RemoteAlert(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is System.Security.Cryptography.CryptographicException && x.Message.IndexOf(" alert ", StringComparison.Ordinal) is var at and >= 0)
            {
                return x.Message[(at + " alert ".Length)..].Trim();
            }
        }
        return null;
    }

    /// <summary>Describe, plus what to do when the registry turned down our client certificate or the lack of one.</summary>
    private string Explain(Exception e) => Describe(e) + (RemoteAlert(e) is { } alert ? _trust.ClientCertificateHint(alert) : "");

    public void Dispose() => _http.Dispose();
}
