using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Skiff.Engine.Containers;

/// <summary>
/// Docker's filters.Args for containers: key → values. Values of one key match if any
/// does; different keys must all match. The CLI gives "key=value" pairs, the API a JSON
/// object in either of Docker's two shapes.
/// </summary>
public sealed class ContainerFilters
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public static readonly ContainerFilters None = new();

    public IReadOnlyCollection<string> Keys => _values.Keys;

    public bool Has(string key) => _values.ContainsKey(key);

    public IReadOnlyList<string> Values(string key) => _values.TryGetValue(key, out var v) ? v : [];

    public void Add(string key, string value)
    {
        if (!_values.TryGetValue(key, out var list))
        {
            _values[key] = list = [];
        }
        if (!list.Contains(value))
        {
            list.Add(value);
        }
    }

    /// <summary>The CLI's --filter values: key=value, the key lower-cased and both trimmed, as Docker's opts do.</summary>
    public static ContainerFilters Parse(IEnumerable<string> pairs)
    {
        var f = new ContainerFilters();
        foreach (var p in pairs)
        {
            int eq = p.IndexOf('=');
            if (eq < 0)
            {
                throw SkiffException.Invalid("bad format of filter (expected name=value)");
            }
            f.Add(p[..eq].Trim().ToLowerInvariant(), p[(eq + 1)..].Trim());
        }
        return f;
    }

    /// <summary>The API's filters parameter: {"status":["running"]} or the older {"status":{"running":true}}.</summary>
    public static ContainerFilters FromJson(string? json)
    {
        var f = new ContainerFilters();
        if (string.IsNullOrWhiteSpace(json))
        {
            return f;
        }
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            Expect(ref reader, JsonTokenType.StartObject);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        f.Add(key, reader.GetString() ?? "");
                    }
                }
                else if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string value = reader.GetString()!;
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.True)
                        {
                            f.Add(key, value);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    throw new JsonException();
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw SkiffException.Invalid($"invalid filter: {json}");
        }
        return f;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException();
        }
    }

    /// <summary>Docker's "invalid filter 'x'" for a key outside the accepted set.</summary>
    public void Validate(IReadOnlySet<string> accepted)
    {
        foreach (var key in _values.Keys)
        {
            if (!accepted.Contains(key))
            {
                throw SkiffException.Invalid($"invalid filter '{key}'");
            }
        }
    }

    /// <summary>filters.Args.Match: no such key matches; else an exact value or one that, as a regular expression, matches.</summary>
    public bool Match(string key, string source)
    {
        if (!_values.TryGetValue(key, out var values))
        {
            return true;
        }
        foreach (var v in values)
        {
            if (v == source)
            {
                return true;
            }
            try
            {
                if (Regex.IsMatch(source, v, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
                {
                    return true;
                }
            }
            catch (ArgumentException)
            {
                // Not a valid expression: Docker skips it too.
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }
        return false;
    }

    /// <summary>filters.Args.ExactMatch: no such key matches; else one value must equal the source.</summary>
    public bool ExactMatch(string key, string source) =>
        !_values.TryGetValue(key, out var values) || values.Contains(source);

    /// <summary>filters.Args.MatchKVList: every "k" must be a label, every "k=v" a label with that value.</summary>
    public bool MatchLabels(string key, IReadOnlyDictionary<string, string>? labels)
    {
        if (!_values.TryGetValue(key, out var values) || values.Count == 0)
        {
            return true;
        }
        if (labels is null || labels.Count == 0)
        {
            return false;
        }
        foreach (var v in values)
        {
            int eq = v.IndexOf('=');
            string k = eq < 0 ? v : v[..eq];
            if (!labels.TryGetValue(k, out var actual) || eq >= 0 && actual != v[(eq + 1)..])
            {
                return false;
            }
        }
        return true;
    }
}
