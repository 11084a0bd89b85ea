using Skiff.Cli.CommandLine;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>skiff pull: an image from a registry into the store, by tag or digest.</summary>
public static class PullCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("quiet", 'q', "Suppress the progress output, print only the image ID"),
        FlagSpec.Value("platform", FlagSpec.NoShort, "string", "Pull the image for this platform (default linux/amd64)"),
        RegistryFlags.TlsVerify,
        RegistryFlags.CertDir,
        RegistryFlags.AuthFile,
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", Flags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff pull\" requires exactly 1 argument: NAME[:TAG|@DIGEST]");
        }
        var reference = ImageReference.Parse(p.Positionals[0]);
        string platform = p.Value("platform") ?? "linux/amd64";
        bool quiet = p.Bool("quiet");
        var store = ImageStores.ForWriting(context);
        var credentials = RegistryCredentials.Default(p.Value("authfile"));
        using var client = RegistryFlags.Client(p, reference.Registry, credentials.Find(reference.Registry));
        var view = new TransferProgressView(quiet, Console.Out);
        var pull = new ImagePull(store, client, view);
        var image = RegistryClient.Run(reference.Registry, () => pull.PullAsync(reference, platform, CancellationToken.None));
        if (quiet)
        {
            Console.Out.WriteLine(image.Id);
        }
        else
        {
            view.Message(pull.Status(reference));
            view.Message(reference.ToString());
        }
        return 0;
    }
}
