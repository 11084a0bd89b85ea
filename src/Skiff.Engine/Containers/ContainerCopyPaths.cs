using System.Text;

namespace Skiff.Engine.Containers;

/// <summary>
/// Docker's cp path rules (Go's path/filepath and moby's archive helpers), so that a
/// trailing "/" or "/." means here what it means to docker cp: "dir/." copies what is in
/// dir, "dst/" asserts a directory.
/// </summary>
public static class CopyPaths
{
    /// <summary>Go's filepath.Clean.</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        bool rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else if (!rooted)
                {
                    parts.Add("..");
                }
                continue;
            }
            parts.Add(part);
        }
        string joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }

    /// <summary>Go's filepath.Join: the non-empty elements joined and cleaned.</summary>
    public static string Join(params string[] elements)
    {
        var sb = new StringBuilder();
        foreach (var e in elements)
        {
            if (e.Length == 0)
            {
                continue;
            }
            if (sb.Length > 0)
            {
                sb.Append('/');
            }
            sb.Append(e);
        }
        return sb.Length == 0 ? "" : Clean(sb.ToString());
    }

    /// <summary>Go's filepath.Base.</summary>
    public static string Base(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        path = path.TrimEnd('/');
        if (path.Length == 0)
        {
            return "/";
        }
        int slash = path.LastIndexOf('/');
        return slash >= 0 ? path[(slash + 1)..] : path;
    }

    /// <summary>Go's filepath.Dir.</summary>
    public static string Dir(string path)
    {
        int slash = path.LastIndexOf('/');
        return Clean(slash >= 0 ? path[..(slash + 1)] : "");
    }

    /// <summary>Go's filepath.Split: everything up to and including the last '/', and the rest.</summary>
    public static (string Dir, string File) Split(string path)
    {
        int slash = path.LastIndexOf('/');
        return (path[..(slash + 1)], path[(slash + 1)..]);
    }

    public static bool HasTrailingSeparator(string path) => path.Length > 0 && path[^1] == '/';

    public static bool SpecifiesCurrentDir(string path) => Base(path) == ".";

    /// <summary>A path ending in "/" or "/." asserts a directory.</summary>
    public static bool AssertsDirectory(string path) => HasTrailingSeparator(path) || SpecifiesCurrentDir(path);

    /// <summary>The cleaned path, with the "/" or "/." the original ended in put back.</summary>
    public static string PreserveTrailingDotOrSeparator(string cleaned, string original)
    {
        if (!SpecifiesCurrentDir(cleaned) && SpecifiesCurrentDir(original))
        {
            if (!HasTrailingSeparator(cleaned))
            {
                cleaned += "/";
            }
            cleaned += ".";
        }
        if (!HasTrailingSeparator(cleaned) && HasTrailingSeparator(original))
        {
            cleaned += "/";
        }
        return cleaned;
    }

    /// <summary>A path as an absolute container path, keeping what its end asserts.</summary>
    public static string InContainer(string path) => PreserveTrailingDotOrSeparator(Clean("/" + path), path);

    /// <summary>moby's SplitPathDirEntry: dir and base of the cleaned path, a final "." kept.</summary>
    public static (string Dir, string Base) SplitPathDirEntry(string path)
    {
        string cleaned = Clean(path);
        if (SpecifiesCurrentDir(path))
        {
            cleaned += "/.";
        }
        return (Dir(cleaned), Base(cleaned));
    }

    /// <summary>moby's GetRebaseName: the resolved path with the original's trailing "/" or "/.", and the name to rebase onto.</summary>
    public static (string Path, string RebaseName) GetRebaseName(string path, string resolved)
    {
        string rebase = "";
        if (SpecifiesCurrentDir(path) && !SpecifiesCurrentDir(resolved))
        {
            resolved += "/.";
        }
        if (HasTrailingSeparator(path) && !HasTrailingSeparator(resolved))
        {
            resolved += "/";
        }
        if (Base(path) != Base(resolved))
        {
            rebase = Base(path);
        }
        return (resolved, rebase);
    }

    /// <summary>
    /// An archive entry renamed from one base to another, as moby's RebaseArchiveEntries
    /// (a base of "/" puts the new base in front of every name).
    /// </summary>
    public static string Rebase(string name, string oldBase, string newBase)
    {
        if (oldBase is "/" or "")
        {
            return newBase + (name.StartsWith('/') ? name : "/" + name);
        }
        if (name == oldBase)
        {
            return newBase;
        }
        if (name.StartsWith(oldBase + "/", StringComparison.Ordinal))
        {
            return newBase + name[oldBase.Length..];
        }
        return name;
    }
}
