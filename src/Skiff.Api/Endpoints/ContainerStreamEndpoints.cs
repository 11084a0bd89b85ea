using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Skiff.Api.Http;
using Skiff.Api.Routing;
using Skiff.Api.Streams;
using Skiff.Engine.Containers;
using Skiff.Runtime.Supervision;

namespace Skiff.Api.Endpoints;

/// <summary>
/// attach and logs: a container's output on an API connection, as Docker's multiplexed
/// frames (stream 1 stdout, 2 stderr) or, with a TTY, as raw bytes. Attach hijacks the
/// connection and passes the client's stdin (always raw) to the container's supervisor.
/// </summary>
public static class ContainerStreamEndpoints
{
    public static void Map(Router routes, Daemon daemon, PendingAttaches attaches)
    {
        routes.Post("/containers/{id}/attach", c => Attach(c, daemon, attaches));
        routes.Get("/containers/{id}/logs", c => Logs(c, daemon));
    }

    /// <summary>
    /// POST /containers/{id}/attach?stream&amp;stdin&amp;stdout&amp;stderr&amp;logs. A container that
    /// does not run yet (the docker CLI attaches before it starts) is attached when it
    /// starts; until then whatever stdin the client sends stays in the connection, unread,
    /// and reaches the container first. The connection ends when the container does.
    /// </summary>
    private static async Task Attach(ApiContext c, Daemon daemon, PendingAttaches attaches)
    {
        var store = daemon.Containers;
        string id = ContainerEndpoints.Resolve(c, daemon);
        var def = store.Load(id);
        bool tty = def.Config.Tty;
        bool stdin = c.Query.Bool("stdin") && def.Config.OpenStdin;
        bool stdout = c.Query.Bool("stdout"), stderr = c.Query.Bool("stderr");
        var streams = (stdin ? AttachStreams.Stdin : AttachStreams.None)
                      | (stdout ? AttachStreams.Stdout : AttachStreams.None)
                      | (stderr ? AttachStreams.Stderr : AttachStreams.None);
        // A container that is not running yet is waited for from before the 101 goes out: the
        // docker CLI sends /start as soon as it has the 101, and that start must find us.
        bool stream = c.Query.Bool("stream");
        PendingAttach? pending = null;
        if (stream && !store.State(id).Running)
        {
            pending = new PendingAttach(streams);
            attaches.Add(id, pending);
        }
        HijackedStream connection;
        try
        {
            connection = await c.HijackAsync(tty);
        }
        catch
        {
            if (pending is not null)
            {
                attaches.Remove(id, pending);
            }
            throw;
        }
        using var _ = connection;
        bool taken = false;
        try
        {
            var frames = new MultiplexedStreamWriter(connection);
            Stream outSink = tty ? connection : new FrameStream(frames, StdStream.Stdout);
            Stream? errSink = tty ? null : new FrameStream(frames, StdStream.Stderr);
            if (c.Query.Bool("logs"))
            {
                await ReplayLogAsync(store, id, stdout, stderr, outSink, errSink);
            }
            if (!stream)
            {
                return;
            }
            taken = true;
            using var client = await ConnectAsync(daemon, id, streams, attaches, pending);
            if (client is null)
            {
                return;
            }
            ContainerEvents.Publish(daemon, "attach", def);
            try
            {
                await client.RunAsync(stdin ? connection : null, outSink, errSink);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away (or the supervisor did): the container is not ours to stop.
            }
        }
        finally
        {
            // Leaving before the attach was taken up: a start must not connect it for no one.
            if (pending is not null && !taken && !attaches.Remove(id, pending))
            {
                pending.Cancel();
                if (pending.Connected.IsCompletedSuccessfully)
                {
                    (await pending.Connected)?.Dispose();
                }
            }
        }
    }

    private static async Task ReplayLogAsync(ContainerStore store, string id, bool stdout, bool stderr, Stream outSink, Stream? errSink)
    {
        try
        {
            var options = new LogReadOptions { Stdout = stdout, Stderr = stderr };
            await foreach (var e in LogReader.Open(store, id, options))
            {
                await (e.Stream == LogStream.Stderr && errSink is not null ? errSink : outSink).WriteAsync(e.Line);
            }
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.InvalidArgument)
        {
            // A container without a readable log (--log-driver none): nothing to replay.
        }
    }

    /// <summary>The supervisor's attach for a running container; for one that was not running (pending), once it is started.</summary>
    private static async Task<AttachClient?> ConnectAsync(Daemon daemon, string id, AttachStreams streams, PendingAttaches attaches, PendingAttach? pending)
    {
        var store = daemon.Containers;
        string dir = store.Dir(id).Path;
        if (pending is null)
        {
            return AttachClient.Connect(dir, streams);
        }
        // A start that came between the look and the registration did not see us: join it ourselves.
        if (store.State(id).Running && attaches.Remove(id, pending))
        {
            return AttachClient.Connect(dir, streams);
        }
        return await pending.Connected;
    }

