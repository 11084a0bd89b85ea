namespace Skiff.Engine.Volumes;

/// <summary>
/// Docker's copy-up: a volume mounted where the image has content starts with a copy of
/// that content, if the volume is empty (and the mount does not say nocopy). The image is
/// read from its layer directories as overlayfs would show them (topmost first: whiteouts
/// hide, opaque directories stop the lookup), without mounting anything. Owners, modes,
/// times, symlinks, hard links, fifos and xattrs are kept; device nodes are made where the
/// kernel lets us (not in a user namespace).
/// </summary>
public static class VolumeCopyUp
{
    private const int MaxSymlinks = 40;
    private static readonly string[] OpaqueXattrs = ["trusted.overlay.opaque", "user.overlay.opaque"];

    /// <summary>
    /// Copies what the image has at pathInImage into volumeData when volumeData is empty.
    /// Symlinks on the way are followed inside the image, never out of it. Returns whether
    /// anything was copied; nothing at that path is no error; a file there is (Docker's).
    /// </summary>
    public static bool FromLayers(IReadOnlyList<string> layers, string pathInImage, string volumeData)
    {
        if (!IsEmpty(volumeData))
        {
            return false;
        }
        var stack = Resolve(layers, pathInImage);
        if (stack is null)
        {
            return false;
        }
        var top = VolumeNative.Lstat(stack[0])!.Value;
        if (!top.IsDirectory)
        {
            throw SkiffException.Invalid($"cannot mount volume over existing file, file exists {pathInImage}");
        }
        var links = new Dictionary<(ulong, ulong), string>();
        CopyChildren(stack, volumeData, links);
        CopyOwnership(stack[0], top, volumeData);
        return true;
    }

    /// <summary>
    /// Copies the tree at sourceDir (a plain directory: a mounted rootfs, a --rootfs
    /// directory) into volumeData when volumeData is empty; whether anything was copied.
    /// </summary>
    public static bool CopyUp(string sourceDir, string volumeData)
    {
        if (!IsEmpty(volumeData) || VolumeNative.Lstat(sourceDir) is not { IsDirectory: true } top)
        {
            return false;
        }
        CopyChildren([sourceDir], volumeData, new Dictionary<(ulong, ulong), string>());
        CopyOwnership(sourceDir, top, volumeData);
        return true;
    }

    private static bool IsEmpty(string dir) => !Directory.EnumerateFileSystemEntries(dir).Any();

