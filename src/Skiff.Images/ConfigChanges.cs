using System.Text;
using System.Text.Json;

namespace Skiff.Images;

/// <summary>--change "INSTRUCTION args": the Dockerfile instructions `import` accepts, applied to a config.</summary>
public static class ConfigChanges
{
    public static void Apply(ContainerConfig config, string change)
    {
        string text = change.Trim();
        int space = text.IndexOfAny([' ', '\t']);
        string word = (space < 0 ? text : text[..space]).ToUpperInvariant();
        string rest = space < 0 ? "" : text[(space + 1)..].Trim();
        switch (word)
        {
            case "CMD":
                config.Cmd = Command(rest, change);
                break;
            case "ENTRYPOINT":
                config.Entrypoint = Command(rest, change);
                break;
            case "ENV":
                config.Env ??= [];
                foreach (var kv in EnvPairs(rest, change))
                {
                    string key = kv[..kv.IndexOf('=')];
                    config.Env.RemoveAll(e => e.StartsWith(key + "=", StringComparison.Ordinal));
                    config.Env.Add(kv);
                }
                break;
            case "WORKDIR":
                if (rest.Length == 0)
                {
                    throw Bad(change, "WORKDIR needs a path");
                }
                config.WorkingDir = rest.StartsWith('/') ? rest : Path.Combine(config.WorkingDir ?? "/", rest);
                break;
            case "USER":
                if (rest.Length == 0 || rest.Any(char.IsWhiteSpace))
                {
                    throw Bad(change, "USER needs one user[:group]");
                }
                config.User = rest;
                break;
            case "LABEL":
                config.Labels ??= [];
                foreach (var kv in EnvPairs(rest, change))
                {
                    int eq = kv.IndexOf('=');
                    config.Labels[kv[..eq]] = kv[(eq + 1)..];
                }
                break;
            case "EXPOSE":
                config.ExposedPorts ??= [];
                foreach (var port in rest.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    config.ExposedPorts[port.Contains('/') ? port : port + "/tcp"] = JsonDocument.Parse("{}").RootElement.Clone();
                }
                break;
            case "STOPSIGNAL":
                config.StopSignal = rest.Length > 0 ? rest : throw Bad(change, "STOPSIGNAL needs a signal");
                break;
            default:
                throw Bad(change, "supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL");
        }
    }

    private static SkiffException Bad(string change, string why) => SkiffException.Invalid($"invalid --change \"{change}\": {why}");

    /// <summary>Exec form (a JSON array) as given; shell form runs under /bin/sh -c, as Docker does.</summary>
    private static List<string> Command(string rest, string change)
    {
        if (rest.StartsWith('['))
        {
            try
            {
                return JsonSerializer.Deserialize(rest, ImageJson.Default.ListString) ?? throw Bad(change, "expected a JSON array of strings");
            }
            catch (JsonException)
            {
                throw Bad(change, "expected a JSON array of strings");
            }
        }
        if (rest.Length == 0)
        {
            throw Bad(change, "needs a command");
        }
        return ["/bin/sh", "-c", rest];
    }

    /// <summary>KEY=VALUE pairs (values may be quoted), or the old "KEY VALUE" form.</summary>
    private static List<string> EnvPairs(string rest, string change)
    {
        var words = Words(rest);
        if (words.Count == 0)
        {
            throw Bad(change, "needs KEY=VALUE");
        }
        if (!words[0].Contains('='))
        {
            int sp = rest.IndexOfAny([' ', '\t']);
            if (sp < 0)
            {
                throw Bad(change, "needs KEY=VALUE");
            }
            return [rest[..sp] + "=" + rest[(sp + 1)..].Trim()];
        }
        foreach (var w in words)
        {
            if (w.IndexOf('=') <= 0)
            {
                throw Bad(change, $"\"{w}\" is not KEY=VALUE");
            }
        }
        return words;
    }

    private static List<string> Words(string s)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        bool any = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' && i + 1 < s.Length)
                {
                    sb.Append(s[++i]);
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                any = true;
            }
            else if (c == '\\' && i + 1 < s.Length)
            {
                sb.Append(s[++i]);
                any = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (any)
                {
                    words.Add(sb.ToString());
                    sb.Clear();
                    any = false;
                }
            }
            else
            {
                sb.Append(c);
                any = true;
            }
        }
        if (any)
        {
            words.Add(sb.ToString());
        }
        return words;
    }
}
