using System.Text.Json;
using Skiff.Api.Json;

namespace Skiff.Api.Routing;

/// <summary>
/// Docker's "filters" query parameter: JSON of name to values, either
/// {"dangling":["true"]} or the older {"dangling":{"true":true}} the CLI still sends.
/// </summary>
public sealed class Filters
{
    private readonly Dictionary<string, List<string>> _values;

    private Filters(Dictionary<string, List<string>> values) => _values = values;

    public static Filters None { get; } = new([]);

    public static Filters Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return None;
        }
        Dictionary<string, JsonElement>? raw;
        try
        {
            raw = JsonSerializer.Deserialize(json, ApiJson.Default.DictionaryStringJsonElement);
        }
        catch (JsonException e)
        {
            throw SkiffException.Invalid($"invalid filters \"{json}\": {e.Message}");
        }
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, element) in raw ?? [])
        {
            var list = new List<string>();
            switch (element.ValueKind)
            {
                case JsonValueKind.Array:
                    foreach (var v in element.EnumerateArray())
                    {
                        list.Add(v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText());
                    }
                    break;
                case JsonValueKind.Object:
                    foreach (var p in element.EnumerateObject())
                    {
                        if (p.Value.ValueKind != JsonValueKind.False)
                        {
                            list.Add(p.Name);
                        }
                    }
                    break;
                case JsonValueKind.String:
                    list.Add(element.GetString()!);
                    break;
                default:
                    throw SkiffException.Invalid($"invalid filters \"{json}\": the values of \"{name}\" are not a list");
            }
            values[name] = list;
        }
        return new Filters(values);
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public IEnumerable<string> Names => _values.Keys;

    /// <summary>Refuses filter names an endpoint does not know, as dockerd does ("invalid filter 'x'").</summary>
    public void Allow(params string[] names)
    {
        foreach (var n in _values.Keys)
        {
            if (Array.IndexOf(names, n) < 0)
            {
                throw SkiffException.Invalid($"invalid filter '{n}'");
            }
        }
    }

    /// <summary>A boolean filter ("dangling"): null when absent; true/1 or false/0, anything else refused.</summary>
    public bool? Bool(string name)
    {
        var v = Values(name);
        if (v.Count == 0)
        {
            return null;
        }
        bool? result = null;
        foreach (var s in v)
        {
            bool b = s.ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw SkiffException.Invalid($"invalid filter '{name}={s}': use true or false"),
            };
            if (result is not null && result != b)
            {
                throw SkiffException.Invalid($"invalid filter '{name}': both true and false");
            }
            result = b;
        }
        return result;
    }

    /// <summary>label=KEY or label=KEY=VALUE: every one must hold.</summary>
    public bool MatchLabels(IReadOnlyDictionary<string, string>? labels)
    {
        foreach (var want in Values("label"))
        {
            int eq = want.IndexOf('=');
            string key = eq < 0 ? want : want[..eq];
            if (labels is null || !labels.TryGetValue(key, out var have) || eq >= 0 && have != want[(eq + 1)..])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Go's path.Match for the subset references use: '*' and '?' within a segment, no '/' crossing.</summary>
    public static bool Glob(string pattern, string text)
    {
        int p = 0, t = 0, starP = -1, starT = -1;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' && text[t] != '/' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
            }
            else if (starP >= 0 && text[starT] != '/')
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
