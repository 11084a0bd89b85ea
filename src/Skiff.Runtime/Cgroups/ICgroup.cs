using Skiff.Oci;

namespace Skiff.Runtime.Cgroups;

/// <summary>
/// A container's cgroup behind one interface: v1 (rootful, legacy and hybrid hosts), v2
/// (a delegated subtree), or none. Tests use a recording fake.
/// </summary>
public interface ICgroup
{
    /// <summary>What is shown to users: the path under the hierarchy root.</summary>
    string Path { get; }
    /// <summary>Makes the cgroup and applies the resource limits.</summary>
    void Create(Resources? resources);
    /// <summary>An fd for CLONE_INTO_CGROUP (v2), or -1 when the child must be moved with AddProcess.</summary>
    int OpenForClone();
    void AddProcess(int pid);
    void Update(Resources resources);
    void Freeze(bool frozen);
    bool IsFrozen();
    IReadOnlyList<int> Processes();
    /// <summary>Removes the cgroup; processes must be gone. Missing is fine.</summary>
    void Destroy();
}

/// <summary>No cgroup: rootless without delegation. Limits are refused with what is missing.</summary>
public sealed class NoCgroup(string why) : ICgroup
{
    public string Path => "";
    public string Why => why;

    public void Create(Resources? resources)
    {
        if (CgroupResources.Any(resources))
        {
            throw SkiffException.Unavailable($"cannot apply resource limits: {why}");
        }
    }

    public int OpenForClone() => -1;
    public void AddProcess(int pid) { }
    public void Update(Resources resources) => throw SkiffException.Unavailable($"cannot update resources: {why}");
    public void Freeze(bool frozen) => throw SkiffException.Unavailable($"cannot pause or resume: {why}");
    public bool IsFrozen() => false;
    public IReadOnlyList<int> Processes() => [];
    public void Destroy() { }
}
