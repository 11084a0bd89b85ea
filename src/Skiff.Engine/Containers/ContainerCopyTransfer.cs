using System.IO.Pipes;

namespace Skiff.Engine.Containers;

/// <summary>
/// A docker cp failure on the local side (the docker CLI's own, printed without
/// "Error response from daemon:"): a local path, or how source and destination fit.
/// </summary>
public sealed class CopyClientException(string message, Exception? inner = null)
    : SkiffException(ErrorCategory.InvalidArgument, message, inner)
{
    /// <summary>Runs a local step; what it throws becomes a client-side error.</summary>
    public static T Local<T>(Func<T> step)
    {
        try
        {
            return step();
        }
        catch (CopyClientException)
        {
            throw;
        }
        catch (SkiffException e)
        {
            throw new CopyClientException(e.Message, e);
        }
        catch (IOException e)
        {
            throw new CopyClientException(e.Message, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CopyClientException(e.Message, e);
        }
    }

    public static void Local(Action step) => Local(() =>
    {
        step();
        return 0;
    });
}

/// <summary>What a copy moved, for docker cp's "Successfully copied 1.2kB (transferred 4.1kB) to DEST".</summary>
public sealed record CopyOutcome(long ContentSize, long Transferred, string Destination);

/// <summary>What docker cp knows of a source or a destination (moby's archive.CopyInfo).</summary>
public sealed record CopyInfo(string Path, bool Exists = false, bool IsDir = false, string RebaseName = "");

/// <summary>
/// docker cp's client half, in process: the same stat, tar and rebase steps the docker
/// CLI takes around the archive endpoints, so that "dir", "dir/" and "dir/." and an
/// existing or missing destination come out as they do with Docker. Local paths are the
/// user's own; container paths go through ContainerCopy.
/// </summary>
public static partial class ContainerCopy
{
    /// <summary>cp CONTAINER:SRC DEST (DEST "-": a tar stream to stdout).</summary>
    public static CopyOutcome FromContainer(ContainerStore store, string container, string srcPath, string dstPath, Stream stdout,
        bool followLink, bool copyUidGid, ContainerFilesystemOptions? options = null)
    {
        if (dstPath != "-")
        {
            dstPath = ResolveLocalPath(dstPath);
            string checkedPath = dstPath;
            CopyClientException.Local(() => ValidateOutputPath(checkedPath));
        }
        using var fs = ContainerFilesystem.Open(store, container, options);
        string rebaseName = "";
        if (followLink)
        {
            ContainerPathStat? link = null;
            try
            {
                link = StatIn(fs, srcPath);
            }
            catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
            {
            }
            if (link is { IsSymlink: true })
            {
                (srcPath, rebaseName) = CopyPaths.GetRebaseName(srcPath, link.LinkTarget);
            }
        }
        var stat = StatIn(fs, srcPath);
        if (dstPath == "-")
        {
            var counted = new CountingStream(stdout);
            ArchiveIn(fs, srcPath, counted);
            return new CopyOutcome(counted.Count, counted.Count, "-");
        }
        var source = new CopyInfo(srcPath, Exists: true, stat.IsDir, rebaseName);
        string from = srcPath, to = dstPath;
        long transferred = Pipe(output => ArchiveIn(fs, from, output, rebaseName),
            input => CopyClientException.Local(() => CopyTo(input, source, to, copyUidGid)));
        return new CopyOutcome(stat.IsDir ? transferred : stat.Size, transferred, dstPath);
    }

    /// <summary>cp SRC CONTAINER:DEST (SRC "-": a tar stream from stdin, DEST a directory).</summary>
    public static CopyOutcome ToContainer(ContainerStore store, string srcPath, string container, string dstPath, Stream stdin,
        bool followLink, bool copyUidGid, ContainerFilesystemOptions? options = null)
    {
        if (srcPath != "-")
        {
            srcPath = ResolveLocalPath(srcPath);
        }
        using var fs = ContainerFilesystem.Open(store, container, options);
        var dst = DestinationInContainer(fs, container, dstPath);
        if (srcPath == "-")
        {
            if (!dst.IsDir)
            {
                throw new CopyClientException($"destination \"{container}:{dstPath}\" must be a directory");
            }
            var counted = new CountingReadStream(stdin);
            var (compression, raw) = Images.PrefixedStream.Sniff(counted);
            using (var input = Images.LayerCompression.Decompress(raw, compression))
            {
                ExtractIn(fs, dst.Path, input, copyUidGid, noOverwriteDirNonDir: true, rebase: null);
            }
            return new CopyOutcome(counted.Count, counted.Count, container + ":" + dst.Path);
        }
        string local = srcPath;
        var source = CopyClientException.Local(() => CopyInfoSourcePath(local, followLink));
        long contentSize = LocalContentSize(source.Path);
        var (dstDir, rebase) = CopyClientException.Local(() => PrepareArchiveCopy(source, dst));
        using var host = RootedTree.OpenHost("/");
        var owners = LocalOwners();
        long transferred = Pipe(output => CopyClientException.Local(() => TreeArchive.Write(host, source.Path, source.RebaseName, output, owners)),
            input => ExtractIn(fs, dstDir, input, copyUidGid, noOverwriteDirNonDir: true, rebase));
        return new CopyOutcome(contentSize, transferred, container + ":" + dst.Path);
    }

    /// <summary>The container destination as the docker CLI stats it: a symlink evaluated, a device refused, a missing one fine.</summary>
    private static CopyInfo DestinationInContainer(ContainerFilesystem fs, string container, string dstPath)
    {
        var info = new CopyInfo(dstPath);
        ContainerPathStat stat;
        try
        {
            stat = StatIn(fs, dstPath);
            if (stat.IsSymlink)
            {
                info = info with { Path = stat.LinkTarget };
                stat = StatIn(fs, stat.LinkTarget);
            }
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            // The parent may still be there: the extraction says so if it is not.
            return info;
        }
        if (GoModeProblem(stat.Mode) is { } problem)
        {
            throw new CopyClientException($"destination \"{container}:{dstPath}\" must be a directory or a regular file: {problem}");
        }
        return info with { Exists = true, IsDir = stat.IsDir };
    }

    private static string? GoModeProblem(uint goMode) =>
        (goMode & ContainerPathStat.ModeDevice) != 0 ? "got a device"
        : (goMode & (ContainerPathStat.ModeNamedPipe | ContainerPathStat.ModeSocket)) != 0 ? "got an irregular file"
        : null;

    /// <summary>
    /// moby's PrepareArchiveCopy: where an archive of source is unpacked so that it lands
    /// at destination, and the rename of its entries that takes.
    /// </summary>
    public static (string Dir, (string From, string To)? Rebase) PrepareArchiveCopy(CopyInfo source, CopyInfo destination)
    {
        var (dstDir, dstBase) = CopyPaths.SplitPathDirEntry(destination.Path);
        var (_, srcBase) = CopyPaths.SplitPathDirEntry(source.Path);
        if (source.RebaseName.Length > 0)
        {
            srcBase = source.RebaseName;
        }
        if (destination.Exists && destination.IsDir)
        {
            return (destination.Path, null);
        }
        if (destination.Exists && source.IsDir)
        {
            throw SkiffException.Invalid("cannot copy directory");
        }
        if (!destination.Exists && !source.IsDir && CopyPaths.AssertsDirectory(destination.Path))
        {
            throw SkiffException.Invalid("no such directory");
        }
        return (dstDir, (srcBase, dstBase));
    }

    /// <summary>moby's CopyTo on the local side: unpacked for the user running cp (owners kept only with -a, as root).</summary>
    private static void CopyTo(Stream tar, CopyInfo source, string dstPath, bool copyUidGid)
    {
        var destination = CopyInfoDestinationPath(dstPath);
        var (dstDir, rebase) = PrepareArchiveCopy(source, destination);
        using var tree = RootedTree.OpenHost(dstDir);
        TreeExtract.Run(tree, tar, new ExtractOptions
        {
            Chown = copyUidGid && Interop.Libc.geteuid() == 0 && Linux.UserNamespaceKeeper.Joined == 0,
            NoOverwriteDirNonDir = true,
            Rebase = rebase,
            Display = dstDir,
        });
    }

    /// <summary>
    /// Inside the keeper's user namespace the user's own files look root's: cp -a writes the
    /// owners the host sees (as the docker CLI, which runs outside any namespace, would).
    /// </summary>
    private static TreeArchive.OwnerMap? LocalOwners()
    {
        if (Linux.UserNamespaceKeeper.Joined == 0)
        {
            return null;
        }
        var uids = Linux.IdMappingResolver.ParseMap(ReadOrNull("/proc/self/uid_map"));
        var gids = Linux.IdMappingResolver.ParseMap(ReadOrNull("/proc/self/gid_map"));
        return (uid, gid) => (ToHost(uids, uid), ToHost(gids, gid));
    }

    private static uint ToHost(Linux.IdRange[] map, uint id)
    {
        foreach (var r in map)
        {
            if (r.Contains(id))
            {
                return r.HostId + (id - r.ContainerId);
            }
        }
        return 65534;
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The absolute local path, with the "/" or "/." the user wrote kept.</summary>
    public static string ResolveLocalPath(string path) =>
        CopyPaths.PreserveTrailingDotOrSeparator(CopyPaths.Clean(path.StartsWith('/') ? path : Path.Combine(Environment.CurrentDirectory, path)), path);

    /// <summary>The docker CLI's ValidateOutputPath.</summary>
    private static void ValidateOutputPath(string path)
    {
        string dir = CopyPaths.Dir(CopyPaths.Clean(path));
        if (dir is not ("" or ".") && !Directory.Exists(dir) && !File.Exists(dir))
        {
            throw SkiffException.Invalid($"invalid output path: directory \"{dir}\" does not exist");
        }
        if (CopyNative.StatAt(CopyNative.AT_FDCWD, path, 0, out var st) == 0 && !st.IsDir && !st.IsRegular)
        {
            string problem = GoModeProblem(st.GoMode()) ?? "got an irregular file";
            throw SkiffException.Invalid($"invalid output path: \"{path}\" must be a directory or a regular file: {problem}");
        }
    }

    /// <summary>moby's CopyInfoDestinationPath: a final symlink followed (ten at most); a missing path needs its parent directory.</summary>
    private static CopyInfo CopyInfoDestinationPath(string path)
    {
        string original = path;
        int rc = CopyNative.StatAt(CopyNative.AT_FDCWD, path, CopyNative.AT_SYMLINK_NOFOLLOW, out var st);
        for (int n = 0; rc == 0 && st.IsSymlink; n++)
        {
            if (n >= 10)
            {
                throw SkiffException.Invalid($"too many symlinks in {original}");
            }
            string target = CopyNative.ReadLinkAt(CopyNative.AT_FDCWD, path, path);
            path = target.StartsWith('/') ? target : CopyPaths.Join(CopyPaths.SplitPathDirEntry(path).Dir, target);
            rc = CopyNative.StatAt(CopyNative.AT_FDCWD, path, CopyNative.AT_SYMLINK_NOFOLLOW, out st);
        }
        if (rc == 0)
        {
            return new CopyInfo(path, Exists: true, st.IsDir);
        }
        if (-rc != Errno.ENOENT)
        {
            throw new SystemCallException($"lstat {path}", -rc);
        }
        string parent = CopyPaths.SplitPathDirEntry(path).Dir;
        int prc = CopyNative.StatAt(CopyNative.AT_FDCWD, parent, 0, out var pst);
        if (prc < 0)
        {
            throw new SystemCallException($"stat {parent}", -prc, SystemCallException.CategoryOf(-prc));
        }
        if (!pst.IsDir)
        {
            throw SkiffException.Invalid("not a directory");
        }
        return new CopyInfo(path);
    }

    /// <summary>moby's CopyInfoSourcePath: symlinks before the last "/" evaluated (all of them with -L).</summary>
    private static CopyInfo CopyInfoSourcePath(string path, bool followLink)
    {
        using var host = RootedTree.OpenHost("/");
        string resolved, rebase = "";
        if (followLink)
        {
            (resolved, rebase) = CopyPaths.GetRebaseName(path, host.EvalSymlinks(path));
        }
        else
        {
            var (dir, file) = CopyPaths.Split(path);
            string resolvedDir = host.EvalSymlinks(dir.Length == 0 ? "/" : dir);
            resolved = (resolvedDir == "/" ? "" : resolvedDir) + "/" + file;
            if (CopyPaths.HasTrailingSeparator(path) && CopyPaths.Base(path) != CopyPaths.Base(resolved))
            {
                rebase = CopyPaths.Base(path);
            }
        }
        var (_, last) = CopyPaths.Split(resolved);
        int rc = CopyNative.StatAt(CopyNative.AT_FDCWD, resolved, last.Length == 0 || last == "." ? 0 : CopyNative.AT_SYMLINK_NOFOLLOW, out var st);
        if (rc < 0)
        {
            throw new SystemCallException($"lstat {resolved}", -rc, SystemCallException.CategoryOf(-rc));
        }
        return new CopyInfo(resolved, Exists: true, st.IsDir, rebase);
    }

    /// <summary>The bytes of regular files under a local path (the docker CLI's localContentSize).</summary>
    private static long LocalContentSize(string path)
    {
        var (_, last) = CopyPaths.Split(path);
        if (CopyNative.StatAt(CopyNative.AT_FDCWD, path, last.Length == 0 || last == "." ? 0 : CopyNative.AT_SYMLINK_NOFOLLOW, out var st) < 0)
        {
            return 0;
        }
        if (!st.IsDir)
        {
            return st.IsRegular ? st.Size : 0;
        }
        int fd = CopyNative.OpenAt(CopyNative.AT_FDCWD, path, CopyNative.O_RDONLY | CopyNative.O_DIRECTORY);
        return fd < 0 ? 0 : SizeUnder(fd);
    }

    private static long SizeUnder(int dirFd)
    {
        long total = 0;
        try
        {
            foreach (var name in CopyNative.ReadNames(dirFd, ""))
            {
                if (CopyNative.StatAt(dirFd, name, CopyNative.AT_SYMLINK_NOFOLLOW, out var st) < 0)
                {
                    continue;
                }
                if (st.IsRegular)
                {
                    total += st.Size;
                }
                else if (st.IsDir)
                {
                    int sub = CopyNative.OpenAt(dirFd, name, CopyNative.O_RDONLY | CopyNative.O_DIRECTORY | CopyNative.O_NOFOLLOW);
                    if (sub >= 0)
                    {
                        total += SizeUnder(sub);
                    }
                }
            }
        }
        finally
        {
            CopyNative.Close(dirFd);
        }
        return total;
    }

    /// <summary>
    /// A tar made on one thread and unpacked on this one through a kernel pipe; the bytes
    /// that went through. Whichever side fails first, the other stops and the first error wins.
    /// </summary>
    private static long Pipe(Action<Stream> produce, Action<Stream> consume)
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var counted = new CountingReadStream(new BufferedStream(client, 1 << 16));
        var writer = Task.Run(() =>
        {
            try
            {
                // Tar writes many small headers: batched, they cost one pipe write per 64 KiB.
                using var buffered = new BufferedStream(server, 1 << 16);
                produce(buffered);
                buffered.Flush();
            }
            finally
            {
                server.Dispose();
            }
        });
        try
        {
            consume(counted);
            // Whatever the reader did not need (tar padding) still has to leave the pipe.
            counted.CopyTo(Stream.Null);
        }
        catch
        {
            client.Dispose();
            try
            {
                writer.Wait();
            }
            catch (AggregateException e) when (e.InnerException is SkiffException first && !BrokenPipe(first))
            {
                // The writer failed first (the reader then saw a cut archive): its error is the one to report.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            }
            catch (AggregateException)
            {
                // a broken pipe: the reader's error is the one to report
            }
            throw;
        }
        try
        {
            writer.Wait();
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        return counted.Count;
    }

    /// <summary>The writer's failure came from the reader going away (an IO error on the pipe), not from its own side.</summary>
    private static bool BrokenPipe(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is IOException)
            {
                return true;
            }
        }
        return false;
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }

    private sealed class CountingReadStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush()
        {
        }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            Count += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
