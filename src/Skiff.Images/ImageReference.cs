namespace Skiff.Images;

/// <summary>
/// A normalized image name as Docker reads one: "busybox" is docker.io/library/busybox:latest,
/// a first component with a '.' or ':' (or "localhost") names the registry.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string? Tag, Digest? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>registry/repository, e.g. docker.io/library/busybox.</summary>
    public string Name => Registry + "/" + Repository;

    /// <summary>name:tag or name@digest: the key of the image index.</summary>
    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    /// <summary>Docker's short form: busybox:latest, not docker.io/library/busybox:latest.</summary>
    public string Familiar => FamiliarName(Name) + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    public static string FamiliarName(string name) =>
        name.StartsWith("docker.io/library/", StringComparison.Ordinal) ? name["docker.io/library/".Length..]
        : name.StartsWith("docker.io/", StringComparison.Ordinal) ? name["docker.io/".Length..]
        : name;

    public static bool TryParse(string text, out ImageReference reference) => (reference = ParseOrNull(text, out _)!) is not null;

    public static ImageReference Parse(string text) =>
        ParseOrNull(text, out string? why) ?? throw SkiffException.Invalid($"invalid reference format: \"{text}\": {why}");

    private static ImageReference? ParseOrNull(string text, out string? why)
    {
        why = null;
        if (text.Length is 0 or > 255 * 2)
        {
            why = "empty or too long";
            return null;
        }
        string rest = text;
        Digest? digest = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Images.Digest.TryParse(rest[(at + 1)..], out var d))
            {
                why = "the digest must be sha256: and 64 hex digits";
                return null;
            }
            digest = d;
            rest = rest[..at];
        }
        string? tag = null;
        int colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!ValidTag(tag))
            {
                why = "a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'";
                return null;
            }
        }
        string registry = DockerHub;
        string path = rest;
        int slash = rest.IndexOf('/');
        if (slash > 0)
        {
            string first = rest[..slash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsAsciiLetterUpper))
            {
                registry = first;
                path = rest[(slash + 1)..];
            }
        }
        if (registry == "index.docker.io")
        {
            registry = DockerHub;
        }
        if (registry == DockerHub && !path.Contains('/'))
        {
            path = "library/" + path;
        }
        if (!ValidPath(path))
        {
            why = "repository names are lower-case letters, digits and separators (. _ __ -) between '/'";
            return null;
        }
        if (tag is null && digest is null)
        {
            tag = "latest";
        }
        return new ImageReference(registry, path, tag, digest);
    }

    private static bool ValidTag(string tag)
    {
        if (tag.Length is 0 or > 128 || tag[0] is '.' or '-')
        {
            return false;
        }
        foreach (char c in tag)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool ValidPath(string path)
    {
        foreach (var component in path.Split('/'))
        {
            if (component.Length == 0 || !char.IsAsciiLetterLower(component[0]) && !char.IsAsciiDigit(component[0])
                || !char.IsAsciiLetterLower(component[^1]) && !char.IsAsciiDigit(component[^1]))
            {
                return false;
            }
            foreach (char c in component)
            {
                if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c is not ('.' or '_' or '-'))
                {
                    return false;
                }
            }
        }
        return true;
    }
}
