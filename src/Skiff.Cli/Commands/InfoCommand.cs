using System.Text.Json;
using System.Text.Json.Serialization;
using Skiff.Linux;

namespace Skiff.Cli.Commands;

public sealed record InfoReport(
    string Version,
    string Commit,
    string Kernel,
    bool Rootless,
    uint Uid,
    string IdMapMode,
    string IdMapping,
    string? IdMappingWarning,
    string UserNamespace,
    string Cgroups,
    string StorageRoot,
    IReadOnlyList<KernelFeature> Features);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(InfoReport))]
internal sealed partial class InfoJson : JsonSerializerContext;

/// <summary>skiff info: the host as skiff sees it, and a real probe of each kernel feature.</summary>
public static class InfoCommand
{
    private static readonly CommandLine.FlagSpec[] Flags =
    [
        CommandLine.FlagSpec.Value("format", 'f', "string", "Output format: json"),
        CommandLine.FlagSpec.Bool("help", CommandLine.FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = CommandLine.FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff info [OPTIONS]", "Display system-wide information", Flags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            throw new CommandLine.UsageException("\"skiff info\" accepts no arguments");
        }
        string? format = p.Value("format");
        if (format is not null and not "json" and not "{{json .}}")
        {
            throw SkiffException.Invalid($"unknown format \"{format}\": use --format json");
        }

        var ids = IdMappingResolver.ForCurrentUser();
        string scratch = Path.Combine(Path.GetTempPath(), $"skiff-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var report = new InfoReport(
            VersionCommand.Version,
            VersionCommand.Commit,
            KernelProbe.KernelRelease(),
            !context.IsRoot,
            ids.Mapping.Joined ? ids.Mapping.Uids[0].HostId : Interop.Libc.geteuid(),
            ids.Mapping.Mode.ToString().ToLowerInvariant(),
            ids.Mapping.Describe(),
            ids.Warning,
            UserNamespaceReport(context),
            CgroupLayout.Describe(CgroupLayout.Detect(ReadOrNull("/proc/self/mountinfo"))),
            context.Paths.Root,
            KernelProbe.Run(scratch));

        if (format is not null)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(report, InfoJson.Default.InfoReport));
            return 0;
        }
        Console.Out.WriteLine($"Version:        {report.Version} (commit {report.Commit})");
        Console.Out.WriteLine($"Kernel:         {report.Kernel}");
        Console.Out.WriteLine($"Mode:           {(report.Rootless ? $"rootless (uid {report.Uid})" : "rootful")}");
        Console.Out.WriteLine($"Id mapping:     {report.IdMapping}");
        if (report.IdMappingWarning is not null)
        {
            Console.Out.WriteLine($"                warning: {report.IdMappingWarning}");
        }
        Console.Out.WriteLine($"User namespace: {report.UserNamespace}");
        Console.Out.WriteLine($"Cgroups:        {report.Cgroups}");
        Console.Out.WriteLine($"Storage root:   {report.StorageRoot}");
        Console.Out.WriteLine("Kernel features:");
        foreach (var f in report.Features)
        {
            Console.Out.WriteLine($"  {(f.Available ? "ok     " : "MISSING")}  {f.Name}{(f.Available ? "" : ": " + f.Message)}");
        }
        return 0;
    }

    private static string UserNamespaceReport(CliContext context)
    {
        if (context.IsRoot)
        {
            return "none (rootful)";
        }
        int joined = UserNamespaceKeeper.Joined;
        if (joined > 0)
        {
            return $"joined the keeper (pid {joined}, {UserNamespaceKeeper.PidFile})";
        }
        return "one per container (no keeper yet; the next skiff run starts one)";
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
