namespace Skiff.Engine.Containers;

/// <summary>`container prune` and POST /containers/prune: every container that does not run.</summary>
public static class ContainerPrune
{
    public static readonly IReadOnlySet<string> AcceptedFilters = new HashSet<string>(StringComparer.Ordinal) { "label", "label!", "until" };

    /// <summary>
    /// Removes the stopped containers the filters select (until=: created before; label=,
    /// label!=: Docker's label matching) with `remove`; returns their ids and the bytes
    /// their writable layers held.
    /// </summary>
    public static (List<string> Deleted, long Reclaimed) Prune(ContainerStore store, ContainerFilters filters, Action<string> remove, DateTime? nowUtc = null)
    {
        filters.Validate(AcceptedFilters);
        DateTime? until = null;
        foreach (var v in filters.Values("until"))
        {
            until = DockerTime.Parse(v, nowUtc ?? DateTime.UtcNow);
        }
        var deleted = new List<string>();
        long reclaimed = 0;
        foreach (var def in store.List())
        {
            if (until is { } u && ContainerState.ParseTime(def.Created) is { } created && created > u)
            {
                continue;
            }
            if (!filters.MatchLabels("label", def.Config.Labels) || filters.Has("label!") && filters.MatchLabels("label!", def.Config.Labels))
            {
                continue;
            }
            try
            {
                if (store.State(def.Id).Running)
                {
                    continue;
                }
                long size = ContainerList.DirectorySize(store.Dir(def.Id).Upper);
                remove(def.Id);
                deleted.Add(def.Id);
                reclaimed += size;
            }
            catch (SkiffException e) when (e.Category is ErrorCategory.NotFound or ErrorCategory.Conflict)
            {
                // Removed by someone else, or started meanwhile: not this prune's to take.
            }
        }
        return (deleted, reclaimed);
    }
}
