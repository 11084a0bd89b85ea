using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>Tarballs the tests import: a busybox root filesystem, and hostile ones.</summary>
public static class LayerTarballs
{
    /// <summary>A root filesystem tarball of the install's busybox rootfs, made by tar(1) as root (owners kept).</summary>
    public static async Task<string> BusyboxAsync(Sandbox box, string name = "busybox.tar")
    {
        string path = Path.Combine(box.Dir, name);
        (await HostProcess.RunAsync(["tar", "-C", box.Rootfs, "--numeric-owner", "-cf", path, "."])).AssertExit(0);
        System.IO.File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        return path;
    }

    public static string Write(Sandbox box, string name, Action<TarWriter> entries, bool gzip = false)
    {
        string path = Path.Combine(box.Dir, name);
        using (var f = System.IO.File.Create(path))
        using (Stream s = gzip ? new GZipStream(f, CompressionLevel.Fastest) : f)
        using (var tar = new TarWriter(s, TarEntryFormat.Pax))
        {
            entries(tar);
        }
        System.IO.File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        return path;
    }

    public static void File(TarWriter tar, string name, string content, int uid = 0, int gid = 0, int mode = 0b110_100_100)
    {
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Uid = uid,
            Gid = gid,
            Mode = (UnixFileMode)mode,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        });
    }

    public static void Dir(TarWriter tar, string name, int uid = 0, int gid = 0) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Uid = uid, Gid = gid, Mode = (UnixFileMode)0b111_101_101 });

    public static void Symlink(TarWriter tar, string name, string target) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });

    public static void HardLink(TarWriter tar, string name, string target) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target });

    /// <summary>A directory inside the sandbox the user skiff runs as may write to (for save -o).</summary>
    public static string WritableDir(Sandbox box)
    {
        string dir = Path.Combine(box.Dir, "out");
        Directory.CreateDirectory(dir);
        SkiffInstall.MakeWorldReadable(dir);
        if (HostUsers.NameOf(box.Mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(dir, user.Uid, user.Gid);
        }
        return dir;
    }

    /// <summary>Every file under the storage root but the lock and container directories: what "the store as before" means.</summary>
    public static string[] StoreSnapshot(Sandbox box)
    {
        if (!Directory.Exists(box.StorageRoot))
        {
            return [];
        }
        return Directory.GetFileSystemEntries(box.StorageRoot, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith("store.lock", StringComparison.Ordinal) && !p.StartsWith(box.ContainersDir, StringComparison.Ordinal))
            .Select(p => p + (System.IO.File.Exists(p) && !Directory.Exists(p) ? " " + new FileInfo(p).Length : ""))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
