using System.Net.Sockets;

namespace Skiff.Runtime.Supervision;

/// <summary>Which streams an attach wants.</summary>
[Flags]
public enum AttachStreams : byte
{
    None = 0,
    Stdin = 1,
    Stdout = 2,
    Stderr = 4,
}

/// <summary>
/// `skiff attach`, `start -a` and `run` without -d: one connection to the supervisor that
/// carries stdin in raw and the container's output out in frames, then the exit code.
/// </summary>
public sealed class AttachClient : IDisposable
{
    private readonly Socket _socket;

    private AttachClient(Socket socket, AttachStreams streams)
    {
        _socket = socket;
        Streams = streams;
        Stream = new NetworkStream(socket, ownsSocket: false);
    }

    public AttachStreams Streams { get; }

    /// <summary>The connection itself: raw stdin one way, frames the other.</summary>
    public NetworkStream Stream { get; }

    /// <summary>Attaches to the container in dir, or returns null when no supervisor runs there.</summary>
    public static AttachClient? Connect(string dir, AttachStreams streams)
    {
        var socket = SupervisorSocket.TryConnect(dir);
        if (socket is null)
        {
            return null;
        }
        try
        {
            socket.Send([(byte)'A', (byte)streams]);
            return new AttachClient(socket, streams);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Pumps <paramref name="input"/> to the container (its end half-closes the connection,
    /// which is EOF for a --stdin-once container) and the output frames to the streams, until
    /// the container exits for good: its exit code, or null when the connection ended first.
    /// The input pump is left behind when the container ends first (a console read cannot be
    /// interrupted); it dies with the connection.
    /// </summary>
    public async Task<int?> RunAsync(Stream? input, Stream stdout, Stream? stderr, CancellationToken cancel = default)
    {
        if (input is not null && Streams.HasFlag(AttachStreams.Stdin))
        {
            _ = PumpInputAsync(input, cancel);
        }
        return await AttachFrames.DemuxAsync(Stream, stdout, stderr, cancel).ConfigureAwait(false);
    }

    private async Task PumpInputAsync(Stream input, CancellationToken cancel)
    {
        try
        {
            await input.CopyToAsync(Stream, cancel).ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The container (or the connection) ended while input was still coming.
        }
    }

    public void Dispose()
    {
        Stream.Dispose();
        _socket.Dispose();
    }
}
