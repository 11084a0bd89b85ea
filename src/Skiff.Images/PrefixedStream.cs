namespace Skiff.Images;

/// <summary>A few bytes already read (to sniff a magic number) put back in front of a stream that cannot seek.</summary>
public sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
{
    private int _at;

    public static (Compression, Stream) Sniff(Stream input)
    {
        var head = new byte[4];
        int n = input.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        return (LayerCompression.Detect(head.AsSpan(0, n)), new PrefixedStream(head[..n], input));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_at < prefix.Length)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _at);
            prefix.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }
        return rest.Read(buffer);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
