using System.Text.Json;
using Skiff.Api.Http;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;

namespace Skiff.Api.Endpoints;

/// <summary>
/// /containers/{id}/archive, the daemon half of docker cp: HEAD stats a path, GET sends it
/// as a tar, PUT unpacks a tar into a directory; running and stopped containers alike.
/// HEAD and GET carry the stat in X-Docker-Container-Path-Stat (base64 JSON), which the
/// CLI needs to decide where things land.
/// </summary>
public static class ContainerArchiveEndpoints
{
    public const string StatHeader = "X-Docker-Container-Path-Stat";

    public static void Map(Router routes, Daemon daemon)
    {
        routes.Head("/containers/{id}/archive", c => Stat(c, daemon));
        routes.Get("/containers/{id}/archive", c => Get(c, daemon));
        routes.Put("/containers/{id}/archive", c => Put(c, daemon));
    }

    private static string PathOf(ApiContext c) =>
        c.Query.Get("path") is { Length: > 0 } p ? p : throw SkiffException.Invalid("path is required: ?path=PATH in the container");

    public static string Encode(ContainerPathStat stat) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(stat, ContainerCopyJson.Default.ContainerPathStat));

    private static async Task Stat(ApiContext c, Daemon daemon)
    {
        string path = PathOf(c);
        string reference = c.Route("id");
        var stat = await Task.Run(() => ContainerCopy.Stat(daemon.Containers, reference, path));
        c.Response.Headers.Set(StatHeader, Encode(stat));
        await c.StatusAsync(200);
    }

    private static async Task Get(ApiContext c, Daemon daemon)
    {
        string path = PathOf(c);
        string reference = c.Route("id");
        await Task.Run(() =>
        {
            Stream? body = null;
            try
            {
                ContainerCopy.Archive(daemon.Containers, reference, path, new LazyStream(() => body!), stat =>
                {
                    c.Response.Headers.Set(StatHeader, Encode(stat));
                    body = c.StreamAsync("application/x-tar").GetAwaiter().GetResult();
                });
            }
            finally
            {
                body?.Flush();
            }
        });
    }

    private static async Task Put(ApiContext c, Daemon daemon)
    {
        string path = PathOf(c);
        string reference = c.Route("id");
        bool copyUidGid = c.Query.Bool("copyUIDGID"), noOverwrite = c.Query.Bool("noOverwriteDirNonDir");
        var body = c.Request.Body;
        try
        {
            await Task.Run(() => ContainerCopy.Extract(daemon.Containers, reference, path, body, copyUidGid, noOverwrite));
        }
        finally
        {
            // The tar reader stops at the end marker; the padding after it (or a body refused early) is read away.
            try
            {
                await body.DrainAsync(long.MaxValue, CancellationToken.None);
            }
            catch (IOException)
            {
            }
        }
        await c.StatusAsync(200);
    }

    /// <summary>The response body, which only exists once the stat is known (the head carries it).</summary>
    private sealed class LazyStream(Func<Stream> open) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => open().Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => open().Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => open().Write(buffer);
    }
}
