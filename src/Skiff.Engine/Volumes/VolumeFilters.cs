namespace Skiff.Engine.Volumes;

/// <summary>
/// Docker's volume filters (dangling, name, driver, label, label!) for `volume ls|prune`
/// and GET /volumes, POST /volumes/prune: values of one key match any, every key must match.
/// </summary>
public static class VolumeFilters
{
    /// <summary>The filters `volume ls` and GET /volumes accept.</summary>
    public static readonly string[] List = ["dangling", "name", "label", "driver"];

    /// <summary>The filters `volume prune` and POST /volumes/prune accept.</summary>
    public static readonly string[] Prune = ["label", "label!", "all"];

    /// <summary>Refuses a key outside <paramref name="allowed"/> and a dangling value that is not a boolean, in dockerd's words.</summary>
    public static void Validate(IReadOnlyDictionary<string, List<string>> filters, IReadOnlyCollection<string> allowed)
    {
        foreach (var key in filters.Keys)
        {
            if (!allowed.Contains(key))
            {
                throw SkiffException.Invalid($"invalid filter '{key}'");
            }
        }
        if (filters.TryGetValue("dangling", out var dangling))
        {
            foreach (var d in dangling)
            {
                if (d is not ("true" or "false" or "1" or "0"))
                {
                    throw SkiffException.Invalid($"invalid filter 'dangling={d}'");
                }
            }
        }
    }

    /// <param name="used">Volume name → containers using it; needed for dangling.</param>
    public static bool Matches(VolumeRecord v, IReadOnlyDictionary<string, List<string>> filters, IReadOnlyDictionary<string, List<string>>? used)
    {
        foreach (var (key, values) in filters)
        {
            bool ok = key switch
            {
                "dangling" => values.Any(d => (d is "true" or "1") == !(used?.ContainsKey(v.Name) ?? false)),
                "name" => values.Any(n => NameMatches(v.Name, n)),
                "driver" => values.Any(d => d == v.Driver),
                "label" => values.Any(l => LabelMatches(v, l)),
                "label!" => !values.Any(l => LabelMatches(v, l)),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Docker matches a name filter as an unanchored regular expression.</summary>
    private static bool NameMatches(string name, string pattern)
    {
        try
        {
            return System.Text.RegularExpressions.Regex.IsMatch(name, pattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return name.Contains(pattern, StringComparison.Ordinal);
        }
    }

    private static bool LabelMatches(VolumeRecord v, string filter)
    {
        int eq = filter.IndexOf('=');
        string k = eq < 0 ? filter : filter[..eq];
        return v.Labels is not null && v.Labels.TryGetValue(k, out var actual) && (eq < 0 || actual == filter[(eq + 1)..]);
    }

    /// <summary>Every container of the store with the names of the volumes it mounts (named and anonymous): a VolumeStore's usage.</summary>
    public static Func<IEnumerable<(string ContainerId, IEnumerable<string> VolumeNames)>> UsageOf(Containers.ContainerStore containers) =>
        () => containers.List().Select(d => (d.Id, UserMounts.VolumeNamesOf(d.MountPoints ?? [])));
}
