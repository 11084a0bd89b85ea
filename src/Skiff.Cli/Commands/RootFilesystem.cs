namespace Skiff.Cli.Commands;

/// <summary>A root filesystem directory given with --rootfs.</summary>
public static class RootFilesystem
{
    /// <summary>An absolute path to a readable directory, or an error that says what is wrong.</summary>
    public static string Validate(string path)
    {
        string full = Path.GetFullPath(path);
        var info = new DirectoryInfo(full);
        if (!info.Exists)
        {
            throw SkiffException.NotFound(File.Exists(full)
                ? $"rootfs {full}: not a directory"
                : $"rootfs {full}: no such directory");
        }
        try
        {
            using var e = Directory.EnumerateFileSystemEntries(full).GetEnumerator();
            e.MoveNext();
        }
        catch (UnauthorizedAccessException)
        {
            throw SkiffException.Invalid($"rootfs {full}: permission denied (skiff needs to read it)");
        }
        return full;
    }

    /// <summary>
    /// The text of etc/NAME in the root filesystem, or null. A symlink is not followed:
    /// on the host it could point anywhere.
    /// </summary>
    public static string? ReadEtc(string rootfs, string name)
    {
        var etc = new DirectoryInfo(Path.Combine(rootfs, "etc"));
        var file = new FileInfo(Path.Combine(rootfs, "etc", name));
        if (!etc.Exists || etc.LinkTarget is not null || !file.Exists || file.LinkTarget is not null || file.Length > 4 << 20)
        {
            return null;
        }
        try
        {
            return File.ReadAllText(file.FullName);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
