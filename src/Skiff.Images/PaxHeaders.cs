using System.Globalization;
using System.Text;

namespace Skiff.Images;

/// <summary>One PAX extended header record: the key as text, the value as the exact bytes of the archive.</summary>
public readonly record struct PaxRecord(string Key, byte[] Value);

/// <summary>
/// A stream under TarReader that follows the tar block structure and keeps the raw bytes of
/// each PAX extended header (<c>x</c>). TarReader decodes PAX values as UTF-8 and splits
/// records at the first newline, so a binary value (<c>SCHILY.xattr.security.capability</c>)
/// comes out corrupted or fails the whole layer; the tap hands TarReader the header without
/// its <c>SCHILY.xattr.*</c> records (size and checksum rewritten) and the unpacker takes the
/// xattrs from <see cref="Records"/>. Nothing is read ahead of TarReader, so once TarReader
/// returns an entry, the last entry header that went through is that entry's.
/// </summary>
public sealed class PaxHeaderTap(Stream inner) : Stream
{
    private const int Block = 512;
    private const string XattrPrefix = "SCHILY.xattr.";

    /// <summary>The most a PAX header may hold; TarReader reads it whole into memory too.</summary>
    public const int MaxPaxHeader = 8 << 20;

    private readonly byte[] _header = new byte[Block];
    private byte[] _out = [];
    private int _outPos;
    private int _outLen;
    private long _dataLeft;
    private bool _eof;
    private List<PaxRecord>? _pending;

    /// <summary>Entry headers seen (all but the x, L and K headers that describe the next one): TarReader's count of entries.</summary>
    public long Entries { get; private set; }

