using System.Globalization;
using Skiff.Oci;

namespace Skiff.Runtime.Cgroups;

/// <summary>cgroup v2: one directory in the unified hierarchy; the child is cloned straight into it.</summary>
public sealed class CgroupV2(string root, string relativePath) : ICgroup
{
    private string Dir => System.IO.Path.Combine(root, relativePath);

    public string Path => "/" + relativePath;

    public void Create(Resources? resources)
    {
        // Controllers must be enabled in every ancestor's subtree_control to be used below it.
        var wanted = CgroupResources.V2(resources).Select(w => w.File.Split('.')[0]).Distinct().ToList();
        string current = root;
        foreach (var part in relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            Enable(current, wanted);
            current = System.IO.Path.Combine(current, part);
            Directory.CreateDirectory(current);
        }
        Update(resources ?? new Resources());
    }

    private static void Enable(string dir, List<string> controllers)
    {
        string available = File.Exists(System.IO.Path.Combine(dir, "cgroup.controllers"))
            ? File.ReadAllText(System.IO.Path.Combine(dir, "cgroup.controllers")) : "";
        foreach (var c in controllers)
        {
            if (c is "cgroup")
            {
                continue;
            }
            if (!available.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(c))
            {
                throw SkiffException.Unavailable($"the {c} controller is not available in {dir} (not delegated to this cgroup)");
            }
            try
            {
                File.WriteAllText(System.IO.Path.Combine(dir, "cgroup.subtree_control"), "+" + c);
            }
            catch (IOException)
            {
                // already enabled, or processes in the parent: the write below will say what is wrong
            }
        }
    }

    public int OpenForClone()
    {
        int fd = Interop.Libc.open(Dir, 0x10000 /* O_DIRECTORY */ | Interop.Libc.O_CLOEXEC);
        return fd < 0 ? -1 : fd;
    }

    public void AddProcess(int pid) =>
        CgroupFiles.Write(System.IO.Path.Combine(Dir, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    public void Update(Resources resources)
    {
        foreach (var (file, value) in CgroupResources.V2(resources))
        {
            CgroupFiles.Write(System.IO.Path.Combine(Dir, file), value);
        }
        if (resources.Devices is { Count: > 0 } devices)
        {
            DeviceFilter.Attach(Dir, DeviceFilter.Compile([.. devices, .. DeviceFilter.Defaults]));
        }
    }

    public void Freeze(bool frozen)
    {
        CgroupFiles.Write(System.IO.Path.Combine(Dir, "cgroup.freeze"), frozen ? "1" : "0");
        for (int i = 0; i < 1000 && IsFrozen() != frozen; i++)
        {
            Thread.Sleep(1);
        }
    }

    public bool IsFrozen()
    {
        string events = System.IO.Path.Combine(Dir, "cgroup.events");
        return File.Exists(events) && File.ReadAllLines(events).Contains("frozen 1");
    }

    public IReadOnlyList<int> Processes() => CgroupFiles.ReadPids(System.IO.Path.Combine(Dir, "cgroup.procs"));

    public void Destroy() => CgroupFiles.RemoveDirectory(Dir);
}