    /// <summary>GET /containers/{id}/logs: the json-file log as frames (raw with a TTY); follow reads on until the container stops.</summary>
    private static async Task Logs(ApiContext c, Daemon daemon)
    {
        var store = daemon.Containers;
        string id = ContainerEndpoints.Resolve(c, daemon);
        var def = store.Load(id);
        bool stdout = c.Query.Bool("stdout"), stderr = c.Query.Bool("stderr");
        if (!stdout && !stderr)
        {
            throw SkiffException.Invalid("Bad parameters: you must choose at least one stream");
        }
        var now = DateTime.UtcNow;
        bool tty = def.Config.Tty, timestamps = c.Query.Bool("timestamps");
        Stream? body = null;
        var options = new LogReadOptions
        {
            Follow = c.Query.Bool("follow"),
            Tail = LogReadOptions.ParseTail(c.Query.Get("tail")),
            Since = Time(c, "since", now),
            Until = Time(c, "until", now),
            Stdout = stdout,
            Stderr = stderr,
            OnIdle = () => body?.Flush(),
        };
        var entries = LogReader.Open(store, id, options);
        var gone = options.Follow ? c.Aborted : CancellationToken.None;
        body = await c.StreamAsync(tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
        var header = new byte[MultiplexedStreamWriter.HeaderSize];
        try
        {
            await foreach (var e in entries.WithCancellation(gone))
            {
                byte[]? stamp = timestamps ? Encoding.ASCII.GetBytes(e.Timestamp + " ") : null;
                if (!tty)
                {
                    // Frames of the stream's size limit apply to attach; a log line is one frame, as dockerd writes it.
                    header[0] = (byte)(e.Stream == LogStream.Stderr ? StdStream.Stderr : StdStream.Stdout);
                    header[1] = header[2] = header[3] = 0;
                    BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)((stamp?.Length ?? 0) + e.Line.Length));
                    await body.WriteAsync(header, gone);
                }
                if (stamp is not null)
                {
                    await body.WriteAsync(stamp, gone);
                }
                await body.WriteAsync(e.Line, gone);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>since/until: unix seconds (with a fraction) as the CLI sends them, or Docker's other forms; "0" or nothing is no bound.</summary>
    private static DateTime? Time(ApiContext c, string key, DateTime now)
    {
        string? value = c.Query.Get(key);
        if (string.IsNullOrEmpty(value) || value == "0")
        {
            return null;
        }
        try
        {
            return DockerTime.Parse(value, now);
        }
        catch (SkiffException e)
        {
            throw SkiffException.Invalid($"invalid value for \"{key}\": {e.Message}");
        }
    }
}

/// <summary>Writes as frames of one stream on a shared multiplexed writer (stdout and stderr of one attach).</summary>
internal sealed class FrameStream(MultiplexedStreamWriter writer, StdStream stream) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) =>
        writer.WriteAsync(stream, buffer.AsMemory(offset, count)).GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        writer.WriteAsync(stream, buffer.AsMemory(offset, count), cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(writer.WriteAsync(stream, buffer, cancellationToken));
}

/// <summary>An attach that waits for its container to start.</summary>
public sealed class PendingAttach(AttachStreams streams)
{
    private readonly TaskCompletionSource<AttachClient?> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The supervisor's attach once the container is started; null if it never is (removed, or the start failed).</summary>
    public Task<AttachClient?> Connected => _connected.Task;

    private int _tried;

    /// <summary>
    /// Connects to the supervisor in dir, once (with --wait-attach, the first such connection
    /// lets the container run, so it is made even for an attach cancelled meanwhile, and
    /// then let go).
    /// </summary>
    public void Connect(string dir)
    {
        if (Interlocked.Exchange(ref _tried, 1) != 0)
        {
            return;
        }
        AttachClient? client = null;
        try
        {
            client = AttachClient.Connect(dir, streams);
        }
        catch (Exception e) when (e is SocketException or IOException or SkiffException)
        {
            // No supervisor to attach to: the attach ends.
        }
        if (!_connected.TrySetResult(client))
        {
            client?.Dispose();
        }
    }

    public void Cancel() => _connected.TrySetResult(null);
}

/// <summary>The attaches waiting for their containers to start, by container id.</summary>
public sealed class PendingAttaches
{
    private readonly Dictionary<string, List<PendingAttach>> _byId = new(StringComparer.Ordinal);

    public void Add(string id, PendingAttach attach)
    {
        lock (_byId)
        {
            if (!_byId.TryGetValue(id, out var list))
            {
                _byId[id] = list = [];
            }
            list.Add(attach);
        }
    }

    /// <summary>True when the attach was still waiting (no start has taken it).</summary>
    public bool Remove(string id, PendingAttach attach)
    {
        lock (_byId)
        {
            return _byId.TryGetValue(id, out var list) && list.Remove(attach);
        }
    }

    /// <summary>Every attach waiting for this container; they are the caller's to connect or cancel.</summary>
    public List<PendingAttach> Take(string id)
    {
        lock (_byId)
        {
            return _byId.Remove(id, out var list) ? list : [];
        }
    }
}
