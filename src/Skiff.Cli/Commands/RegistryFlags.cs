using Skiff.Cli.CommandLine;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>The flags pull, push and login share, and what they decide.</summary>
public static class RegistryFlags
{
    public static readonly FlagSpec TlsVerify =
        FlagSpec.Bool("tls-verify", FlagSpec.NoShort, "Require HTTPS and verify certificates (false: HTTPS without verification, then plain HTTP)");

    public static readonly FlagSpec CertDir =
        FlagSpec.Value("cert-dir", FlagSpec.NoShort, "string", "Use the certificates in this directory (*.crt CAs, *.cert/*.key client pairs) instead of certs.d");

    public static readonly FlagSpec AuthFile =
        FlagSpec.Value("authfile", FlagSpec.NoShort, "string", "Path of the authentication file");

    /// <summary>An explicit --tls-verify wins; otherwise registries.conf says whether the registry is insecure.</summary>
    public static RegistryEndpoint Endpoint(ParsedArgs p, string registry) =>
        RegistryEndpoint.Configured(registry, p.Has("tls-verify") ? p.Bool("tls-verify") : null);

    /// <summary>The client pull, push and login use: the endpoint, the credential, and --cert-dir when given.</summary>
    public static RegistryClient Client(ParsedArgs p, string registry, Credential? credential) =>
        new(Endpoint(p, registry), credential, p.Value("cert-dir"));
}
