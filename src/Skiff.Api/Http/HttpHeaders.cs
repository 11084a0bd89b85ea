namespace Skiff.Api.Http;

/// <summary>Header fields in arrival order; names compare case-insensitively, as HTTP says.</summary>
public sealed class HttpHeaders
{
    private readonly List<KeyValuePair<string, string>> _fields = [];

    public int Count => _fields.Count;

    public IReadOnlyList<KeyValuePair<string, string>> Fields => _fields;

    public void Add(string name, string value) => _fields.Add(new(name, value));

    /// <summary>Replaces every field of that name with one.</summary>
    public void Set(string name, string value)
    {
        Remove(name);
        _fields.Add(new(name, value));
    }

    public void Remove(string name) => _fields.RemoveAll(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The first value of a field, or null.</summary>
    public string? Get(string name)
    {
        foreach (var f in _fields)
        {
            if (string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return f.Value;
            }
        }
        return null;
    }

    public bool Contains(string name) => Get(name) is not null;

    /// <summary>Every value of a field, comma lists split and trimmed ("Connection: keep-alive, Upgrade").</summary>
    public IEnumerable<string> Tokens(string name)
    {
        foreach (var f in _fields)
        {
            if (string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                foreach (var t in f.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    yield return t;
                }
            }
        }
    }

    public bool HasToken(string name, string token) =>
        Tokens(name).Any(t => string.Equals(t, token, StringComparison.OrdinalIgnoreCase));
}
