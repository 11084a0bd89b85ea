using Skiff.Runtime.Supervision;

namespace Skiff.Engine.Containers;

/// <summary>DIR/state.json for the store: a container without one is no container.</summary>
public static class StateFile
{
    public static ContainerState Read(string dir) =>
        ContainerStateFile.Read(dir) ?? throw ContainerStore.NoSuchContainer(Path.GetFileName(dir));

    /// <summary>Written under DIR/lock, the supervisor's lock (the caller may hold it already: flock is per open file).</summary>
    public static void Write(string dir, ContainerState state) => ContainerStateFile.WriteLocked(dir, state);
}
