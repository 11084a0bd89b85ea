namespace Skiff.Images.Registry;

/// <summary>A client certificate of a certs.d directory: NAME.cert and the NAME.key that goes with it.</summary>
public sealed record ClientCertificateFiles(string Certificate, string Key);

/// <summary>
/// A registry's certs.d directory, read as Docker and containers/image read it: every
/// *.crt is an extra CA for that registry (on top of the system's), NAME.cert with
/// NAME.key is a client certificate for mutual TLS; other files are ignored.
/// </summary>
public sealed record CertsDirectory(string Path, IReadOnlyList<string> CaFiles, IReadOnlyList<ClientCertificateFiles> ClientCertificates)
{
    public const string ContainersRoot = "/etc/containers/certs.d";
    public const string DockerRoot = "/etc/docker/certs.d";

    /// <summary>
    /// The certs.d roots, searched in containers/image's order: the user's
    /// ($XDG_CONFIG_HOME or ~/.config)/containers/certs.d, then /etc/containers/certs.d,
    /// then Docker's /etc/docker/certs.d. The user's root is searched as root too (Podman
    /// only does rootless): it is the same user's own configuration either way.
    /// </summary>
    public static IEnumerable<string> Roots(Func<string, string?> env)
    {
        string? xdg = env("XDG_CONFIG_HOME");
        string? home = env("HOME");
        if (!string.IsNullOrEmpty(xdg))
        {
            yield return System.IO.Path.Combine(xdg, "containers", "certs.d");
        }
        else if (!string.IsNullOrEmpty(home))
        {
            yield return System.IO.Path.Combine(home, ".config", "containers", "certs.d");
        }
        yield return ContainersRoot;
        yield return DockerRoot;
    }

    /// <summary>The first root with a directory named after the host (HOST[:PORT]): only that one is used, as in containers/image.</summary>
    public static string? Find(string host, IEnumerable<string> roots)
    {
        foreach (var root in roots)
        {
            // Directory.Exists is false for a directory we may not enter (a rootless user and a 0700 /etc one): skipped, as Podman does.
            string dir = System.IO.Path.Combine(root, host);
            if (Directory.Exists(dir))
            {
                return dir;
            }
        }
        return null;
    }

    /// <summary>Lists and parses a directory; a missing directory is none.</summary>
    public static CertsDirectory? Read(string dir)
    {
        string[] names;
        try
        {
            names = Directory.GetFiles(dir).Select(p => System.IO.Path.GetFileName(p)).ToArray();
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SkiffException.Invalid($"cannot read the certificate directory {dir}: {e.Message}");
        }
        return Parse(dir, names);
    }

    /// <summary>
    /// Which files count, with Docker's checks: a NAME.cert without NAME.key, or a key without
    /// its certificate, is an error naming both (a CA misnamed .cert is the usual cause).
    /// </summary>
    public static CertsDirectory Parse(string dir, IEnumerable<string> fileNames)
    {
        var names = new SortedSet<string>(fileNames, StringComparer.Ordinal);
        var cas = new List<string>();
        var clients = new List<ClientCertificateFiles>();
        foreach (var name in names)
        {
            if (name.EndsWith(".crt", StringComparison.Ordinal))
            {
                cas.Add(System.IO.Path.Combine(dir, name));
            }
            else if (name.EndsWith(".cert", StringComparison.Ordinal))
            {
                string key = name[..^".cert".Length] + ".key";
                if (!names.Contains(key))
                {
                    throw SkiffException.Invalid($"{dir}: missing key {key} for client certificate {name} (CA certificates must use the extension .crt)");
                }
                clients.Add(new ClientCertificateFiles(System.IO.Path.Combine(dir, name), System.IO.Path.Combine(dir, key)));
            }
            else if (name.EndsWith(".key", StringComparison.Ordinal))
            {
                string cert = name[..^".key".Length] + ".cert";
                if (!names.Contains(cert))
                {
                    throw SkiffException.Invalid($"{dir}: missing client certificate {cert} for key {name}");
                }
            }
        }
        return new CertsDirectory(dir, cas, clients);
    }
}
