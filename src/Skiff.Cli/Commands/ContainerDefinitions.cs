using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>create and run: the parsed flags against the image (pulled when missing, as Docker does) → a definition.</summary>
public static class ContainerDefinitions
{
    public static ContainerDefinition Define(CliContext context, ParsedContainer pc)
    {
        var config = pc.Config;
        config.Cmd = pc.Command.Count > 0 ? pc.Command : config.Cmd;
        ContainerDefinition def;
        if (pc.Rootfs is { } rootfs)
        {
            if (pc.Command.Count == 0 && config.Entrypoint is not { Count: > 0 })
            {
                throw new UsageException("\"skiff run\" requires a command to run in the container");
            }
            rootfs = RootFilesystem.Validate(rootfs);
            def = ContainerCreation.FromRootfs(rootfs, config, pc.HostConfig, pc.Name,
                RootFilesystem.ReadEtc(rootfs, "passwd"), RootFilesystem.ReadEtc(rootfs, "group"));
        }
        else
        {
            config.Image = pc.Image;
            def = ContainerCreation.FromImage(ImageFor(context, pc), config, pc.HostConfig, pc.Name);
        }
        if (pc.Mounts.Count > 0)
        {
            var volumes = new VolumeStore(context.Paths.Root);
            def.MountPoints = UserMounts.Prepare(pc.Mounts, volumes, def.Layers);
        }
        return def;
    }

    /// <summary>The image store, after a pull when the image is missing (--pull missing) or always.</summary>
    private static ImageStore ImageFor(CliContext context, ParsedContainer pc)
    {
        var store = ImageStores.ForReading(context);
        bool present = true;
        try
        {
            store.Resolve(pc.Image);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            present = false;
        }
        if (pc.Pull == "never" && !present)
        {
            throw SkiffException.NotFound($"No such image: {pc.Image}");
        }
        if (pc.Pull == "always" || !present)
        {
            if (!present)
            {
                Console.Error.WriteLine($"Unable to find image '{ImageReference.Parse(pc.Image).Familiar}' locally");
            }
            // Pull progress goes to stderr: stdout is the container's.
            var stdout = Console.Out;
            Console.SetOut(Console.Error);
            try
            {
                int rc = ImageVerb.Guard(() => PullCommand.Execute(context, pc.Quiet ? ["-q", pc.Image] : [pc.Image]));
                if (rc != 0)
                {
                    throw SkiffException.NotFound($"pulling {pc.Image} failed");
                }
            }
            finally
            {
                Console.SetOut(stdout);
            }
            store = ImageStores.ForReading(context);
        }
        return store;
    }
}
