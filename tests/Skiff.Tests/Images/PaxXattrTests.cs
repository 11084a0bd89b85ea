using System.Runtime.InteropServices;
using System.Text;
using Skiff.Images;

namespace Skiff.Tests.Images;

/// <summary>
/// Binary xattr values in PAX headers (SCHILY.xattr.*) come back byte for byte. The tars are
/// written by hand: System.Formats.Tar's writer would encode the values as UTF-8 too.
/// </summary>
public sealed partial class PaxXattrTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-pax-").FullName;

    public void Dispose() => TreeRemover.Remove(_dir);

    private string Root => Path.Combine(_dir, "root");

    private static bool IsRoot => Interop.Libc.geteuid() == 0;

    /// <summary>Every byte value, 0x00 to 0xff: NULs, a newline, '=', and sequences that are not UTF-8.</summary>
    private static readonly byte[] AllBytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    /// <summary>security.capability for cap_net_raw,cap_setfcap+ep as setcap writes it (VFS_CAP_REVISION_2, effective); 0x80 is not UTF-8.</summary>
    private static readonly byte[] NetRawCapability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private UnpackResult Unpack(byte[] tar)
    {
        Directory.CreateDirectory(Root);
        return LayerUnpacker.Unpack(new MemoryStream(tar), Root, new UnpackOptions { IgnoreOwners = !IsRoot });
    }

    [Fact]
    public void A_binary_user_xattr_is_restored_byte_exact()
    {
        var tar = new RawTar()
            .Dir("data/", [("SCHILY.xattr.user.dirbin", [0xff, 0x00, 0xfe])])
            .File("data/blob", "payload", [("SCHILY.xattr.user.bin", AllBytes), ("SCHILY.xattr.user.text", "plain"u8.ToArray())])
            .File("data/after", "next entry", [])
            .End();

        var result = Unpack(tar);

        Assert.Equal(0, result.SkippedXattrs);
        Assert.Equal(AllBytes, GetXattr(Path.Combine(Root, "data/blob"), "user.bin"));
        Assert.Equal("plain"u8.ToArray(), GetXattr(Path.Combine(Root, "data/blob"), "user.text"));
        Assert.Equal([0xff, 0x00, 0xfe], GetXattr(Path.Combine(Root, "data"), "user.dirbin"));
        Assert.Equal("payload", File.ReadAllText(Path.Combine(Root, "data/blob")));
        // The records belong to their entry only.
        Assert.Null(GetXattr(Path.Combine(Root, "data/after"), "user.bin"));
        Assert.Equal("next entry", File.ReadAllText(Path.Combine(Root, "data/after")));
    }

    [Fact]
    public void A_file_capability_is_restored_byte_exact_as_root()
    {
        Assert.True(IsRoot, "setting security.capability needs CAP_SETFCAP: these tests run as root in CI");
        var tar = new RawTar()
            .File("bin/ping", "#!/bin/sh\n", [("SCHILY.xattr.security.capability", NetRawCapability)], mode: 0b111_101_101)
            .End();

        var result = Unpack(tar);

        Assert.Equal(0, result.SkippedXattrs);
        Assert.Equal(NetRawCapability, GetXattr(Path.Combine(Root, "bin/ping"), "security.capability"));
    }

    [Fact]
    public void Overlay_xattrs_from_a_layer_are_still_never_copied()
    {
        var tar = new RawTar()
            .File("f", "x", [("SCHILY.xattr.user.overlay.opaque", "y"u8.ToArray()), ("SCHILY.xattr.trusted.overlay.redirect", AllBytes)])
            .End();

        var result = Unpack(tar);

        Assert.Equal(2, result.SkippedXattrs);
        Assert.Null(GetXattr(Path.Combine(Root, "f"), "user.overlay.opaque"));
    }

    [Fact]
    public void A_pax_size_record_and_a_pax_path_are_followed()
    {
        // The header says 0 bytes; the PAX size record says 5: the tap must skip the 5 data bytes, as TarReader does.
        var tar = new RawTar()
            .File("short", "hello", [("size", "5"u8.ToArray()), ("path", "long/"u8.ToArray().Concat(Enumerable.Repeat((byte)'n', 150)).ToArray()),
                ("SCHILY.xattr.user.bin", [0x80, 0x81])], headerSize: 0)
            .File("second", "world", [("SCHILY.xattr.user.bin", [0xc3])])
            .End();

        Unpack(tar);

        string longName = Path.Combine(Root, "long", new string('n', 150));
        Assert.Equal("hello", File.ReadAllText(longName));
        Assert.Equal([0x80, 0x81], GetXattr(longName, "user.bin"));
        Assert.Equal([0xc3], GetXattr(Path.Combine(Root, "second"), "user.bin"));
    }

    [Fact]
    public void A_malformed_pax_record_is_refused_as_corrupt()
    {
        var tar = new RawTar().FileWithRawPax("f", "x", "99 SCHILY.xattr.user.a=b\n"u8.ToArray()).End();

        var e = Assert.Throws<SkiffException>(() => Unpack(tar));
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_are_split_by_byte_length_not_by_newlines()
    {
        byte[] value = [(byte)'\n', (byte)'=', 0x00, 0xff, (byte)'\n'];
        byte[] data = RawTar.Record("SCHILY.xattr.user.a", value).Concat(RawTar.Record("mtime", "1.5"u8.ToArray())).ToArray();

        var records = PaxHeaderTap.Parse(data);

        Assert.Equal(2, records.Count);
        Assert.Equal("SCHILY.xattr.user.a", records[0].Key);
        Assert.Equal(value, records[0].Value);
        Assert.Equal("1.5"u8.ToArray(), records[1].Value);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'1', (byte)'7', (byte)'7', 0 }, 127)]
    [InlineData(new byte[] { (byte)' ', (byte)' ', (byte)'1', (byte)'0', (byte)' ', 0, 0, 0, 0, 0, 0, 0 }, 8)]
    [InlineData(new byte[] { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00 }, 0x20000)]
    public void Size_fields_are_read_in_octal_and_base_256(byte[] field, long expected) =>
        Assert.Equal(expected, PaxHeaderTap.ParseSize(field));

    [Fact]
    public void Gnu_long_names_written_by_dotnet_are_followed()
    {
        string longName = "deep/" + new string('g', 200);
        using var ms = new MemoryStream();
        using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Gnu, leaveOpen: true))
        {
            var e = new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.RegularFile, longName)
            {
                DataStream = new MemoryStream("gnu"u8.ToArray()),
                Mode = (UnixFileMode)0b110_100_100,
            };
            w.WriteEntry(e);
            w.WriteEntry(new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.SymbolicLink, "link") { LinkName = new string('t', 200) });
        }

        var result = Unpack(ms.ToArray());

        Assert.Equal(2, result.Entries);
        Assert.Equal("gnu", File.ReadAllText(Path.Combine(Root, longName)));
    }

    private static unsafe byte[]? GetXattr(string path, string name)
    {
        var buffer = new byte[65536];
        fixed (byte* b = buffer)
        {
            nint n = lgetxattr(path, name, b, (nuint)buffer.Length);
            if (n < 0)
            {
                int err = Marshal.GetLastPInvokeError();
                Assert.True(err == 61, $"lgetxattr {name} on {path}: errno {err}"); // ENODATA
                return null;
            }
            return buffer[..(int)n];
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint lgetxattr(string path, string name, byte* value, nuint size);
}

/// <summary>A ustar archive written header by header, PAX records as raw bytes.</summary>
internal sealed class RawTar
{
    private readonly MemoryStream _out = new();

    public static byte[] Record(string key, byte[] value)
    {
        byte[] body = [.. Encoding.UTF8.GetBytes(" " + key + "="), .. value, (byte)'\n'];
        int len = body.Length + 1;
        while ((len.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + body.Length) != len)
        {
            len++;
        }
        return [.. Encoding.ASCII.GetBytes(len.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. body];
    }

    public RawTar Dir(string name, (string Key, byte[] Value)[] pax) => Entry(name, '5', [], pax, 0b111_101_101, null);

    public RawTar File(string name, string content, (string Key, byte[] Value)[] pax, int mode = 0b110_100_100, long? headerSize = null) =>
        Entry(name, '0', Encoding.UTF8.GetBytes(content), pax, mode, headerSize);

    public RawTar FileWithRawPax(string name, string content, byte[] paxData)
    {
        Header("PaxHeaders/" + name, 'x', paxData.Length, 0b110_100_100);
        Data(paxData);
        Header(name, '0', content.Length, 0b110_100_100);
        Data(Encoding.UTF8.GetBytes(content));
        return this;
    }

    private RawTar Entry(string name, char type, byte[] data, (string Key, byte[] Value)[] pax, int mode, long? headerSize)
    {
        if (pax.Length > 0)
        {
            byte[] records = pax.SelectMany(p => Record(p.Key, p.Value)).ToArray();
            Header("PaxHeaders/" + name.TrimEnd('/'), 'x', records.Length, 0b110_100_100);
            Data(records);
        }
        Header(name, type, headerSize ?? data.Length, mode);
        Data(data);
        return this;
    }

    private void Header(string name, char type, long size, int mode)
    {
        var h = new byte[512];
        Encoding.ASCII.GetBytes(name.Length > 100 ? name[..100] : name).CopyTo(h, 0);
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, 0);
        Octal(h, 116, 8, 0);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, 1577934245);
        h[156] = (byte)type;
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        h.AsSpan(148, 8).Fill((byte)' ');
        Octal(h, 148, 7, h.Sum(b => b));
        _out.Write(h);
    }

    private static void Octal(byte[] h, int at, int width, long value) =>
        Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(width - 1, '0')).CopyTo(h, at);

    private void Data(byte[] data)
    {
        _out.Write(data);
        _out.Write(new byte[(512 - data.Length % 512) % 512]);
    }

    public byte[] End()
    {
        _out.Write(new byte[1024]);
        return _out.ToArray();
    }
}
