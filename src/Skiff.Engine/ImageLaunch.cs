using Skiff.Images;

namespace Skiff.Engine;

/// <summary>What `run` was asked beyond the image: the flags that override the image's defaults.</summary>
public sealed record RunOverrides
{
    /// <summary>The command after the image name; empty means the image's Cmd.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    /// <summary>--entrypoint; "" clears the image's.</summary>
    public string? Entrypoint { get; init; }
    /// <summary>-e, after the image's Env (later entries win).</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
}

/// <summary>The process of a container from an image: Docker's rules for Entrypoint, Cmd, Env, WorkingDir and User.</summary>
public sealed record ImageProcess(IReadOnlyList<string> Layers, IReadOnlyList<string> Args, IReadOnlyList<string> Env, string WorkingDir, string? User);

public static class ImageLaunch
{
    public static ImageProcess Resolve(LaunchRecord image, RunOverrides o, string imageName)
    {
        IReadOnlyList<string> entrypoint = o.Entrypoint switch
        {
            null => image.Entrypoint ?? [],
            "" => [],
            var e => [e],
        };
        // --entrypoint resets the image's Cmd, as in Docker.
        IReadOnlyList<string> cmd = o.Command.Count > 0 ? o.Command : o.Entrypoint is null ? image.Cmd ?? [] : [];
        var args = entrypoint.Concat(cmd).ToList();
        if (args.Count == 0)
        {
            throw SkiffException.Invalid($"no command specified: image {imageName} has no Cmd or Entrypoint; give one after the image name");
        }
        var env = new List<string>(image.Env ?? []);
        env.AddRange(o.Env);
        string workdir = o.WorkingDir ?? image.WorkingDir ?? "/";
        if (!workdir.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{workdir}' is invalid, it needs to be an absolute path");
        }
        return new ImageProcess(image.Layers, args, env, workdir, o.User ?? image.User);
    }
}
