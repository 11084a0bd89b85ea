using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Skiff.Tests.Images;

/// <summary>Builds layer tarballs in memory, hostile ones included.</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _buffer = new();
    private readonly TarWriter _writer;

    public TarBuilder() => _writer = new TarWriter(_buffer, TarEntryFormat.Pax, leaveOpen: true);

    public TarBuilder Dir(string name, int mode = 0b111_101_101, int uid = 0, int gid = 0)
    {
        _writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)mode, Uid = uid, Gid = gid, ModificationTime = Time });
        return this;
    }

    public TarBuilder File(string name, string content, int mode = 0b110_100_100, int uid = 0, int gid = 0,
        Dictionary<string, string>? pax = null)
    {
        var e = pax is null ? new PaxTarEntry(TarEntryType.RegularFile, name) : new PaxTarEntry(TarEntryType.RegularFile, name, pax);
        e.Mode = (UnixFileMode)mode;
        e.Uid = uid;
        e.Gid = gid;
        e.ModificationTime = Time;
        e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        _writer.WriteEntry(e);
        return this;
    }

    public TarBuilder Symlink(string name, string target)
    {
        _writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = Time });
        return this;
    }

    public TarBuilder HardLink(string name, string target)
    {
        _writer.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = Time });
        return this;
    }

    public TarBuilder Fifo(string name)
    {
        _writer.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = (UnixFileMode)0b110_100_100, ModificationTime = Time });
        return this;
    }

    public TarBuilder CharDevice(string name, int major, int minor)
    {
        _writer.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, name) { DeviceMajor = major, DeviceMinor = minor, Mode = (UnixFileMode)0b110_110_110, ModificationTime = Time });
        return this;
    }

    public static readonly DateTimeOffset Time = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public byte[] Tar()
    {
        _writer.Dispose();
        return _buffer.ToArray();
    }

    public byte[] Gzip()
    {
        byte[] tar = Tar();
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(tar);
        }
        return ms.ToArray();
    }
}
