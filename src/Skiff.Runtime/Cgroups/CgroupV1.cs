using System.Globalization;
using Skiff.Oci;

namespace Skiff.Runtime.Cgroups;

/// <summary>cgroup v1: one directory per mounted controller hierarchy (rootful only).</summary>
public sealed class CgroupV1(string relativePath, IReadOnlyDictionary<string, string> hierarchies) : ICgroup
{
    public string Path => "/" + relativePath;

    private IEnumerable<string> Dirs => hierarchies.Values.Distinct().Select(root => System.IO.Path.Combine(root, relativePath));

    private string? Dir(string controller) =>
        hierarchies.TryGetValue(controller, out var root) ? System.IO.Path.Combine(root, relativePath) : null;

    public void Create(Resources? resources)
    {
        foreach (var (controller, root) in hierarchies)
        {
            string dir = System.IO.Path.Combine(root, relativePath);
            if (controller == "cpuset")
            {
                MakeCpuset(root, relativePath);
            }
            Directory.CreateDirectory(dir);
        }
        Apply(resources);
    }

    /// <summary>A new cpuset cgroup starts empty; every level must copy cpus and mems from its parent.</summary>
    private static void MakeCpuset(string root, string relative)
    {
        string current = root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string next = System.IO.Path.Combine(current, part);
            if (!Directory.Exists(next))
            {
                Directory.CreateDirectory(next);
                foreach (var f in new[] { "cpuset.cpus", "cpuset.mems" })
                {
                    if (File.ReadAllText(System.IO.Path.Combine(next, f)).Trim().Length == 0)
                    {
                        CgroupFiles.Write(System.IO.Path.Combine(next, f), File.ReadAllText(System.IO.Path.Combine(current, f)).Trim());
                    }
                }
            }
            current = next;
        }
    }

    private void Apply(Resources? resources)
    {
        foreach (var (controller, file, value) in CgroupResources.V1(resources))
        {
            string dir = Dir(controller) ?? throw SkiffException.Unavailable(
                $"cannot apply {file}: the cgroup v1 {controller} controller is not mounted on this host");
            CgroupFiles.Write(System.IO.Path.Combine(dir, file), value);
        }
        if (resources?.Devices is { Count: > 0 } devices && Dir("devices") is { } devicesDir)
        {
            foreach (var d in devices)
            {
                string rule = $"{(d.Type is null or "" ? "a" : d.Type)} {Num(d.Major)}:{Num(d.Minor)} {(d.Access is null or "" ? "rwm" : d.Access)}";
                CgroupFiles.Write(System.IO.Path.Combine(devicesDir, d.Allow ? "devices.allow" : "devices.deny"), rule);
            }
            // As runc: the devices every container gets are allowed whatever the spec says.
            foreach (var rule in DefaultAllowed)
            {
                CgroupFiles.Write(System.IO.Path.Combine(devicesDir, "devices.allow"), rule);
            }
        }
    }

    /// <summary>runc's AllowedDevices: mknod of anything, and the standard nodes, ptys and tun.</summary>
    private static readonly string[] DefaultAllowed =
        ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm",
         "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"];

    private static string Num(long? n) => n is null or < 0 ? "*" : n.Value.ToString(CultureInfo.InvariantCulture);

    public int OpenForClone() => -1;

    public void AddProcess(int pid)
    {
        foreach (var dir in Dirs)
        {
            CgroupFiles.Write(System.IO.Path.Combine(dir, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    public void Update(Resources resources) => Apply(resources);

    public void Freeze(bool frozen)
    {
        string dir = Dir("freezer") ?? throw SkiffException.Unavailable("cannot pause: the cgroup v1 freezer controller is not mounted");
        CgroupFiles.Write(System.IO.Path.Combine(dir, "freezer.state"), frozen ? "FROZEN" : "THAWED");
        // The freezer state passes through FREEZING; wait until it settles.
        for (int i = 0; i < 1000 && File.ReadAllText(System.IO.Path.Combine(dir, "freezer.state")).Trim() == "FREEZING"; i++)
        {
            Thread.Sleep(1);
        }
    }

    public bool IsFrozen() =>
        Dir("freezer") is { } dir && File.Exists(System.IO.Path.Combine(dir, "freezer.state")) &&
        File.ReadAllText(System.IO.Path.Combine(dir, "freezer.state")).Trim() == "FROZEN";

    public IReadOnlyList<int> Processes()
    {
        string? dir = Dir("pids") ?? Dir("memory") ?? Dirs.FirstOrDefault();
        return dir is null ? [] : CgroupFiles.ReadPids(System.IO.Path.Combine(dir, "cgroup.procs"));
    }

    public void Destroy()
    {
        foreach (var dir in Dirs)
        {
            CgroupFiles.RemoveDirectory(dir);
        }
    }
}

/// <summary>Small helpers for cgroupfs files, with errors that name the file.</summary>
public static class CgroupFiles
{
    public static void Write(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException e)
        {
            throw SkiffException.Invalid($"write {value} to {path}: {e.Message}");
        }
        catch (UnauthorizedAccessException)
        {
            throw SkiffException.Unavailable($"write {path}: permission denied (is the cgroup delegated to this user?)");
        }
    }

    public static IReadOnlyList<int> ReadPids(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }
        var pids = new List<int>();
        foreach (var line in File.ReadAllLines(path))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                pids.Add(pid);
            }
        }
        return pids;
    }

    /// <summary>rmdir, retried while the last processes finish leaving (EBUSY).</summary>
    public static void RemoveDirectory(string dir)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: false);
                }
                return;
            }
            catch (IOException) when (attempt < 100)
            {
                Thread.Sleep(10);
            }
        }
    }
}
