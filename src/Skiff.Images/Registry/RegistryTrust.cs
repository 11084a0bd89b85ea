using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Skiff.Images.Registry;

/// <summary>
/// What a registry's HTTPS trusts, as Docker does it: the system's CAs plus the *.crt of the
/// registry's certs.d, its NAME.cert/NAME.key as client certificates, and no verification at
/// all for an insecure registry. Made only when a registry is contacted; the verdict on a
/// rejected certificate is kept so the error can say why and what to do.
/// </summary>
public sealed class RegistryTrust
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    private readonly RegistryEndpoint _endpoint;
    private readonly X509Certificate2Collection _extraRoots;
    private readonly X509Certificate2Collection _clientCertificates;
    private Rejection? _rejection;
    private int _peerSpokeTls;

    private RegistryTrust(RegistryEndpoint endpoint, CertsDirectory? certs, X509Certificate2Collection extraRoots, X509Certificate2Collection clients)
    {
        _endpoint = endpoint;
        Certs = certs;
        _extraRoots = extraRoots;
        _clientCertificates = clients;
    }

    /// <summary>A certificate this trust refused: the host it came from and why, in Go's x509 words.</summary>
    public sealed record Rejection(string Host, string Reason, bool UnknownAuthority);

    /// <summary>The certs.d directory in use, if any.</summary>
    public CertsDirectory? Certs { get; }

    public Rejection? LastRejection => Volatile.Read(ref _rejection);

    /// <summary>Some server presented a certificate: whatever failed after, the peer speaks TLS (no plain-HTTP fallback).</summary>
    public bool PeerSpokeTls => Volatile.Read(ref _peerSpokeTls) != 0;

    /// <summary>
    /// The trust for an endpoint: certDirectory (Podman's --cert-dir) when given, else the
    /// registry's directory under the certs.d roots.
    /// </summary>
    public static RegistryTrust For(RegistryEndpoint endpoint, string? certDirectory = null, Func<string, string?>? env = null)
    {
        CertsDirectory? certs;
        if (certDirectory is not null)
        {
            certs = CertsDirectory.Read(certDirectory) ?? throw SkiffException.Invalid($"the certificate directory {certDirectory} does not exist");
        }
        else
        {
            string? dir = CertsDirectory.Find(endpoint.Host, CertsDirectory.Roots(env ?? Environment.GetEnvironmentVariable));
            certs = dir is null ? null : CertsDirectory.Read(dir);
        }
        var roots = new X509Certificate2Collection();
        var clients = new X509Certificate2Collection();
        foreach (var file in certs?.CaFiles ?? [])
        {
            roots.AddRange(LoadCertificates(file));
        }
        foreach (var pair in certs?.ClientCertificates ?? [])
        {
            clients.Add(LoadClientCertificate(pair));
        }
        return new RegistryTrust(endpoint, certs, roots, clients);
    }

    /// <summary>A .crt: PEM (any number of certificates) or one DER certificate.</summary>
    public static X509Certificate2Collection LoadCertificates(string path)
    {
        var result = new X509Certificate2Collection();
        try
        {
            result.ImportFromPemFile(path);
            if (result.Count == 0)
            {
                result.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
        }
        catch (CryptographicException)
        {
            throw SkiffException.Invalid($"{path} holds no certificate (a CA file must be PEM or DER)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SkiffException.Invalid($"cannot read the CA certificate {path}: {e.Message}");
        }
        return result;
    }

    private static X509Certificate2 LoadClientCertificate(ClientCertificateFiles pair)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(pair.Certificate, pair.Key);
        }
        catch (CryptographicException e)
        {
            throw SkiffException.Invalid($"the client certificate {pair.Certificate} with key {pair.Key} does not load: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SkiffException.Invalid($"cannot read the client certificate {pair.Certificate} or its key: {e.Message}");
        }
    }

    public int ClientCertificateCount => _clientCertificates.Count;

    public SslClientAuthenticationOptions Options() => new()
    {
        RemoteCertificateValidationCallback = Validate,
        ClientCertificates = _clientCertificates.Count > 0 ? _clientCertificates : null,
    };

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        Volatile.Write(ref _peerSpokeTls, 1);
        if (_endpoint.Tls == TlsPolicy.SkipVerifyOrPlainHttp)
        {
            return true;
        }
        string host = (sender as SslStream)?.TargetHostName is { Length: > 0 } h ? h : _endpoint.Host;
        var rejection = Verdict(certificate as X509Certificate2, chain, errors, _extraRoots, host);
        if (rejection is null)
        {
            return true;
        }
        Volatile.Write(ref _rejection, rejection);
        return false;
    }

    /// <summary>
    /// Null when the certificate is trusted: the system's verdict, else a chain built again to
    /// the certs.d CAs; otherwise why not. The host name is checked either way.
    /// </summary>
    public static Rejection? Verdict(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection extraRoots, string host)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return new Rejection(host, "the server sent no certificate", false);
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return new Rejection(host, NameMismatch(certificate, host), false);
        }
        if (!errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            return null;
        }
        if (extraRoots.Count == 0)
        {
            return ChainRejection(host, chain?.ChainStatus ?? []);
        }
        using var custom = new X509Chain();
        var policy = custom.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(extraRoots);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.ApplicationPolicy.Add(ServerAuth);
        if (chain is not null)
        {
            // The intermediates the server sent.
            policy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements)
            {
                policy.ExtraStore.Add(element.Certificate);
            }
        }
        return custom.Build(certificate) ? null : ChainRejection(host, custom.ChainStatus);
    }

    private static Rejection ChainRejection(string host, X509ChainStatus[] status)
    {
        X509ChainStatusFlags flags = 0;
        foreach (var s in status)
        {
            flags |= s.Status;
        }
        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
        {
            return new Rejection(host, "x509: certificate has expired or is not yet valid", false);
        }
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0 || flags == 0)
        {
            return new Rejection(host, "x509: certificate signed by unknown authority", true);
        }
        if ((flags & (X509ChainStatusFlags.NotValidForUsage | X509ChainStatusFlags.InvalidExtension)) != 0)
        {
            return new Rejection(host, "x509: certificate specifies an incompatible key usage", false);
        }
        if (flags.HasFlag(X509ChainStatusFlags.Revoked))
        {
            return new Rejection(host, "x509: certificate has been revoked", false);
        }
        string detail = string.Join("; ", status.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return new Rejection(host, "x509: " + (detail.Length > 0 ? detail : flags.ToString()), false);
    }

    /// <summary>Go's wording: "x509: certificate is valid for a, b, not c".</summary>
    private static string NameMismatch(X509Certificate2 certificate, string host)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }
            var san = extension as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
            names.AddRange(san.EnumerateDnsNames());
            names.AddRange(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
        }
        return names.Count == 0
            ? $"x509: certificate is not valid for {host}: it names no host (no subject alternative names)"
            : $"x509: certificate is valid for {string.Join(", ", names)}, not {host}";
    }

    /// <summary>
    /// After a TLS alert about certificates once the server's own was fine: it wants a client
    /// certificate we did not send, or refused the one we did. Empty for other alerts.
    /// </summary>
    public string ClientCertificateHint(string alert)
    {
        if (!PeerSpokeTls || !alert.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            return "";
        }
        return _clientCertificates.Count == 0
            ? $"; the registry wants a client certificate: put it in {Certs?.Path ?? CertsDirectory.DockerRoot + "/" + _endpoint.Host} as NAME.cert, with its key as NAME.key"
            : $"; the registry refused the client certificate of {Certs?.Path}";
    }

    /// <summary>True when an exception is this trust refusing a certificate.</summary>
    public bool Refused(Exception e)
    {
        if (LastRejection is null)
        {
            return false;
        }
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The error for a refused certificate: the registry, Go's reason, and the two ways out.</summary>
    public SkiffException Failure(string registry)
    {
        var r = LastRejection ?? throw new InvalidOperationException("no certificate was refused");
        string of = SameHost(r.Host) ? "" : $" of {r.Host}";
        string insecure = $"mark the registry insecure (--tls-verify=false, or insecure = [\"{registry}\"] in registries.conf)";
        string advice = !r.UnknownAuthority ? insecure
            : Certs is null ? $"put its CA in {CertsDirectory.DockerRoot}/{_endpoint.Host}/ca.crt, or {insecure}"
            : $"no CA in {Certs.Path} signed it: put the right one there as ca.crt, or {insecure}";
        return SkiffException.Unavailable($"registry {registry}: tls: failed to verify certificate{of}: {r.Reason}; {advice}");
    }

    private bool SameHost(string host)
    {
        string mine = _endpoint.BaseUri.Host;
        return host.Equals(mine, StringComparison.OrdinalIgnoreCase) || host.Equals(mine.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);
    }
}
