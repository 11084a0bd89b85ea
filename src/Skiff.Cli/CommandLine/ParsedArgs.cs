namespace Skiff.Cli.CommandLine;

/// <summary>The flags and positional arguments of one verb.</summary>
public sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    internal void Add(FlagSpec flag, string value)
    {
        if (!_values.TryGetValue(flag.Name, out var list))
        {
            _values[flag.Name] = list = [];
        }
        if (flag.Kind != FlagKind.List)
        {
            list.Clear();
        }
        list.Add(value);
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Bool(string name) => _values.TryGetValue(name, out var v) && v[^1] == "true";

    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var v) ? v : [];
}
