using System.Buffers;
using System.Buffers.Binary;

namespace Skiff.Api.Streams;

/// <summary>Which stream a frame carries (the first byte of Docker's 8-byte frame header).</summary>
public enum StdStream : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// <summary>An error of the daemon: the docker CLI prints "error from daemon in stream: ..." and exits 1.</summary>
    SystemError = 3,
}

/// <summary>
/// Docker's multiplexed stream (attach, logs and exec without a TTY): each write becomes
/// frames of [stream, 0, 0, 0, length as uint32 big-endian] then the payload. Frames from
/// concurrent writers (the stdout and stderr pumps) never interleave.
/// </summary>
public sealed class MultiplexedStreamWriter(Stream output)
{
    public const int HeaderSize = 8;

    /// <summary>Payloads are cut into frames of at most this size, so one pooled buffer holds header and payload.</summary>
    public const int MaxFramePayload = 32 * 1024;

    private readonly SemaphoreSlim _lock = new(1, 1);

    public static void WriteHeader(Span<byte> header, StdStream stream, int length)
    {
        header[0] = (byte)stream;
        header[1] = header[2] = header[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)length);
    }

    public async Task WriteAsync(StdStream stream, ReadOnlyMemory<byte> payload, CancellationToken ct = default)
    {
        if (payload.Length == 0)
        {
            return;
        }
        byte[] frame = ArrayPool<byte>.Shared.Rent(HeaderSize + Math.Min(payload.Length, MaxFramePayload));
        try
        {
            await _lock.WaitAsync(ct);
            try
            {
                while (payload.Length > 0)
                {
                    int n = Math.Min(payload.Length, MaxFramePayload);
                    WriteHeader(frame, stream, n);
                    payload.Span[..n].CopyTo(frame.AsSpan(HeaderSize));
                    await output.WriteAsync(frame.AsMemory(0, HeaderSize + n), ct);
                    payload = payload[n..];
                }
                await output.FlushAsync(ct);
            }
            finally
            {
                _lock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>A daemon error on stream 3: what the CLI shows when a container cannot go on.</summary>
    public Task WriteErrorAsync(string message, CancellationToken ct = default) =>
        WriteAsync(StdStream.SystemError, System.Text.Encoding.UTF8.GetBytes(message), ct);
}
