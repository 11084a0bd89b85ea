using System.Net;

namespace Skiff.Images.Registry;

/// <summary>How a registry's TLS is treated: Docker's secure and insecure registries, plus skiff's loopback default.</summary>
public enum TlsPolicy
{
    /// <summary>HTTPS only, the certificate verified against the system's CAs and the registry's certs.d.</summary>
    Verify,

    /// <summary>Loopback: verified HTTPS, or plain HTTP when nothing there speaks TLS (a bad certificate is never let through).</summary>
    VerifyOrPlainHttp,

    /// <summary>Docker's insecure-registries and Podman's --tls-verify=false: HTTPS without verification, then plain HTTP.</summary>
    SkipVerifyOrPlainHttp,
}

/// <summary>
/// Where a registry name is reached: docker.io is registry-1.docker.io; HTTPS first, and
/// plain HTTP only when the policy allows it and the HTTPS probe found no TLS there.
/// </summary>
public sealed record RegistryEndpoint(string Registry, string Host, TlsPolicy Tls, bool PlainHttp = false)
{
    public const string DockerHubHost = "registry-1.docker.io";

    /// <summary>The endpoint with a policy decided already (tests, and callers that read no configuration).</summary>
    public static RegistryEndpoint For(string registry, TlsPolicy? tls = null)
    {
        string host = registry == ImageReference.DockerHub ? DockerHubHost : registry;
        return new RegistryEndpoint(registry, host, tls ?? PolicyFor(registry, tlsVerify: null, listedInsecure: false));
    }

    /// <summary>The endpoint as the verbs see it: an explicit --tls-verify, else registries.conf's insecure list, else loopback or not.</summary>
    public static RegistryEndpoint Configured(string registry, bool? tlsVerify = null) =>
        For(registry, PolicyFor(registry, tlsVerify, tlsVerify is null && RegistriesConfig.IsInsecure(registry)));

    /// <summary>
    /// --tls-verify=true means verified HTTPS even on loopback (Podman's meaning), false means
    /// insecure; without the flag a registry listed insecure is insecure, loopback may be plain HTTP.
    /// </summary>
    public static TlsPolicy PolicyFor(string registry, bool? tlsVerify, bool listedInsecure) => tlsVerify switch
    {
        true => TlsPolicy.Verify,
        false => TlsPolicy.SkipVerifyOrPlainHttp,
        null when listedInsecure => TlsPolicy.SkipVerifyOrPlainHttp,
        null => IsLoopback(registry) ? TlsPolicy.VerifyOrPlainHttp : TlsPolicy.Verify,
    };

    /// <summary>localhost[:port], 127.x.y.z[:port] and [::1][:port].</summary>
    public static bool IsLoopback(string host)
    {
        string name = host;
        if (name.StartsWith('['))
        {
            int close = name.IndexOf(']');
            name = close > 0 ? name[1..close] : name;
        }
        else
        {
            int colon = name.LastIndexOf(':');
            if (colon > 0)
            {
                name = name[..colon];
            }
        }
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return IPAddress.TryParse(name, out var ip) && IPAddress.IsLoopback(ip);
    }

    public bool MayUsePlainHttp => Tls != TlsPolicy.Verify;

    public Uri BaseUri => new($"{(PlainHttp ? "http" : "https")}://{Host}/");

    public Uri Ping => new(BaseUri, "v2/");

    public Uri Manifest(string repository, string reference) => new(BaseUri, $"v2/{repository}/manifests/{reference}");

    public Uri Blob(string repository, Digest digest) => new(BaseUri, $"v2/{repository}/blobs/{digest}");

    public Uri Uploads(string repository) => new(BaseUri, $"v2/{repository}/blobs/uploads/");

    /// <summary>The upload URL a registry handed back (maybe relative), with ?digest= added for the final PUT.</summary>
    public Uri FinishUpload(string location, Digest digest)
    {
        var u = new Uri(BaseUri, location);
        string sep = string.IsNullOrEmpty(u.Query) ? "?" : "&";
        return new Uri(u.AbsoluteUri + sep + "digest=" + Uri.EscapeDataString(digest.ToString()));
    }

    /// <summary>The reference part of a manifest URL: the digest when there is one, else the tag.</summary>
    public static string ReferenceOf(ImageReference r) => r.Digest?.ToString() ?? r.Tag ?? "latest";
}