    /// <summary>
    /// The layer directories that make up pathInImage in the merged view (topmost first),
    /// or null when the image has nothing there. A single entry may be a non-directory.
    /// </summary>
    public static List<string>? Resolve(IReadOnlyList<string> layers, string pathInImage)
    {
        var pending = new Queue<string>(Components(pathInImage));
        var resolved = new List<string>();
        var stack = new List<string>(layers);
        int hops = 0;
        while (pending.Count > 0)
        {
            string name = pending.Dequeue();
            if (name == "..")
            {
                // Up within the image: re-walk the path so far without its last component.
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }
                stack = Walk(layers, resolved) ?? throw new InvalidOperationException("a resolved prefix vanished");
                continue;
            }
            var next = Lookup(stack, name);
            if (next is null)
            {
                return null;
            }
            var st = VolumeNative.Lstat(next[0])!.Value;
            if (st.IsSymlink)
            {
                if (++hops > MaxSymlinks)
                {
                    throw SkiffException.Invalid($"too many levels of symbolic links in the image at {pathInImage}");
                }
                string target = new FileInfo(next[0]).LinkTarget ?? "";
                var rest = pending.ToList();
                pending.Clear();
                if (target.StartsWith('/'))
                {
                    resolved.Clear();
                    stack = new List<string>(layers);
                }
                foreach (var c in Components(target).Concat(rest))
                {
                    pending.Enqueue(c);
                }
                continue;
            }
            if (!st.IsDirectory && pending.Count > 0)
            {
                return null;
            }
            resolved.Add(name);
            stack = next;
        }
        return stack;
    }

    private static List<string>? Walk(IReadOnlyList<string> layers, List<string> components)
    {
        var stack = new List<string>(layers);
        foreach (var c in components)
        {
            stack = Lookup(stack, c)!;
            if (stack is null)
            {
                return null;
            }
        }
        return stack;
    }

    /// <summary>
    /// name in a merged directory (dirs already stop at an opaque one): the first layer
    /// that has it decides. A whiteout hides it; a non-directory stands alone; a directory
    /// merges with the directories of that name below it, down to an opaque one or to
    /// anything that is not a directory.
    /// </summary>
    private static List<string>? Lookup(List<string> dirs, string name)
    {
        List<string>? found = null;
        foreach (var dir in dirs)
        {
            string path = Path.Combine(dir, name);
            if (VolumeNative.Lstat(path) is not { } st)
            {
                continue;
            }
            if (st.IsWhiteout)
            {
                return found;
            }
            if (!st.IsDirectory)
            {
                return found ?? [path];
            }
            found ??= [];
            found.Add(path);
            if (IsOpaque(path))
            {
                return found;
            }
        }
        return found;
    }

    private static bool IsOpaque(string dir)
    {
        foreach (var x in OpaqueXattrs)
        {
            if (VolumeNative.HasXattr(dir, x))
            {
                return true;
            }
        }
        return false;
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".");

    /// <summary>The union of the entries of a merged directory (topmost first), copied into dest.</summary>
    private static void CopyChildren(List<string> stack, string dest, Dictionary<(ulong, ulong), string> links)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < stack.Count; i++)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(stack[i]))
            {
                string name = Path.GetFileName(entry);
                if (!seen.Add(name))
                {
                    continue;
                }
                var st = VolumeNative.Lstat(entry);
                if (st is not { } s || s.IsWhiteout)
                {
                    continue;
                }
                string target = Path.Combine(dest, name);
                if (s.IsDirectory)
                {
                    // The same directory in lower layers, down to the first thing that hides them.
                    var sub = new List<string> { entry };
                    for (int j = i + 1; j < stack.Count && !IsOpaque(sub[^1]); j++)
                    {
                        var below = VolumeNative.Lstat(Path.Combine(stack[j], name));
                        if (below is null)
                        {
                            continue;
                        }
                        if (!below.Value.IsDirectory)
                        {
                            break;
                        }
                        sub.Add(Path.Combine(stack[j], name));
                    }
                    Directory.CreateDirectory(target);
                    CopyChildren(sub, target, links);
                    Finish(entry, s, target);
                }
                else
                {
                    CopyFile(entry, s, target, links);
                }
            }
        }
    }

    private static void CopyFile(string source, FileStat s, string target, Dictionary<(ulong, ulong), string> links)
    {
        if (s.Links > 1 && !s.IsSymlink)
        {
            if (links.TryGetValue((s.Device, s.Inode), out var first))
            {
                VolumeNative.HardLink(first, target);
                return;
            }
            links[(s.Device, s.Inode)] = target;
        }
        switch (s.Type)
        {
            case VolumeNative.S_IFREG:
                File.Copy(source, target);
                break;
            case VolumeNative.S_IFLNK:
                File.CreateSymbolicLink(target, new FileInfo(source).LinkTarget ?? "");
                VolumeNative.Chown(target, s.Uid, s.Gid);
                VolumeNative.SetMtime(target, s.MtimeSeconds, s.MtimeNanoseconds);
                return;
            case VolumeNative.S_IFIFO:
            case VolumeNative.S_IFCHR:
            case VolumeNative.S_IFBLK:
                if (!VolumeNative.MakeNode(target, s.Mode, s.RDevice))
                {
                    links.Remove((s.Device, s.Inode));
                    return;
                }
                break;
            default:
                // Sockets belong to the process that made them; Docker's copy skips them too.
                return;
        }
        Finish(source, s, target);
    }

    /// <summary>xattrs, owner, then mode (chown clears set-id bits), then the time.</summary>
    private static void Finish(string source, FileStat s, string target)
    {
        foreach (var name in VolumeNative.ListXattrs(source))
        {
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal) || name.StartsWith("user.overlay.", StringComparison.Ordinal))
            {
                continue;
            }
            if (VolumeNative.GetXattr(source, name) is { } value)
            {
                VolumeNative.SetXattr(target, name, value);
            }
        }
        VolumeNative.Chown(target, s.Uid, s.Gid);
        VolumeNative.Chmod(target, s.Mode);
        VolumeNative.SetMtime(target, s.MtimeSeconds, s.MtimeNanoseconds);
    }

    /// <summary>Docker's copyOwnership: the volume's root takes the owner and mode of the image's directory.</summary>
    private static void CopyOwnership(string source, FileStat s, string volumeData)
    {
        VolumeNative.Chown(volumeData, s.Uid, s.Gid);
        VolumeNative.Chmod(volumeData, s.Mode);
    }
}
