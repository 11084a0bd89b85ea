using Skiff.Cli.CommandLine;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>The flags pull, push and login share, and what they decide.</summary>
public static class RegistryFlags
{
    public static readonly FlagSpec TlsVerify =
        FlagSpec.Bool("tls-verify", FlagSpec.NoShort, "Require HTTPS and verify certificates (default true; plain HTTP when false)");

    public static readonly FlagSpec AuthFile =
        FlagSpec.Value("authfile", FlagSpec.NoShort, "string", "Path of the authentication file");

    /// <summary>An explicit --tls-verify wins; otherwise registries.conf says whether the registry is insecure.</summary>
    public static RegistryEndpoint Endpoint(ParsedArgs p, string registry) =>
        RegistryEndpoint.For(registry, p.Has("tls-verify") ? p.Bool("tls-verify") : !RegistriesConfig.IsInsecure(registry));
}
