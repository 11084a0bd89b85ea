using System.Runtime.InteropServices;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>
/// A file capability (security.capability, a binary xattr in the layer's PAX headers) survives
/// tar --xattrs → skiff import → unpack byte for byte, and works in the container.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed partial class FileCapabilityTests(SkiffInstall install)
{
    private const long CapNetRaw = 1L << 13;

    [Theory, BothModes]
    public async Task A_setcap_file_keeps_its_capability_through_import_and_run(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string fs = Path.Combine(box.Dir, "capfs");
        (await HostProcess.RunAsync(["cp", "-a", box.Rootfs + "/.", fs + "/"])).AssertExit(0);
        Directory.CreateDirectory(Path.Combine(fs, "capped"));
        string capped = Path.Combine(fs, "capped", "cat");
        File.Copy(Path.Combine(fs, "bin", "busybox"), capped);
        File.SetUnixFileMode(capped, (UnixFileMode)0b111_101_101);
        // CAP_SETFCAP (bit 31) puts a 0x80 byte in the value: not UTF-8, what TarReader's strings corrupt.
        (await HostProcess.RunAsync(["setcap", "cap_net_raw,cap_setfcap+ep", capped])).AssertExit(0);
        byte[] expected = GetXattr(capped, "security.capability")
            ?? throw new InvalidOperationException("setcap left no security.capability");
        string tar = Path.Combine(box.Dir, "capfs.tar");
        (await HostProcess.RunAsync(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-C", fs, "-cf", tar, "."])).AssertExit(0);

        (await box.Skiff(["import", tar, "capped"])).AssertExit(0);

        string unpacked = Assert.Single(Directory.GetFiles(Path.Combine(box.StorageRoot, "layers"), "cat", SearchOption.AllDirectories),
            p => p.EndsWith("/diff/capped/cat", StringComparison.Ordinal));
        byte[] stored = GetXattr(unpacked, "security.capability") ?? [];
        if (mode == Mode.Root)
        {
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(stored));
        }
        else
        {
            // In a user namespace the kernel stores a v3 capability naming the namespace's root.
            Assert.Equal(24, stored.Length);
            Assert.Equal(0x03, stored[3]);
            Assert.Equal(Convert.ToHexString(expected.AsSpan(4, 16)), Convert.ToHexString(stored.AsSpan(4, 16)));
        }

        // As an unprivileged user, only the file capability can raise CAP_NET_RAW.
        var plain = (await box.Skiff(["run", "--rm", "-u", "1000", "capped", "/bin/cat", "/proc/self/status"])).AssertExit(0);
        var raised = (await box.Skiff(["run", "--rm", "-u", "1000", "capped", "/capped/cat", "/proc/self/status"])).AssertExit(0);
        Assert.Equal(0, EffectiveCaps(plain.Stdout) & CapNetRaw);
        Assert.Equal(CapNetRaw, EffectiveCaps(raised.Stdout) & CapNetRaw);
    }

    private static long EffectiveCaps(string status)
    {
        string line = status.Split('\n').Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return Convert.ToInt64(line["CapEff:".Length..].Trim(), 16);
    }

    private static unsafe byte[]? GetXattr(string path, string name)
    {
        var buffer = new byte[4096];
        fixed (byte* b = buffer)
        {
            nint n = lgetxattr(path, name, b, (nuint)buffer.Length);
            return n < 0 ? null : buffer[..(int)n];
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint lgetxattr(string path, string name, byte* value, nuint size);
}
