using Skiff.Cli.CommandLine;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>skiff push: a stored image to the registry its name points at.</summary>
public static class PushCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("quiet", 'q', "Suppress the progress output, print only the manifest digest"),
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
            Console.Out.Write(HelpText.For("skiff push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", Flags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff push\" requires exactly 1 argument: NAME[:TAG]");
        }
        var target = ImageReference.Parse(p.Positionals[0]);
        if (target.Digest is not null)
        {
            throw SkiffException.Invalid($"cannot push to a digest reference: {target.Familiar}");
        }
        bool quiet = p.Bool("quiet");
        var store = ImageStores.ForReading(context);
        var image = store.Resolve(p.Positionals[0]);
        var credentials = RegistryCredentials.Default(p.Value("authfile"));
        using var client = RegistryFlags.Client(p, target.Registry, credentials.Find(target.Registry));
        var view = new TransferProgressView(quiet, Console.Out);
        var digest = RegistryClient.Run(target.Registry, () => new ImagePush(store, client, view).PushAsync(image, target, CancellationToken.None));
        if (quiet)
        {
            Console.Out.WriteLine(digest.ToString());
        }
        return 0;
    }
}
