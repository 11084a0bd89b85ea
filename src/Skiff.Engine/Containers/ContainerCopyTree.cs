namespace Skiff.Engine.Containers;

/// <summary>
/// A directory taken as "/": every path is resolved beneath it by the kernel
/// (openat2 RESOLVE_IN_ROOT), so ".." and absolute symlinks stop at its root and magic
/// links (/proc/self/root) are refused. A container's symlink to /etc/shadow lands on
/// the container's /etc/shadow, never the host's.
/// </summary>
public sealed class RootedTree : IDisposable
{
    private const ulong Resolve = CopyNative.RESOLVE_IN_ROOT | CopyNative.RESOLVE_NO_MAGICLINKS;
    private const int MaxLinks = 255;

    private int _fd;

    /// <summary>Takes ownership of an fd on a directory (O_PATH is enough).</summary>
    public RootedTree(int rootFd, string description)
    {
        _fd = rootFd;
        Description = description;
    }

    /// <summary>What the tree is, for error messages ("container x", "/tmp/dst").</summary>
    public string Description { get; }

    public int RootFd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(RootedTree));

    /// <summary>A host directory as a tree (its own symlinks followed to reach it).</summary>
    public static RootedTree OpenHost(string directory)
    {
        int fd = CopyNative.OpenAt(CopyNative.AT_FDCWD, directory, CopyNative.O_PATH | CopyNative.O_DIRECTORY);
        if (fd < 0)
        {
            throw new SystemCallException($"open {directory}", -fd, SystemCallException.CategoryOf(-fd));
        }
        return new RootedTree(fd, directory);
    }

    /// <summary>Opens a path beneath the root, following every symlink on the way (the last one too). fd or -errno.</summary>
    public int Open(string path, int flags) => CopyNative.OpenAt2(RootFd, Relative(path), flags, Resolve);

    /// <summary>
    /// The directory that holds the last component (symlinks followed to reach it) and that
    /// component's name, which is not followed. The root itself gives its own fd (dup'd) and "".
    /// </summary>
    public int OpenParent(string path, out string name)
    {
        string clean = CopyPaths.Clean("/" + path);
        if (clean == "/")
        {
            name = "";
            return Open("/", CopyNative.O_PATH | CopyNative.O_DIRECTORY);
        }
        name = CopyPaths.Base(clean);
        return Open(CopyPaths.Dir(clean), CopyNative.O_PATH | CopyNative.O_DIRECTORY);
    }

    /// <summary>lstat of a path beneath the root (the parents followed). 0 or -errno.</summary>
    internal int Lstat(string path, out FileStat stat)
    {
        int parent = OpenParent(path, out string name);
        if (parent < 0)
        {
            stat = default;
            return parent;
        }
        try
        {
            return CopyNative.StatAt(parent, name, name.Length == 0 ? CopyNative.AT_EMPTY_PATH : CopyNative.AT_SYMLINK_NOFOLLOW, out stat);
        }
        finally
        {
            CopyNative.Close(parent);
        }
    }

    /// <summary>
    /// Every symlink of the path evaluated within the root, as moby's FollowSymlinkInScope:
    /// the absolute path inside the tree it lands on. What does not exist is kept as written.
    /// </summary>
    public string EvalSymlinks(string path)
    {
        var pending = new Stack<string>(Components(path).Reverse());
        var resolved = new List<string>();
        int links = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }
                continue;
            }
            int dir = CopyNative.OpenAt2(RootFd, Relative("/" + string.Join('/', resolved)), CopyNative.O_PATH | CopyNative.O_DIRECTORY,
                Resolve | CopyNative.RESOLVE_NO_SYMLINKS);
            FileStat stat = default;
            if (dir < 0 || CopyNative.StatAt(dir, part, CopyNative.AT_SYMLINK_NOFOLLOW, out stat) < 0)
            {
                // Missing (or not a directory): the rest is kept as written.
                CopyNative.Close(dir);
                pending.Push(part);
                while (pending.Count > 0)
                {
                    string rest = pending.Pop();
                    if (rest != "..")
                    {
                        resolved.Add(rest);
                    }
                    else if (resolved.Count > 0)
                    {
                        resolved.RemoveAt(resolved.Count - 1);
                    }
                }
                break;
            }
            if (!stat.IsSymlink)
            {
                CopyNative.Close(dir);
                resolved.Add(part);
                continue;
            }
            string target;
            try
            {
                target = CopyNative.ReadLinkAt(dir, part, part);
            }
            finally
            {
                CopyNative.Close(dir);
            }
            if (++links > MaxLinks)
            {
                throw new SystemCallException($"evaluate {path}", Errno.ELOOP);
            }
            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }
            foreach (var c in Components(target).Reverse())
            {
                pending.Push(c);
            }
        }
        return "/" + string.Join('/', resolved);
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".");

    /// <summary>openat2 wants a relative path to stay beneath the dirfd it was given ("/" works too, but say what is meant).</summary>
    private static string Relative(string path)
    {
        string clean = CopyPaths.Clean("/" + path);
        return clean == "/" ? "." : clean[1..];
    }

    public void Dispose()
    {
        CopyNative.Close(_fd);
        _fd = -1;
    }
}
