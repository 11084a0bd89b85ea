namespace Skiff.Runtime;

/// <summary>A container's own directory: its writable layer and the mount point of its root.</summary>
public sealed record ContainerDirectory(string Path)
{
    public string Upper => System.IO.Path.Combine(Path, "upper");
    public string Work => System.IO.Path.Combine(Path, "work");
    public string RootFs => System.IO.Path.Combine(Path, "rootfs");
}
