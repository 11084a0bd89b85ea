using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff create: a container, made and named, not started.</summary>
public static class CreateCommand
{
    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(ContainerFlags.Table, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", ContainerFlags.Table));
            return 0;
        }
        var pc = ContainerFlags.Parse(p, Environment.GetEnvironmentVariable);
        var def = ContainerDefinitions.Define(context, pc);
        ContainerCreation.Store(ContainerTargets.Store(context), def);
        WriteCidFile(pc.CidFile, def.Id);
        Console.Out.WriteLine(def.Id);
        return 0;
    }

    /// <summary>--cidfile: Docker refuses an existing file.</summary>
    public static void WriteCidFile(string? path, string id)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            f.Write(System.Text.Encoding.ASCII.GetBytes(id));
        }
        catch (IOException) when (File.Exists(path))
        {
            throw SkiffException.Invalid($"container ID file found, make sure the other container isn't running or delete {path}");
        }
    }
}
