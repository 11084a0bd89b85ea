using System.Text.Json.Serialization;
using Skiff.Engine.Volumes;
using Skiff.Images;

namespace Skiff.Engine.Containers;

/// <summary>Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header: base64 of this JSON).</summary>
public sealed class ContainerPathStat
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";
    [JsonPropertyName("size")]
    public long Size { get; set; }
    /// <summary>Go's os.FileMode bits (ModeDir 1&lt;&lt;31, ModeSymlink 1&lt;&lt;27, ... and the permissions).</summary>
    [JsonPropertyName("mode")]
    public uint Mode { get; set; }
    [JsonPropertyName("mtime")]
    public string Mtime { get; set; } = "";
    /// <summary>For a symlink: where it lands, evaluated inside the container, as an absolute path.</summary>
    [JsonPropertyName("linkTarget")]
    public string LinkTarget { get; set; } = "";

    public const uint ModeDir = 1u << 31;
    public const uint ModeSymlink = 1u << 27;
    public const uint ModeDevice = 1u << 26;
    public const uint ModeNamedPipe = 1u << 25;
    public const uint ModeSocket = 1u << 24;

    [JsonIgnore]
    public bool IsDir => (Mode & ModeDir) != 0;
    [JsonIgnore]
    public bool IsSymlink => (Mode & ModeSymlink) != 0;
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerPathStat))]
public sealed partial class ContainerCopyJson : JsonSerializerContext;

/// <summary>
/// docker cp's daemon half, one method per endpoint of /containers/{id}/archive: HEAD
/// (Stat), GET (Archive) and PUT (Extract), on running and stopped containers alike.
/// Container paths are resolved inside the container's root only (RootedTree), so no
/// symlink in a container reaches a host file.
/// </summary>
public static partial class ContainerCopy
{
    public static ContainerPathStat Stat(ContainerStore store, string reference, string path, ContainerFilesystemOptions? options = null)
    {
        using var fs = ContainerFilesystem.Open(store, reference, options);
        return StatIn(fs, path);
    }

    /// <summary>
    /// A tar of path written to output. begin gets the path's stat before the first byte
    /// (the API sends it as a header); a missing path fails before it.
    /// </summary>
    public static ContainerPathStat Archive(ContainerStore store, string reference, string path, Stream output,
        Action<ContainerPathStat>? begin = null, ContainerFilesystemOptions? options = null)
    {
        using var fs = ContainerFilesystem.Open(store, reference, options);
        var stat = StatIn(fs, path);
        begin?.Invoke(stat);
        ArchiveIn(fs, path, output);
        return stat;
    }

    /// <summary>
    /// Unpacks a tar stream (plain, gzip or zstd) into the directory path of the container.
    /// Owners: container root, or with copyUidGid the archive's own ids (cp -a).
    /// </summary>
    public static void Extract(ContainerStore store, string reference, string path, Stream tar, bool copyUidGid, bool noOverwriteDirNonDir,
        ContainerFilesystemOptions? options = null)
    {
        using var fs = ContainerFilesystem.Open(store, reference, options);
        var (compression, raw) = PrefixedStream.Sniff(tar);
        using var input = LayerCompression.Decompress(raw, compression);
        ExtractIn(fs, path, input, copyUidGid, noOverwriteDirNonDir, rebase: null);
    }

    /// <summary>Docker's 404 for a container path.</summary>
    public static SkiffException FileNotFound(string path, string container) =>
        SkiffException.NotFound($"Could not find the file {path} in container {container}");

    internal static ContainerPathStat StatIn(ContainerFilesystem fs, string path)
    {
        string abs = CopyPaths.InContainer(path);
        TreeArchive.Source source;
        try
        {
            source = TreeArchive.Open(fs.Tree, abs);
        }
        catch (PathNotFoundException)
        {
            throw FileNotFound(path, fs.Reference);
        }
        try
        {
            var st = source.Stat;
            return new ContainerPathStat
            {
                Name = CopyPaths.Base(abs),
                Size = st.Size,
                Mode = st.GoMode(),
                Mtime = st.MTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture),
                LinkTarget = st.IsSymlink ? fs.Tree.EvalSymlinks(abs) : "",
            };
        }
        finally
        {
            CopyNative.Close(source.Dir);
        }
    }

    internal static void ArchiveIn(ContainerFilesystem fs, string path, Stream output, string? rebaseName = null)
    {
        string abs = CopyPaths.InContainer(path);
        try
        {
            TreeArchive.Write(fs.Tree, abs, rebaseName is { Length: > 0 } ? rebaseName : CopyPaths.Base(abs), output, fs.Owners);
        }
        catch (PathNotFoundException)
        {
            throw FileNotFound(path, fs.Reference);
        }
    }

    internal static void ExtractIn(ContainerFilesystem fs, string path, Stream tar, bool copyUidGid, bool noOverwriteDirNonDir,
        (string, string)? rebase)
    {
        string abs = CopyPaths.InContainer(path);
        // The last component is followed too: a symlink to a directory is a fine place to unpack.
        int fd = fs.Tree.Open(abs, CopyNative.O_PATH);
        if (fd < 0)
        {
            throw -fd is Errno.ENOENT or Errno.ENOTDIR
                ? FileNotFound(path, fs.Reference)
                : new SystemCallException($"open {path} in container {fs.Reference}", -fd);
        }
        using var dest = new RootedTree(fd, path);
        if (!CopyNative.StatFd(fd, path).IsDir)
        {
            throw SkiffException.Invalid("extraction point is not a directory");
        }
        string resolved = fs.Tree.EvalSymlinks(abs);
        CheckWritable(fs, resolved);
        bool realRoot = Interop.Libc.geteuid() == 0;
        TreeExtract.Run(dest, tar, new ExtractOptions
        {
            // Rootless without the keeper, files skiff makes are container root's already and no other owner can be given.
            Chown = copyUidGid || realRoot,
            Owner = copyUidGid ? null : (0u, 0u),
            NoOverwriteDirNonDir = noOverwriteDirNonDir,
            Rebase = rebase,
            Display = resolved,
        });
    }

    /// <summary>Docker's read-only checks: the volume a path is in, else the root filesystem.</summary>
    private static void CheckWritable(ContainerFilesystem fs, string resolved)
    {
        MountPoint? volume = null;
        foreach (var m in fs.Mounts)
        {
            string dest = CopyPaths.Clean(m.Destination);
            bool under = resolved == dest || resolved.StartsWith(dest == "/" ? "/" : dest + "/", StringComparison.Ordinal);
            if (under && (volume is null || dest.Length > CopyPaths.Clean(volume.Destination).Length))
            {
                volume = m;
            }
        }
        if (volume is not null)
        {
            if (!volume.RW)
            {
                throw SkiffException.Invalid("mounted volume is marked read-only");
            }
            return;
        }
        if (fs.Definition.HostConfig.ReadonlyRootfs)
        {
            throw SkiffException.Invalid("container rootfs is marked read-only");
        }
    }
}
