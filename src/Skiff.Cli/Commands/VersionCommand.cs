using System.Reflection;

namespace Skiff.Cli.Commands;

/// <summary>skiff version: version and commit, stamped in at build time by build.sh.</summary>
public static class VersionCommand
{
    public static string Version => Informational.Split('+')[0];

    public static string Commit => Informational.Contains('+') ? Informational.Split('+')[1] : "unknown";

    private static string Informational =>
        typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static int Short()
    {
        Console.Out.WriteLine($"skiff version {Version}, build {Commit}");
        return 0;
    }

    public static int Execute(string[] args)
    {
        if (args.Length > 0 && args[0] is "--help" or "-h")
        {
            Console.Out.WriteLine("\nUsage:  skiff version\n\nShow the skiff version information");
            return 0;
        }
        if (args.Length > 0)
        {
            throw new CommandLine.UsageException($"\"skiff version\" accepts no arguments");
        }
        Console.Out.Write($"""
            Version:     {Version}
            Commit:      {Commit}
            Runtime:     .NET {Environment.Version} (Native AOT)
            OS/Arch:     linux/{(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64 ? "amd64" : "arm64")}

            """);
        return 0;
    }
}
