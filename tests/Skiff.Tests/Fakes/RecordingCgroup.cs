using Skiff.Oci;
using Skiff.Runtime.Cgroups;

namespace Skiff.Tests.Fakes;

/// <summary>ICgroup that records what was asked of it.</summary>
public sealed class RecordingCgroup(string path = "/skiff/test") : ICgroup
{
    public List<string> Calls { get; } = [];
    public bool Frozen { get; set; }

    public string Path => path;
    public void Create(Resources? resources) => Calls.Add($"create pids={resources?.Pids?.Limit}");
    public int OpenForClone() => -1;
    public void AddProcess(int pid) => Calls.Add($"add {pid}");
    public void Update(Resources resources) => Calls.Add($"update pids={resources.Pids?.Limit}");
    public void Freeze(bool frozen) => Calls.Add($"freeze {frozen}");
    public bool IsFrozen() => Frozen;
    public IReadOnlyList<int> Processes() => [];
    public void Destroy() => Calls.Add("destroy");
}
