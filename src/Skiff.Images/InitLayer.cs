namespace Skiff.Images;

/// <summary>
/// Docker's init layer, made once per image: the mount points every container's spec mounts or
/// binds over (/proc, /sys, /dev, /etc/hosts, /etc/hostname, /etc/resolv.conf), made where the
/// image lacks them, in a layer above the image's. Without it every run made them in its own
/// writable layer (a copy-up of /etc and three new files, on disk) and removed them again.
/// </summary>
public static class InitLayer
{
    private static readonly string[] Directories = ["proc", "sys", "dev"];
    private static readonly string[] Files = ["etc/hosts", "etc/hostname", "etc/resolv.conf"];

    /// <summary>
    /// The init layer of an image under <paramref name="dir"/> (images/init/HEX), made on first use:
    /// null when the image has every mount point already (a marker, HEX.none, says so).
    /// Made in a temporary directory and renamed into place, so concurrent runs share one.
    /// </summary>
    public static string? Ensure(string dir, string hex, IReadOnlyList<string> layers)
    {
        string path = Path.Combine(dir, hex);
        string none = path + ".none";
        if (Directory.Exists(path))
        {
            return path;
        }
        if (File.Exists(none))
        {
            return null;
        }
        var missing = Missing(layers);
        Directory.CreateDirectory(dir);
        if (missing.Count == 0)
        {
            File.WriteAllBytes(none, []);
            return null;
        }
        SweepAbandoned(dir);
        string temp = Path.Combine(dir, $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            foreach (string entry in missing)
            {
                string target = Path.Combine(temp, entry);
                if (Array.IndexOf(Files, entry) >= 0)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    SmallFile.WriteNew(target, []);
                }
                else
                {
                    Directory.CreateDirectory(target);
                }
            }
            Directory.Move(temp, path);
        }
        catch (IOException) when (Directory.Exists(path))
        {
            // another run made it first: use theirs
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
        return path;
    }

    /// <summary>
    /// Removes the temporary directories of runs that died while making an init layer
    /// (.tmp-PID-GUID whose PID is gone). One of a live process, or of a PID reused since, stays.
    /// </summary>
    private static void SweepAbandoned(string dir)
    {
        foreach (string temp in Directory.EnumerateDirectories(dir, ".tmp-*"))
        {
            string name = Path.GetFileName(temp);
            int end = name.IndexOf('-', ".tmp-".Length);
            if (end > 0 && int.TryParse(name.AsSpan(".tmp-".Length, end - ".tmp-".Length), out int pid)
                && !Directory.Exists("/proc/" + pid))
            {
                try
                {
                    Directory.Delete(temp, recursive: true);
                }
                catch (DirectoryNotFoundException)
                {
                    // another run swept it first
                }
            }
        }
    }

    /// <summary>Removes an image's init layer (rmi, prune).</summary>
    public static void Remove(string dir, string hex)
    {
        if (!Directory.Exists(dir))
        {
            return; // no image has run yet
        }
        string path = Path.Combine(dir, hex);
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        File.Delete(path + ".none");
    }

    /// <summary>
    /// The mount points the merged image lacks and an init layer may make: nothing is made over an
    /// entry any layer has (a file, a symlink, a whiteout), nor below a parent that is not a plain
    /// directory where a layer has it. Those cases stay with the run, as before.
    /// </summary>
    public static List<string> Missing(IReadOnlyList<string> layers) =>
        Directories.Concat(Files).Where(entry => Topmost(layers, entry) == 0).ToList();

    /// <summary>
    /// The file type of the topmost entry at <paramref name="relative"/> (layers top first), 0 when
    /// no layer has one. A layer with a non-directory at a parent (a symlink: never followed on the
    /// host) ends the search as if it had the entry, for what lies below is not a plain lookup.
    /// </summary>
    private static uint Topmost(IReadOnlyList<string> layers, string relative)
    {
        string[] parts = relative.Split('/');
        foreach (string layer in layers)
        {
            string path = layer;
            for (int i = 0; i < parts.Length; i++)
            {
                path = Path.Combine(path, parts[i]);
                uint type = Native.LstatMode(path) & Native.S_IFMT;
                if (type == 0)
                {
                    break; // not in this layer: look in the next
                }
                if (i == parts.Length - 1)
                {
                    return type;
                }
                if (type != Native.S_IFDIR)
                {
                    return type;
                }
            }
        }
        return 0;
    }
}
