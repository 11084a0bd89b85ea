using System.Formats.Tar;

namespace Skiff.Images;

public sealed record UnpackOptions
{
    /// <summary>Rootless: overlay metadata in user.overlay.* (containers mount with userxattr); device nodes are skipped.</summary>
    public bool Rootless { get; init; }

    /// <summary>No id mapping to give files their owners (a single mapping): keep the caller's.</summary>
    public bool IgnoreOwners { get; init; }

    /// <summary>Refuse any one entry larger than this (an absurd size is an attack or corruption).</summary>
    public long MaxEntrySize { get; init; } = 1L << 40;
}

public sealed class UnpackResult
{
    public long Entries { get; set; }
    public int SkippedDevices { get; set; }
    public int SkippedXattrs { get; set; }
}

/// <summary>
/// Unpacks one layer tar into an empty directory. Member names are read as Docker reads
/// them (a leading / or ./ is relative to the layer root); refused: a name that lands
/// outside the root once cleaned, a path through a symlink, a hard link to anything not
/// already in this layer, an absurd size, a truncated or corrupt stream. OCI whiteouts
/// become overlay whiteouts (char 0/0) and opaque directories overlay opaque xattrs.
/// Nothing here follows a symlink: every parent is checked to be a real directory.
/// </summary>
public sealed class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    private readonly string _root;
    private readonly UnpackOptions _options;
    private readonly HashSet<string> _knownDirs = new(StringComparer.Ordinal);
    private readonly List<(string Path, UnixFileMode Mode, DateTimeOffset MTime)> _dirMeta = [];
    private readonly UnpackResult _result = new();
    private IReadOnlyList<PaxRecord> _pax = [];

    private LayerUnpacker(string root, UnpackOptions options)
    {
        _root = root;
        _options = options;
    }

    public static UnpackResult Unpack(Stream tar, string root, UnpackOptions options)
    {
        var u = new LayerUnpacker(root, options);
        try
        {
            u.Run(tar);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException)
        {
            throw SkiffException.Invalid($"the layer is corrupt or truncated: {e.Message}");
        }
        return u._result;
    }

    private void Run(Stream tar)
    {
        // The tap keeps each entry's PAX records as raw bytes: TarReader's UTF-8 strings corrupt binary xattrs.
        var tap = new PaxHeaderTap(tar);
        using var reader = new TarReader(tap, leaveOpen: true);
        TarEntry? entry;
        long seen = 0;
        while ((entry = reader.GetNextEntry()) is not null)
        {
            if (++seen != tap.Entries)
            {
                throw SkiffException.Invalid($"the layer's tar headers could not be followed at entry \"{entry.Name}\"");
            }
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }
            _pax = tap.Records;
            _result.Entries++;
            Apply(entry);
        }
        // Deepest first, so setting a parent's mtime is the last thing done to it.
        for (int i = _dirMeta.Count - 1; i >= 0; i--)
        {
            var (path, mode, mtime) = _dirMeta[i];
            File.SetUnixFileMode(path, mode);
            SetTimes(path, mtime);
        }
    }

    /// <summary>A member name as a relative path inside the root ("" for the root itself), or a refusal.</summary>
    public static string Clean(string name)
    {
        if (name.Contains('\0'))
        {
            throw SkiffException.Invalid($"layer entry \"{name.Replace("\0", "\\0", StringComparison.Ordinal)}\" holds a NUL byte");
        }
        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw SkiffException.Invalid($"layer entry \"{name}\" escapes the root of the layer");
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    private void Apply(TarEntry entry)
    {
        string rel = Clean(entry.Name);
        if (entry.Length > _options.MaxEntrySize || entry.Length < 0)
        {
            throw SkiffException.Invalid($"layer entry \"{entry.Name}\" claims {entry.Length} bytes: refusing an absurd size");
        }
        if (rel.Length == 0)
        {
            if (entry.EntryType != TarEntryType.Directory)
            {
                throw SkiffException.Invalid($"layer entry \"{entry.Name}\" would replace the root of the layer with a {entry.EntryType}");
            }
            Own(_root, entry);
            _dirMeta.Add((_root, entry.Mode, entry.ModificationTime));
            return;
        }
        int slash = rel.LastIndexOf('/');
        string parentRel = slash < 0 ? "" : rel[..slash];
        string name = slash < 0 ? rel : rel[(slash + 1)..];
        string parent = EnsureParent(parentRel, entry.Name, create: true);
        string path = Path.Combine(parent, name);

        if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            Whiteout(parent, name, entry.Name);
            return;
        }

        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if ((Native.LstatMode(path) & Native.S_IFMT) != Native.S_IFDIR)
                {
                    RemoveExisting(path);
                    Directory.CreateDirectory(path);
                }
                _knownDirs.Add(path);
                Own(path, entry);
                Xattrs(path);
                _dirMeta.Add((path, entry.Mode, entry.ModificationTime));
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RemoveExisting(path);
                WriteFile(path, entry);
                Own(path, entry);
                File.SetUnixFileMode(path, entry.Mode);
                Xattrs(path);
                SetTimes(path, entry.ModificationTime);
                break;
            case TarEntryType.SymbolicLink:
                RemoveExisting(path);
                File.CreateSymbolicLink(path, entry.LinkName);
                Own(path, entry);
                SetTimes(path, entry.ModificationTime);
                break;
            case TarEntryType.HardLink:
                HardLink(path, entry);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (_options.Rootless)
                {
                    _result.SkippedDevices++;
                    break;
                }
                RemoveExisting(path);
                var posix = (PosixTarEntry)entry;
                uint type = entry.EntryType == TarEntryType.CharacterDevice ? Native.S_IFCHR : Native.S_IFBLK;
                MakeNode(path, type | (uint)entry.Mode, Native.MakeDev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor));
                Own(path, entry);
                File.SetUnixFileMode(path, entry.Mode);
                SetTimes(path, entry.ModificationTime);
                break;
            case TarEntryType.Fifo:
                RemoveExisting(path);
                MakeNode(path, Native.S_IFIFO | (uint)entry.Mode, 0);
                Own(path, entry);
                File.SetUnixFileMode(path, entry.Mode);
                SetTimes(path, entry.ModificationTime);
                break;
            default:
                throw SkiffException.Invalid($"layer entry \"{entry.Name}\" has a type skiff does not unpack ({entry.EntryType})");
        }
    }

    /// <summary>The host path of a parent directory, checked component by component: never a symlink, never a file.</summary>
    private string EnsureParent(string parentRel, string entryName, bool create)
    {
        if (parentRel.Length == 0)
        {
            return _root;
        }
        string full = Path.Combine(_root, parentRel);
        if (_knownDirs.Contains(full))
        {
            return full;
        }
        string current = _root;
        foreach (var part in parentRel.Split('/'))
        {
            current = Path.Combine(current, part);
            if (_knownDirs.Contains(current))
            {
                continue;
            }
            uint mode = Native.LstatMode(current);
            switch (mode & Native.S_IFMT)
            {
                case 0 when create:
                    // Implied directories are root's and 0755, as Docker makes them.
                    Directory.CreateDirectory(current);
                    File.SetUnixFileMode(current, (UnixFileMode)0b111_101_101);
                    break;
                case 0:
                    throw SkiffException.Invalid($"layer entry \"{entryName}\" links to \"{parentRel}\", which is not in this layer");
                case Native.S_IFDIR:
                    break;
                case Native.S_IFLNK:
                    throw SkiffException.Invalid($"layer entry \"{entryName}\" goes through a symlink ({Path.GetRelativePath(_root, current)}): refused");
                default:
                    throw SkiffException.Invalid($"layer entry \"{entryName}\": {Path.GetRelativePath(_root, current)} is not a directory");
            }
            _knownDirs.Add(current);
        }
        return full;
    }

    private void Whiteout(string parent, string name, string entryName)
    {
        string prefix = _options.Rootless ? "user.overlay." : "trusted.overlay.";
        if (name == OpaqueMarker)
        {
            SetXattr(parent, prefix + "opaque", "y"u8, required: true);
            return;
        }
        string target = name[WhiteoutPrefix.Length..];
        if (target.Length == 0 || target is "." or "..")
        {
            throw SkiffException.Invalid($"layer entry \"{entryName}\" is a whiteout of nothing");
        }
        string path = Path.Combine(parent, target);
        RemoveExisting(path);
        // An overlay whiteout is a char device 0/0; a user namespace may make one since Linux 5.8.
        MakeNode(path, Native.S_IFCHR, 0);
    }

    private void HardLink(string path, TarEntry entry)
    {
        string targetRel;
        try
        {
            targetRel = Clean(entry.LinkName);
        }
        catch (SkiffException)
        {
            throw SkiffException.Invalid($"layer entry \"{entry.Name}\" is a hard link to \"{entry.LinkName}\", outside the layer");
        }
        if (targetRel.Length == 0)
        {
            throw SkiffException.Invalid($"layer entry \"{entry.Name}\" is a hard link to the root of the layer");
        }
        int slash = targetRel.LastIndexOf('/');
        string targetParent = EnsureParent(slash < 0 ? "" : targetRel[..slash], entry.Name, create: false);
        string target = Path.Combine(targetParent, slash < 0 ? targetRel : targetRel[(slash + 1)..]);
        uint mode = Native.LstatMode(target) & Native.S_IFMT;
        if (mode == 0)
        {
            throw SkiffException.Invalid($"layer entry \"{entry.Name}\" is a hard link to \"{entry.LinkName}\", which is not in this layer");
        }
        if (mode == Native.S_IFDIR)
        {
            throw SkiffException.Invalid($"layer entry \"{entry.Name}\" is a hard link to a directory");
        }
        if (target == path)
        {
            return;
        }
        RemoveExisting(path);
        if (Native.link(target, path) < 0)
        {
            throw new SystemCallException($"link {path} to {target}", Native.Errno);
        }
    }

    private static void WriteFile(string path, TarEntry entry)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            PreallocationSize = entry.Length,
        };
        using var f = new FileStream(path, options);
        entry.DataStream?.CopyTo(f, 1 << 17);
    }

    /// <summary>Removes what an entry replaces (a later entry wins, as in tar); a directory goes with its contents.</summary>
    private void RemoveExisting(string path)
    {
        uint mode = Native.LstatMode(path) & Native.S_IFMT;
        if (mode == 0)
        {
            return;
        }
        if (mode == Native.S_IFDIR)
        {
            TreeRemover.Remove(path);
            _knownDirs.RemoveWhere(d => d == path || d.StartsWith(path + "/", StringComparison.Ordinal));
            return;
        }
        File.Delete(path);
    }

    private void Own(string path, TarEntry entry)
    {
        if (Native.lchown(path, (uint)entry.Uid, (uint)entry.Gid) == 0)
        {
            return;
        }
        int err = Native.Errno;
        if (_options.IgnoreOwners && err is Errno.EINVAL or Errno.EPERM)
        {
            return;
        }
        throw new SystemCallException(err == Errno.EINVAL
            ? $"layer entry \"{entry.Name}\" is owned by {entry.Uid}:{entry.Gid}, which the user namespace does not map (give the user a larger range in /etc/subuid and /etc/subgid)"
            : $"chown {path} to {entry.Uid}:{entry.Gid}", err);
    }

    private static void MakeNode(string path, uint mode, ulong dev)
    {
        if (Native.mknod(path, mode, dev) < 0)
        {
            throw new SystemCallException($"mknod {path}", Native.Errno);
        }
    }

    private void Xattrs(string path)
    {
        foreach (var (key, value) in _pax)
        {
            if (!key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
            {
                continue;
            }
            string name = key["SCHILY.xattr.".Length..];
            // Overlay's own attributes from a layer would steer the container's overlay: never copied.
            // A name that is not UTF-8 cannot be passed on as it was: skipped. Values are the archive's bytes.
            if (name.Length == 0 || name.Contains(".overlay.", StringComparison.Ordinal) || name.Contains('\uFFFD'))
            {
                _result.SkippedXattrs++;
                continue;
            }
            SetXattr(path, name, value, required: false);
        }
    }

    private unsafe void SetXattr(string path, string name, ReadOnlySpan<byte> value, bool required)
    {
        fixed (byte* v = value)
        {
            if (Native.lsetxattr(path, name, v, (nuint)value.Length, 0) == 0)
            {
                return;
            }
        }
        int err = Native.Errno;
        if (required)
        {
            throw new SystemCallException($"set {name} on {path}", err);
        }
        _result.SkippedXattrs++;
    }

    private static unsafe void SetTimes(string path, DateTimeOffset mtime)
    {
        long ticks = mtime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var t = stackalloc Native.Timespec[2];
        t[0].Seconds = t[1].Seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0)
        {
            rem += TimeSpan.TicksPerSecond;
            t[0].Seconds = --t[1].Seconds;
        }
        t[0].Nanoseconds = t[1].Nanoseconds = rem * 100;
        // Best effort, as tar does: a time the filesystem cannot hold is not worth refusing a layer for.
        Native.utimensat(Native.AT_FDCWD, path, t, Native.AT_SYMLINK_NOFOLLOW);
    }
}

/// <summary>rm -rf that never follows a symlink and makes read-only directories writable on the way.</summary>
public static class TreeRemover
{
    public static void Remove(string path)
    {
        uint mode = Native.LstatMode(path) & Native.S_IFMT;
        if (mode == 0)
        {
            return;
        }
        if (mode != Native.S_IFDIR)
        {
            File.Delete(path);
            return;
        }
        try
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (UnauthorizedAccessException)
        {
            // Not ours to change; root in the namespace deletes regardless.
        }
        foreach (var child in Directory.EnumerateFileSystemEntries(path))
        {
            Remove(child);
        }
        Directory.Delete(path);
    }
}
