using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace Skiff.Engine.Containers;

/// <summary>
/// A file or directory of a tree written as a tar stream, as moby's TarResourceRebase
/// writes it: entries named from the requested base (dirs end in "/"), owners as numbers,
/// hard links as links, sockets left out. Everything is read through fds relative to the
/// tree, never by host path.
/// </summary>
public static class TreeArchive
{
    /// <summary>
    /// Archives path (as a cp source: the parents followed, the last component not, unless
    /// the path ends in "/" or "/."). Entry names start with rebaseName, or the path's own
    /// base. Throws NotFound when the path does not exist.
    /// </summary>
    public static void Write(RootedTree tree, string path, string? rebaseName, Stream output, OwnerMap? owners = null)
    {
        var source = Open(tree, path);
        try
        {
            string name = rebaseName is { Length: > 0 } r ? r : CopyPaths.Base(path);
            using var writer = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
            var walk = new Walk(writer, owners, new Dictionary<(ulong, ulong), string>());
            WriteEntry(walk, source.Dir, source.Name, source.Stat, name);
        }
        finally
        {
            CopyNative.Close(source.Dir);
        }
    }

    /// <summary>The fd of the directory holding the source, its name there ("" for that directory itself), and its lstat.</summary>
    internal readonly record struct Source(int Dir, string Name, FileStat Stat);

    internal static Source Open(RootedTree tree, string path)
    {
        var (_, last) = CopyPaths.Split(path);
        int fd;
        string name;
        if (last.Length == 0 || last == ".")
        {
            // "dir/" and "dir/." name the directory itself, symlinks followed.
            fd = tree.Open(path, CopyNative.O_PATH | CopyNative.O_DIRECTORY);
            name = "";
        }
        else
        {
            fd = tree.OpenParent(path, out name);
        }
        if (fd < 0)
        {
            throw NotFoundOr(-fd, path);
        }
        int rc = CopyNative.StatAt(fd, name, name.Length == 0 ? CopyNative.AT_EMPTY_PATH : CopyNative.AT_SYMLINK_NOFOLLOW, out var st);
        if (rc < 0)
        {
            CopyNative.Close(fd);
            throw NotFoundOr(-rc, path);
        }
        return new Source(fd, name, st);
    }

    private static SkiffException NotFoundOr(int errno, string path) =>
        errno is Errno.ENOENT
            ? new PathNotFoundException(path)
            : new SystemCallException($"lstat {path}", errno, SystemCallException.CategoryOf(errno));

    /// <summary>How owners are written: as this process sees them, or translated (a local file seen from the keeper's namespace).</summary>
    public delegate (uint Uid, uint Gid) OwnerMap(uint uid, uint gid);

    private sealed record Walk(TarWriter Writer, OwnerMap? Owners, Dictionary<(ulong, ulong), string> Links);

