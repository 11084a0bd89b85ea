using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace Skiff.Engine.Containers;

/// <summary>How a tar stream is unpacked into a directory (moby's TarOptions, the parts cp uses).</summary>
public sealed record ExtractOptions
{
    /// <summary>Set owners at all (the engine side); the local side of docker cp leaves files to the user running it.</summary>
    public bool Chown { get; init; }
    /// <summary>Everything made is given this owner (container root); null keeps the ids in the archive (cp -a).</summary>
    public (uint Uid, uint Gid)? Owner { get; init; }
    /// <summary>An existing directory is never replaced by a file, nor a file by a directory.</summary>
    public bool NoOverwriteDirNonDir { get; init; }
    /// <summary>Entries whose names start with From are renamed to start with To (moby's RebaseArchiveEntries).</summary>
    public (string From, string To)? Rebase { get; init; }
    /// <summary>How the destination directory is named in errors ("/tmp" in the container).</summary>
    public string Display { get; init; } = "";
}

/// <summary>
/// Unpacks a tar stream into a tree, as moby's Untar: missing parents made, what is in
/// the way replaced (or refused), owners and modes and times set. Every name is resolved
/// beneath the destination by the kernel and every change is an *at() call on a name in
/// a directory fd, never a host path, so neither the archive nor the container can make
/// it write outside the destination.
/// </summary>
public static class TreeExtract
{
    public static void Run(RootedTree dest, Stream input, ExtractOptions options)
    {
        var reader = new TarReader(input, leaveOpen: true);
        var dirs = new List<(string Name, DateTimeOffset Atime, DateTimeOffset Mtime)>();
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }
            string raw = options.Rebase is var (from, to) ? CopyPaths.Rebase(entry.Name, from, to) : entry.Name;
            string name = Relative(raw);
            if (name == ".." || name.StartsWith("../", StringComparison.Ordinal))
            {
                throw SkiffException.Invalid($"{Quote(raw)} is outside of {Quote(options.Display)}");
            }
            if (Extract(dest, entry, name, options) && entry.EntryType == TarEntryType.Directory)
            {
                dirs.Add((name, Atime(entry), entry.ModificationTime));
            }
        }
        // Directory times last: what was unpacked into them changed them.
        for (int i = dirs.Count - 1; i >= 0; i--)
        {
            var (name, atime, mtime) = dirs[i];
            int parent = dest.OpenParent(name, out string last);
            if (parent >= 0)
            {
                CopyNative.SetTimesAt(parent, last.Length == 0 ? "." : last, atime, mtime);
                CopyNative.Close(parent);
            }
        }
    }

    /// <summary>An entry name as a clean path relative to the destination ("." for the destination itself).</summary>
    private static string Relative(string raw)
    {
        string clean = CopyPaths.Clean(raw);
        if (clean.StartsWith('/'))
        {
            clean = clean == "/" ? "." : clean[1..];
        }
        return clean;
    }

    private static string Quote(string s) => "\"" + s + "\"";

    private static string Show(ExtractOptions options, string name) =>
        name == "." ? options.Display : CopyPaths.Join(options.Display.Length == 0 ? "/" : options.Display, name);

    private static DateTimeOffset Atime(TarEntry entry) =>
        entry is GnuTarEntry gnu && gnu.AccessTime > entry.ModificationTime ? gnu.AccessTime : entry.ModificationTime;

    /// <summary>One entry; true when it made or kept a directory whose times are set at the end.</summary>
    private static bool Extract(RootedTree dest, TarEntry entry, string name, ExtractOptions options)
    {
        if (name == ".")
        {
            return false; // the destination itself: docker cp leaves it as it is
        }
        MakeParents(dest, CopyPaths.Dir(name), options);
        int parent = dest.OpenParent(name, out string last);
        if (parent < 0)
        {
            throw new SystemCallException($"open {Show(options, CopyPaths.Dir(name))}", -parent, SystemCallException.CategoryOf(-parent));
        }
        try
        {
            bool wantDir = entry.EntryType == TarEntryType.Directory;
            if (CopyNative.StatAt(parent, last, CopyNative.AT_SYMLINK_NOFOLLOW, out var existing) == 0)
            {
                if (options.NoOverwriteDirNonDir && existing.IsDir && !wantDir)
                {
                    throw SkiffException.Invalid($"cannot overwrite directory {Quote(Show(options, name))} with non-directory {Quote(options.Display)}");
                }
                if (options.NoOverwriteDirNonDir && !existing.IsDir && wantDir)
                {
                    throw SkiffException.Invalid($"cannot overwrite non-directory {Quote(Show(options, name))} with directory {Quote(options.Display)}");
                }
                if (!(existing.IsDir && wantDir))
                {
                    RemoveAll(parent, last, Show(options, name));
                }
            }
            if (!Create(dest, parent, last, entry, name, options))
            {
                return false;
            }
            if (options.Chown)
            {
                var (uid, gid) = options.Owner ?? ((uint)entry.Uid, (uint)entry.Gid);
                int rc = CopyNative.ChownAt(parent, last, uid, gid);
                if (rc < 0)
                {
                    string hint = -rc == Errno.EINVAL ? " (is the id mapped in the container? more subordinate ids in /etc/subuid and /etc/subgid may be needed)" : "";
                    throw new SystemCallException($"lchown {Show(options, name)} to {uid}:{gid}{hint}", -rc);
                }
            }
            if (entry.EntryType != TarEntryType.SymbolicLink && entry.EntryType != TarEntryType.HardLink)
            {
                SetMode(parent, last, (uint)entry.Mode, Show(options, name));
            }
            if (entry.EntryType != TarEntryType.HardLink)
            {
                CopyNative.SetTimesAt(parent, last, Atime(entry), entry.ModificationTime);
            }
            return wantDir;
        }
        finally
        {
            CopyNative.Close(parent);
        }
    }

    /// <summary>Makes the entry; false when it is skipped (a device node where none may be made).</summary>
    private static bool Create(RootedTree dest, int parent, string last, TarEntry entry, string name, ExtractOptions options)
    {
        string shown = Show(options, name);
        uint perm = (uint)entry.Mode & 0xFFF;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
            {
                int rc = CopyNative.MkdirAt(parent, last, perm);
                if (rc < 0 && -rc != Errno.EEXIST)
                {
                    throw new SystemCallException($"mkdir {shown}", -rc);
                }
                return true;
            }
            case TarEntryType.RegularFile:
            case TarEntryType.V7RegularFile:
            case TarEntryType.ContiguousFile:
            {
                int fd = CopyNative.OpenAt(parent, last, CopyNative.O_WRONLY | CopyNative.O_CREAT | CopyNative.O_EXCL | CopyNative.O_NOFOLLOW, perm & 0x1FF);
                if (fd < 0)
                {
                    throw new SystemCallException($"create {shown}", -fd);
                }
                using var file = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, 1);
                entry.DataStream?.CopyTo(file, 128 * 1024);
                return true;
            }
            case TarEntryType.SymbolicLink:
            {
                string target = entry.LinkName;
                if (!target.StartsWith('/'))
                {
                    string landing = CopyPaths.Clean(CopyPaths.Join(CopyPaths.Dir(name), target));
                    if (landing == ".." || landing.StartsWith("../", StringComparison.Ordinal))
                    {
                        throw SkiffException.Invalid($"invalid symlink {Quote(shown)} -> {Quote(target)}");
                    }
                }
                int rc = CopyNative.SymlinkAt(target, parent, last);
                if (rc < 0)
                {
                    throw new SystemCallException($"symlink {shown} -> {target}", -rc);
                }
                return true;
            }
            case TarEntryType.HardLink:
            {
                string raw = options.Rebase is var (from, to) ? CopyPaths.Rebase(entry.LinkName, from, to) : entry.LinkName;
                string target = Relative(raw);
                if (target == "." || target == ".." || target.StartsWith("../", StringComparison.Ordinal))
                {
                    throw SkiffException.Invalid($"invalid hardlink {Quote(shown)} -> {Quote(entry.LinkName)}");
                }
                int targetParent = dest.OpenParent(target, out string targetName);
                if (targetParent < 0)
                {
                    throw new SystemCallException($"link {shown} to {entry.LinkName}", -targetParent);
                }
                try
                {
                    int rc = CopyNative.LinkAt(targetParent, targetName, parent, last);
                    if (rc < 0)
                    {
                        throw new SystemCallException($"link {shown} to {entry.LinkName}", -rc);
                    }
                }
                finally
                {
                    CopyNative.Close(targetParent);
                }
                return true;
            }
            case TarEntryType.CharacterDevice:
            case TarEntryType.BlockDevice:
            case TarEntryType.Fifo:
            {
                uint type = entry.EntryType switch
                {
                    TarEntryType.CharacterDevice => CopyNative.S_IFCHR,
                    TarEntryType.BlockDevice => CopyNative.S_IFBLK,
                    _ => CopyNative.S_IFIFO,
                };
                ulong dev = entry is PosixTarEntry posix && type != CopyNative.S_IFIFO
                    ? CopyNative.MakeDev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor) : 0;
                int rc = CopyNative.MknodAt(parent, last, type | perm, dev);
                // Device nodes cannot be made in a user namespace, nor by an unprivileged user: left out, as moby does.
                if (rc < 0 && -rc == Errno.EPERM && type != CopyNative.S_IFIFO)
                {
                    return false;
                }
                if (rc < 0)
                {
                    throw new SystemCallException($"mknod {shown}", -rc);
                }
                return true;
            }
            default:
                throw SkiffException.Invalid($"unhandled tar header type {(int)entry.EntryType} for {Quote(entry.Name)}");
        }
    }

    /// <summary>
    /// chmod through an O_PATH fd of exactly the entry made (/proc/self/fd): a name the
    /// container swapped for a symlink meanwhile cannot redirect it.
    /// </summary>
    private static void SetMode(int parent, string last, uint mode, string shown)
    {
        int fd = CopyNative.OpenAt(parent, last, CopyNative.O_PATH | CopyNative.O_NOFOLLOW);
        if (fd < 0)
        {
            throw new SystemCallException($"chmod {shown}", -fd);
        }
        try
        {
            if (CopyNative.StatAt(fd, "", CopyNative.AT_EMPTY_PATH, out var st) == 0 && st.IsSymlink)
            {
                return;
            }
            int rc = CopyNative.ChmodPath($"/proc/self/fd/{fd}", mode & 0xFFF);
            if (rc < 0)
            {
                throw new SystemCallException($"chmod {shown}", -rc);
            }
        }
        finally
        {
            CopyNative.Close(fd);
        }
    }

    /// <summary>Every missing directory of a relative path, made 0755 (and given the owner, when owners are set).</summary>
    private static void MakeParents(RootedTree dest, string dir, ExtractOptions options)
    {
        if (dir == ".")
        {
            return;
        }
        int existing = dest.Open(dir, CopyNative.O_PATH | CopyNative.O_DIRECTORY);
        if (existing >= 0)
        {
            CopyNative.Close(existing);
            return;
        }
        string walked = "";
        foreach (var part in dir.Split('/'))
        {
            int parent = dest.Open(walked.Length == 0 ? "." : walked, CopyNative.O_PATH | CopyNative.O_DIRECTORY);
            if (parent < 0)
            {
                throw new SystemCallException($"open {Show(options, walked.Length == 0 ? "." : walked)}", -parent);
            }
            try
            {
                int rc = CopyNative.MkdirAt(parent, part, 0x1ED /* 0755 */);
                if (rc == 0 && options.Chown && options.Owner is var (uid, gid))
                {
                    CopyNative.ChownAt(parent, part, uid, gid);
                }
                else if (rc < 0 && -rc != Errno.EEXIST)
                {
                    throw new SystemCallException($"mkdir {Show(options, CopyPaths.Join(walked, part))}", -rc);
                }
            }
            finally
            {
                CopyNative.Close(parent);
            }
            walked = walked.Length == 0 ? part : walked + "/" + part;
        }
    }

    /// <summary>rm -rf of one name in a directory fd, never following a symlink.</summary>
    internal static void RemoveAll(int parent, string name, string shown)
    {
        int rc = CopyNative.UnlinkAt(parent, name, 0);
        if (rc == 0 || -rc == Errno.ENOENT)
        {
            return;
        }
        if (-rc is not (Errno.EISDIR or Errno.EPERM))
        {
            throw new SystemCallException($"remove {shown}", -rc);
        }
        int dir = CopyNative.OpenAt(parent, name, CopyNative.O_RDONLY | CopyNative.O_DIRECTORY | CopyNative.O_NOFOLLOW);
        if (dir < 0)
        {
            throw new SystemCallException($"remove {shown}", -dir);
        }
        try
        {
            foreach (var child in CopyNative.ReadNames(dir, shown))
            {
                RemoveAll(dir, child, shown + "/" + child);
            }
        }
        finally
        {
            CopyNative.Close(dir);
        }
        rc = CopyNative.UnlinkAt(parent, name, CopyNative.AT_REMOVEDIR);
        if (rc < 0 && -rc != Errno.ENOENT)
        {
            throw new SystemCallException($"remove {shown}", -rc);
        }
    }
}
