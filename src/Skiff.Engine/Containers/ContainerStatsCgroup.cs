using Skiff.Linux;
using Skiff.Runtime.Cgroups;

namespace Skiff.Engine.Containers;

/// <summary>
/// The cgroup of a running container, named as the run path names it (ContainerCgroup),
/// and trusted only when the container's main process is really in it: a container
/// started without one (rootless on this host) has none, and says why.
/// </summary>
public static class RunningCgroup
{
    public static ICgroup? Find(ContainerDefinition def, ContainerState state, out string why)
    {
        ICgroup cgroup;
        try
        {
            bool rootless = IdMappingResolver.ForCurrentUser().Mapping.Mode != IdMapMode.Host;
            cgroup = ContainerCgroup.For(def, rootless);
        }
        catch (SkiffException e)
        {
            why = e.Message;
            return null;
        }
        if (cgroup is NoCgroup none)
        {
            why = none.Why;
            return null;
        }
        try
        {
            if (state.Pid > 0 && cgroup.Processes().Contains(state.Pid))
            {
                why = "";
                return cgroup;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        why = $"the container's processes are not in a cgroup of their own ({cgroup.Path} does not hold them)";
        return null;
    }

    /// <summary>The directory of one controller (v1) or of the cgroup (v2) on this host.</summary>
    public static string? Directory(ICgroup cgroup, string controller) => cgroup switch
    {
        CgroupV2 v2 => ContainerCgroup.CgroupRoot + v2.Path,
        CgroupV1 v1 => V1Mounts().TryGetValue(controller, out var mount) ? mount + v1.Path : null,
        _ => null,
    };

    private static Dictionary<string, string>? _v1Mounts;

    private static Dictionary<string, string> V1Mounts() =>
        _v1Mounts ??= CgroupFactory.V1Hierarchies(ProcFile.ReadAllText("/proc/self/mountinfo"));
}
