using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Oci;
using Skiff.Runtime;

namespace Skiff.Tests.Containers;

/// <summary>Definitions and contexts for the spec tests: a busybox-like container, root or rootless.</summary>
public static class SpecFixture
{
    public const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static readonly IdMapping Rootless = new(IdMapMode.Subordinate,
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)], [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)]);

    public static readonly IdMapping RootlessSingle = new(IdMapMode.Single, [new IdRange(0, 1000, 1)], [new IdRange(0, 1000, 1)]);

    public static ContainerDefinition Def(Action<ContainerDefinition>? change = null)
    {
        var def = new ContainerDefinition
        {
            Id = Id,
            Name = "box",
            Path = "sh",
            Args = ["-c", "true"],
            Layers = ["/layers/top", "/layers/base"],
            Config = new ContainerConfig { Env = ["PATH=/usr/bin:/bin", "A=1"], Image = "busybox" },
            HostConfig = new HostConfig { NetworkMode = "none" },
        };
        change?.Invoke(def);
        return def;
    }

    public static SpecContext Ctx(IdMapping? mapping = null, ContainerUser? user = null, Func<SpecContext, SpecContext>? change = null)
    {
        var ctx = new SpecContext
        {
            Dir = new ContainerDirectory("/var/lib/skiff/containers/" + Id),
            Mapping = mapping ?? IdMapping.Host,
            User = user ?? new ContainerUser(0, 0, [0], "/root"),
            Cgroups = CgroupVersion.Hybrid,
            HostsPath = "", HostnamePath = "", ResolvConfPath = "",
        };
        return change is null ? ctx : change(ctx);
    }

    public static RuntimeSpec Build(Action<ContainerDefinition>? def = null, SpecContext? ctx = null) =>
        SpecBuilder.Build(Def(def), ctx ?? Ctx());

    public static Mount MountAt(RuntimeSpec spec, string destination) => spec.Mounts!.Single(m => m.Destination == destination);
}
