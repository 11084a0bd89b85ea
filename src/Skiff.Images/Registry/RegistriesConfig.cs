namespace Skiff.Images.Registry;

/// <summary>
/// registries.conf: the insecure registries, treated as --tls-verify=false treats one (HTTPS
/// without verification, then plain HTTP), as Docker's insecure-registries are.
/// The first of $XDG_CONFIG_HOME/skiff/registries.conf (or ~/.config/skiff/registries.conf)
/// and /etc/skiff/registries.conf that exists is read; only its line
/// <c>insecure = ["host:port", ...]</c> is understood, the rest is ignored.
/// </summary>
public static class RegistriesConfig
{
    public const string SystemPath = "/etc/skiff/registries.conf";

    public static IEnumerable<string> Candidates(Func<string, string?> env)
    {
        string? xdg = env("XDG_CONFIG_HOME");
        string? home = env("HOME");
        if (!string.IsNullOrEmpty(xdg))
        {
            yield return Path.Combine(xdg, "skiff", "registries.conf");
        }
        else if (!string.IsNullOrEmpty(home))
        {
            yield return Path.Combine(home, ".config", "skiff", "registries.conf");
        }
        yield return SystemPath;
    }

    /// <summary>The registries the first existing config file marks insecure (none without one).</summary>
    public static IReadOnlyList<string> Insecure(Func<string, string?> env)
    {
        foreach (var path in Candidates(env))
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            return ParseInsecure(text, path);
        }
        return [];
    }

    public static bool IsInsecure(string registry) =>
        Insecure(Environment.GetEnvironmentVariable).Contains(registry, StringComparer.OrdinalIgnoreCase);

    /// <summary>Parses <c>insecure = ["a", "b"]</c> (one line, # comments allowed); a malformed one is an error naming the file.</summary>
    public static IReadOnlyList<string> ParseInsecure(string text, string path = "registries.conf")
    {
        var result = new List<string>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = StripComment(raw).Trim();
            int eq = line.IndexOf('=');
            if (eq < 0 || line[..eq].Trim() != "insecure")
            {
                continue;
            }
            string value = line[(eq + 1)..].Trim();
            if (!value.StartsWith('[') || !value.EndsWith(']'))
            {
                throw SkiffException.Invalid($"{path}:{lineNo}: insecure must be a list of quoted registries: insecure = [\"host:port\"]");
            }
            foreach (var item in value[1..^1].Split(','))
            {
                string s = item.Trim();
                if (s.Length == 0)
                {
                    continue;
                }
                if (s.Length < 2 || s[0] != '"' || s[^1] != '"' || s.Length == 2)
                {
                    throw SkiffException.Invalid($"{path}:{lineNo}: {s} is not a quoted registry name");
                }
                result.Add(s[1..^1]);
            }
        }
        return result;
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '"')
            {
                quoted = !quoted;
            }
            else if (line[i] == '#' && !quoted)
            {
                return line[..i];
            }
        }
        return line;
    }
}