    /// <summary>The PAX records that came before the last entry header, raw (empty without an x header).</summary>
    public IReadOnlyList<PaxRecord> Records { get; private set; } = [];

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (true)
        {
            if (_outPos < _outLen)
            {
                int n = Math.Min(buffer.Length, _outLen - _outPos);
                _out.AsSpan(_outPos, n).CopyTo(buffer);
                _outPos += n;
                return n;
            }
            if (_dataLeft > 0)
            {
                // File data goes straight through.
                int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _dataLeft)]);
                _dataLeft -= n;
                return n;
            }
            if (_eof)
            {
                return 0;
            }
            NextHeader();
        }
    }

    private void Emit(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b = default)
    {
        if (_out.Length < a.Length + b.Length)
        {
            _out = new byte[Math.Max(a.Length + b.Length, Block)];
        }
        a.CopyTo(_out);
        b.CopyTo(_out.AsSpan(a.Length));
        _outPos = 0;
        _outLen = a.Length + b.Length;
    }

    private void NextHeader()
    {
        int got = inner.ReadAtLeast(_header, Block, throwOnEndOfStream: false);
        if (got < Block)
        {
            // Truncated: what there is goes on, and TarReader says what is wrong.
            _eof = true;
            Emit(_header.AsSpan(0, got));
            return;
        }
        Emit(_header);
        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            return; // end-of-archive block
        }
        long size = ParseSize(_header.AsSpan(124, 12));
        switch (_header[156])
        {
            case (byte)'x':
                ExtendedHeader(size);
                return;
            case (byte)'L' or (byte)'K':
                break;
            case (byte)'g':
                Entries++;
                break;
            default:
                Entries++;
                Records = _pending ?? [];
                _pending = null;
                foreach (var r in Records)
                {
                    if (r.Key == "size")
                    {
                        size = long.Parse(Encoding.ASCII.GetString(r.Value), NumberStyles.None, CultureInfo.InvariantCulture);
                    }
                }
                break;
        }
        _dataLeft = Padded(size);
    }

    private void ExtendedHeader(long size)
    {
        if (size > MaxPaxHeader)
        {
            throw SkiffException.Invalid($"a PAX header in the layer claims {size} bytes: refusing an absurd size");
        }
        var data = new byte[Padded(size)];
        int got = inner.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (got < data.Length)
        {
            _eof = true;
            Emit(_header, data.AsSpan(0, got));
            return;
        }
        var records = Parse(data.AsSpan(0, (int)size));
        _pending = records;
        if (!records.Exists(r => r.Key.StartsWith(XattrPrefix, StringComparison.Ordinal)))
        {
            Emit(_header, data);
            return;
        }
        var kept = new MemoryStream();
        foreach (var r in records)
        {
            if (!r.Key.StartsWith(XattrPrefix, StringComparison.Ordinal))
            {
                kept.Write(Record(r.Key, r.Value));
            }
        }
        long keptSize = kept.Length;
        kept.Write(new byte[Padded(keptSize) - keptSize]);
        Encoding.ASCII.GetBytes(Convert.ToString(keptSize, 8).PadLeft(11, '0') + "\0").CopyTo(_header, 124);
        _header.AsSpan(148, 8).Fill((byte)' ');
        int sum = 0;
        foreach (byte b in _header)
        {
            sum += b;
        }
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(_header, 148);
        Emit(_header, kept.GetBuffer().AsSpan(0, (int)kept.Length));
    }

    private static long Padded(long size)
    {
        if (size < 0 || size > long.MaxValue - Block)
        {
            throw new InvalidDataException($"a tar header claims {size} bytes");
        }
        return (size + Block - 1) & ~(long)(Block - 1);
    }

    /// <summary>One PAX record as bytes: LEN counts itself.</summary>
    public static byte[] Record(string key, ReadOnlySpan<byte> value)
    {
        int body = 1 + Encoding.UTF8.GetByteCount(key) + 1 + value.Length + 1;
        int len = body + 1;
        while (len.ToString(CultureInfo.InvariantCulture).Length + body != len)
        {
            len++;
        }
        var r = new byte[len];
        int at = Encoding.ASCII.GetBytes(len.ToString(CultureInfo.InvariantCulture) + " ", r);
        at += Encoding.UTF8.GetBytes(key + "=", r.AsSpan(at));
        value.CopyTo(r.AsSpan(at));
        r[^1] = (byte)'\n';
        return r;
    }

    /// <summary>A tar size field: octal digits, or base-256 when the high bit of the first byte is set.</summary>
    public static long ParseSize(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            long v = field[0] & 0x7f;
            foreach (byte b in field[1..])
            {
                if (v > (long.MaxValue >> 8))
                {
                    throw new InvalidDataException("a tar size field overflows");
                }
                v = (v << 8) | b;
            }
            return v;
        }
        long size = 0;
        int i = 0;
        while (i < field.Length && field[i] is (byte)' ' or 0)
        {
            i++;
        }
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++)
        {
            size = checked(size * 8 + (field[i] - '0'));
        }
        for (; i < field.Length; i++)
        {
            if (field[i] is not ((byte)' ' or 0))
            {
                throw new InvalidDataException("a tar size field is not octal");
            }
        }
        return size;
    }

    /// <summary>PAX records, "LEN KEY=VALUE\n" where LEN counts the bytes of the whole record; later ones win.</summary>
    public static List<PaxRecord> Parse(ReadOnlySpan<byte> data)
    {
        var records = new List<PaxRecord>();
        while (data.Length > 0)
        {
            int space = data.IndexOf((byte)' ');
            if (space <= 0 || space > 20)
            {
                throw new InvalidDataException("a PAX record has no length");
            }
            long len = 0;
            foreach (byte b in data[..space])
            {
                if (b is < (byte)'0' or > (byte)'9')
                {
                    throw new InvalidDataException("a PAX record length is not a number");
                }
                len = checked(len * 10 + (b - '0'));
            }
            if (len <= space + 2 || len > data.Length || data[(int)len - 1] != (byte)'\n')
            {
                throw new InvalidDataException("a PAX record has a wrong length");
            }
            var body = data[(space + 1)..((int)len - 1)];
            int eq = body.IndexOf((byte)'=');
            if (eq <= 0)
            {
                throw new InvalidDataException("a PAX record has no key");
            }
            string key = Encoding.UTF8.GetString(body[..eq]);
            records.RemoveAll(r => r.Key == key);
            records.Add(new PaxRecord(key, body[(eq + 1)..].ToArray()));
            data = data[(int)len..];
        }
        return records;
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
