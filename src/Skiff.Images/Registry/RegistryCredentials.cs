using System.Text;
using System.Text.Json;

namespace Skiff.Images.Registry;

public sealed record Credential(string Username, string Password);

/// <summary>
/// Credentials per registry host: skiff's own auth.json (written 0600 by login) first,
/// then Docker's config.json "auths". Only the base64 user:password form is read.
/// </summary>
public sealed class RegistryCredentials(string authFile, string? dockerConfig)
{
    public string AuthFilePath { get; } = authFile;

    /// <summary>--authfile, else $REGISTRY_AUTH_FILE, else $XDG_CONFIG_HOME/skiff/auth.json (~/.config/skiff/auth.json).</summary>
    public static RegistryCredentials Default(string? authFileFlag = null)
    {
        string? file = authFileFlag ?? NonEmpty(Environment.GetEnvironmentVariable("REGISTRY_AUTH_FILE"));
        string home = NonEmpty(Environment.GetEnvironmentVariable("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (file is null)
        {
            string config = NonEmpty(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME")) ?? Path.Combine(home, ".config");
            file = Path.Combine(config, "skiff", "auth.json");
        }
        string dockerDir = NonEmpty(Environment.GetEnvironmentVariable("DOCKER_CONFIG")) ?? Path.Combine(home, ".docker");
        return new RegistryCredentials(file, Path.Combine(dockerDir, "config.json"));
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    public Credential? Find(string registry)
    {
        return Lookup(Read(AuthFilePath), registry) ?? (dockerConfig is null ? null : Lookup(Read(dockerConfig), registry));
    }

    public void Store(string registry, Credential credential)
    {
        var file = Read(AuthFilePath);
        file.Auths[registry] = new AuthEntry { Auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.Username + ":" + credential.Password)) };
        Write(file);
    }

    /// <summary>Removes the host from skiff's file; false when it had no entry there.</summary>
    public bool Remove(string registry)
    {
        var file = Read(AuthFilePath);
        bool removed = false;
        foreach (var key in file.Auths.Keys.ToList())
        {
            if (HostOf(key) == HostOf(registry))
            {
                file.Auths.Remove(key);
                removed = true;
            }
        }
        if (removed)
        {
            Write(file);
        }
        return removed;
    }

    private void Write(AuthFile file)
    {
        string dir = Path.GetDirectoryName(AuthFilePath)!;
        Directory.CreateDirectory(dir);
        string tmp = AuthFilePath + ".tmp-" + Environment.ProcessId;
        // Created 0600 before a byte of the secret is written.
        using (var f = new FileStream(tmp, new FileStreamOptions
               {
                   Mode = FileMode.Create, Access = FileAccess.Write,
                   UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        {
            JsonSerializer.Serialize(f, file, RegistryJson.Default.AuthFile);
            f.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, AuthFilePath, overwrite: true);
    }

    private static AuthFile Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), RegistryJson.Default.AuthFile) ?? new AuthFile();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new AuthFile();
        }
        catch (JsonException e)
        {
            throw SkiffException.Invalid($"the auth file {path} does not parse: {e.Message}");
        }
    }

    private static Credential? Lookup(AuthFile file, string registry)
    {
        foreach (var (key, entry) in file.Auths)
        {
            if (HostOf(key) != HostOf(registry))
            {
                continue;
            }
            if (entry.Auth is { Length: > 0 } auth)
            {
                string text;
                try
                {
                    text = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
                }
                catch (FormatException)
                {
                    continue;
                }
                int colon = text.IndexOf(':');
                if (colon > 0)
                {
                    return new Credential(text[..colon], text[(colon + 1)..]);
                }
            }
            else if (entry.Username is { Length: > 0 } u && entry.Password is { } p)
            {
                return new Credential(u, p);
            }
        }
        return null;
    }

    /// <summary>"https://index.docker.io/v1/" and "docker.io" are the same key; a scheme or path is ignored.</summary>
    public static string HostOf(string key)
    {
        string k = key;
        int scheme = k.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            k = k[(scheme + 3)..];
        }
        int slash = k.IndexOf('/');
        if (slash >= 0)
        {
            k = k[..slash];
        }
        k = k.ToLowerInvariant();
        return k is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? ImageReference.DockerHub : k;
    }
}
