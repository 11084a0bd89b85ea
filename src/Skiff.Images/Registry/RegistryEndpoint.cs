using System.Net;

namespace Skiff.Images.Registry;

/// <summary>
/// Where a registry name is reached: docker.io is registry-1.docker.io; localhost and
/// 127.0.0.0/8 (and registries marked insecure) speak plain HTTP, others HTTPS.
/// </summary>
public sealed record RegistryEndpoint(string Registry, Uri BaseUri)
{
    public static RegistryEndpoint For(string registry, bool tlsVerify = true)
    {
        string host = registry == ImageReference.DockerHub ? "registry-1.docker.io" : registry;
        string scheme = !tlsVerify || IsLoopback(host) ? "http" : "https";
        return new RegistryEndpoint(registry, new Uri($"{scheme}://{host}/"));
    }

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
