using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Skiff.Runtime.Supervision;

/// <summary>The stream byte of a frame: Docker's 0-2, and the supervisor's exit frame.</summary>
public enum AttachStream : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// <summary>Payload "exit CODE": the container is gone for good; the connection closes next.</summary>
    Exit = 3,
}

/// <summary>One frame; the payload is valid until the reader's next read.</summary>
public readonly record struct AttachFrame(AttachStream Stream, ReadOnlyMemory<byte> Payload)
{
    /// <summary>The exit code an <see cref="AttachStream.Exit"/> frame carries.</summary>
    public int? ExitCode
    {
        get
        {
            if (Stream != AttachStream.Exit)
            {
                return null;
            }
            var text = Encoding.ASCII.GetString(Payload.Span);
            return text.StartsWith("exit ", StringComparison.Ordinal) &&
                   int.TryParse(text.AsSpan(5), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code)
                ? code
                : null;
        }
    }
}

/// <summary>
/// Reads the framing of attach.sock, which is Docker's multiplexed stream: a header
/// [stream, 0, 0, 0, length u32 big-endian] and the payload. The REST API can pass
/// stdout and stderr frames through as they are.
/// </summary>
public sealed class AttachFrameReader(Stream source)
{
    private const int MaxFrame = 16 << 20;
    private readonly byte[] _header = new byte[8];
    private byte[] _payload = new byte[32 * 1024];

    /// <summary>The next frame, or null at the end of the stream.</summary>
    public async ValueTask<AttachFrame?> ReadAsync(CancellationToken cancel = default)
    {
        int got = await source.ReadAtLeastAsync(_header, _header.Length, throwOnEndOfStream: false, cancel).ConfigureAwait(false);
        if (got < _header.Length)
        {
            return null; // closed, between frames or (a dying supervisor) inside a header
        }
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(4));
        if (length < 0 || length > MaxFrame)
        {
            throw SkiffException.Internal($"attach stream: a frame of {(uint)length} bytes makes no sense");
        }
        if (length > _payload.Length)
        {
            _payload = new byte[length];
        }
        got = await source.ReadAtLeastAsync(_payload.AsMemory(0, length), length, throwOnEndOfStream: false, cancel).ConfigureAwait(false);
        if (got < length)
        {
            return null;
        }
        return new AttachFrame((AttachStream)_header[0], _payload.AsMemory(0, length));
    }
}

public static class AttachFrames
{
    /// <summary>
    /// Copies stdout frames to <paramref name="stdout"/> and stderr frames to
    /// <paramref name="stderr"/> (dropped when null) until the exit frame: returns its code,
    /// or null when the stream ended without one (the supervisor died, or dropped us).
    /// </summary>
    public static async Task<int?> DemuxAsync(Stream source, Stream stdout, Stream? stderr, CancellationToken cancel = default)
    {
        var reader = new AttachFrameReader(source);
        while (await reader.ReadAsync(cancel).ConfigureAwait(false) is { } frame)
        {
            switch (frame.Stream)
            {
                case AttachStream.Stdout:
                    await stdout.WriteAsync(frame.Payload, cancel).ConfigureAwait(false);
                    await stdout.FlushAsync(cancel).ConfigureAwait(false);
                    break;
                case AttachStream.Stderr when stderr is not null:
                    await stderr.WriteAsync(frame.Payload, cancel).ConfigureAwait(false);
                    await stderr.FlushAsync(cancel).ConfigureAwait(false);
                    break;
                case AttachStream.Exit:
                    return frame.ExitCode;
                default:
                    break;
            }
        }
        return null;
    }

    /// <summary>Writes one frame (for tests, and for an API that re-frames).</summary>
    public static async ValueTask WriteAsync(Stream target, AttachStream stream, ReadOnlyMemory<byte> payload, CancellationToken cancel = default)
    {
        byte[] header = new byte[8];
        header[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)payload.Length);
        await target.WriteAsync(header, cancel).ConfigureAwait(false);
        await target.WriteAsync(payload, cancel).ConfigureAwait(false);
    }
}