    private static void WriteEntry(Walk walk, int dirFd, string name, FileStat st, string entryName)
    {
        var (writer, links) = (walk.Writer, walk.Links);
        switch (st.Type)
        {
            case CopyNative.S_IFDIR:
            {
                writer.WriteEntry(Header(walk, TarEntryType.Directory, entryName.TrimEnd('/') + "/", st));
                int sub = name.Length == 0
                    ? CopyNative.OpenAt(dirFd, ".", CopyNative.O_RDONLY | CopyNative.O_DIRECTORY)
                    : CopyNative.OpenAt(dirFd, name, CopyNative.O_RDONLY | CopyNative.O_DIRECTORY | CopyNative.O_NOFOLLOW);
                if (sub < 0)
                {
                    return; // unreadable or gone meanwhile: left out, as docker cp does
                }
                if (CopyNative.IsPseudoFilesystem(CopyNative.FilesystemType(sub)))
                {
                    CopyNative.Close(sub);
                    return; // /proc, /sys, /dev/pts of a running container: the mount point only
                }
                try
                {
                    string prefix = entryName == "/" ? "/" : entryName.TrimEnd('/') + "/";
                    foreach (var child in CopyNative.ReadNames(sub, entryName))
                    {
                        if (CopyNative.StatAt(sub, child, CopyNative.AT_SYMLINK_NOFOLLOW, out var cst) == 0)
                        {
                            WriteEntry(walk, sub, child, cst, prefix + child);
                        }
                    }
                }
                finally
                {
                    CopyNative.Close(sub);
                }
                return;
            }
            case CopyNative.S_IFREG:
            {
                if (st.NLink > 1 && links.TryGetValue((st.Dev, st.Ino), out var first))
                {
                    var link = Header(walk, TarEntryType.HardLink, entryName, st);
                    link.LinkName = first;
                    writer.WriteEntry(link);
                    return;
                }
                int fd = name.Length == 0 ? -Errno.EISDIR : CopyNative.OpenAt(dirFd, name, CopyNative.O_RDONLY | CopyNative.O_NOFOLLOW | CopyNative.O_NONBLOCK);
                if (fd < 0)
                {
                    return;
                }
                using var file = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1);
                var entry = Header(walk, TarEntryType.RegularFile, entryName, st);
                // Exactly the size in the header, whatever a running container does to the file meanwhile.
                entry.DataStream = new FixedLengthStream(file, st.Size);
                writer.WriteEntry(entry);
                if (st.NLink > 1)
                {
                    links[(st.Dev, st.Ino)] = entryName;
                }
                return;
            }
            case CopyNative.S_IFLNK:
            {
                var entry = Header(walk, TarEntryType.SymbolicLink, entryName, st);
                try
                {
                    entry.LinkName = CopyNative.ReadLinkAt(dirFd, name, entryName);
                }
                catch (SystemCallException)
                {
                    return; // gone meanwhile
                }
                writer.WriteEntry(entry);
                return;
            }
            case CopyNative.S_IFCHR:
            case CopyNative.S_IFBLK:
            {
                var entry = Header(walk, st.Type == CopyNative.S_IFCHR ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, entryName, st);
                entry.DeviceMajor = (int)CopyNative.Major(st.RDev);
                entry.DeviceMinor = (int)CopyNative.Minor(st.RDev);
                writer.WriteEntry(entry);
                return;
            }
            case CopyNative.S_IFIFO:
                writer.WriteEntry(Header(walk, TarEntryType.Fifo, entryName, st));
                return;
            default:
                return; // sockets are not archived (moby skips them too)
        }
    }

    private static GnuTarEntry Header(Walk walk, TarEntryType type, string name, FileStat st)
    {
        var (uid, gid) = walk.Owners?.Invoke(st.Uid, st.Gid) ?? (st.Uid, st.Gid);
        return new GnuTarEntry(type, name)
        {
            Mode = (UnixFileMode)st.Permissions,
            Uid = (int)uid,
            Gid = (int)gid,
            ModificationTime = st.MTime,
        };
    }
}

/// <summary>A path that is not there: the caller words it (Docker's "Could not find the file ... in container ...").</summary>
public sealed class PathNotFoundException(string path) : SkiffException(ErrorCategory.NotFound, $"{path}: no such file or directory")
{
    public string PathInTree { get; } = path;
}

/// <summary>
/// A file read as exactly length bytes: cut when it grew, zero-padded when it shrank, so a
/// tar header written before the data never lies. Seekable in name only, so that the tar
/// writer streams it instead of buffering it.
/// </summary>
internal sealed class FixedLengthStream(Stream inner, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set
        {
            if (value != _position)
            {
                throw new NotSupportedException();
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = length - _position;
        if (left <= 0)
        {
            return 0;
        }
        var want = buffer[..(int)Math.Min(buffer.Length, left)];
        int n = inner.Read(want);
        if (n == 0)
        {
            want.Clear();
            n = want.Length;
        }
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        Position = target;
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
