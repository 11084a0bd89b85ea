using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;

namespace Skiff.Api.Endpoints;

/// <summary>/volumes/...: Docker's local volumes, on the store `skiff volume` uses.</summary>
public static class VolumeEndpoints
{
    public static void Map(Router routes, Daemon daemon)
    {
        routes.Get("/volumes", c => List(c, daemon));
        routes.Post("/volumes/create", c => Create(c, daemon));
        routes.Post("/volumes/prune", c => Prune(c, daemon));
        routes.Get("/volumes/{name}", c => Inspect(c, daemon));
        routes.Delete("/volumes/{name}", c => Remove(c, daemon));
    }

    public static VolumeStore Store(Daemon daemon) =>
        new(daemon.Paths.Root, VolumeFilters.UsageOf(daemon.Containers), HostTree.Remove);

    /// <summary>The filters parameter as the lists VolumeFilters reads, checked against what the endpoint accepts.</summary>
    private static Dictionary<string, List<string>> FiltersOf(ApiContext c, string[] accepted)
    {
        var parsed = Filters.Parse(c.Query.Get("filters"));
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var name in parsed.Names)
        {
            filters[name] = [.. parsed.Values(name)];
        }
        VolumeFilters.Validate(filters, accepted);
        return filters;
    }

    private static Task List(ApiContext c, Daemon daemon)
    {
        var filters = FiltersOf(c, VolumeFilters.List);
        var store = Store(daemon);
        var volumes = store.List();
        if (filters.Count > 0)
        {
            var used = store.Usage();
            volumes = volumes.Where(v => VolumeFilters.Matches(v, filters, used)).ToList();
        }
        var response = new VolumeListResponse { Volumes = volumes.Select(VolumeResponse.From).ToList() };
        return c.JsonAsync(response, ContainerApiJson.Default.VolumeListResponse);
    }

    private static async Task Create(ApiContext c, Daemon daemon)
    {
        var request = await c.ReadJsonAsync(ContainerApiJson.Default.VolumeCreateRequest) ?? new VolumeCreateRequest();
        var volume = Store(daemon).Create(request.Name, request.Labels, request.DriverOpts,
            string.IsNullOrEmpty(request.Driver) ? VolumeStore.LocalDriver : request.Driver);
        daemon.Events.Publish("volume", "create", volume.Name, new() { ["driver"] = volume.Driver });
        await c.JsonAsync(VolumeResponse.From(volume), ContainerApiJson.Default.VolumeResponse, 201);
    }

    private static Task Inspect(ApiContext c, Daemon daemon)
    {
        string name = c.Route("name");
        var volume = Store(daemon).Find(name) ?? throw SkiffException.NotFound($"get {name}: no such volume");
        return c.JsonAsync(VolumeResponse.From(volume), ContainerApiJson.Default.VolumeResponse);
    }

    private static async Task Remove(ApiContext c, Daemon daemon)
    {
        string name = c.Route("name");
        bool force = c.Query.Bool("force");
        await Task.Run(() => Store(daemon).Remove(name, force));
        daemon.Events.Publish("volume", "destroy", name, new() { ["driver"] = VolumeStore.LocalDriver });
        await c.StatusAsync(204);
    }

    /// <summary>Anonymous volumes no container uses; all=true (API 1.42+) every unused one.</summary>
    private static async Task Prune(ApiContext c, Daemon daemon)
    {
        var filters = FiltersOf(c, VolumeFilters.Prune);
        bool all = filters.Remove("all", out var allValues) && allValues.Any(v => v is "1" or "true");
        var (deleted, reclaimed) = await Task.Run(() => Store(daemon).Prune(all, v => VolumeFilters.Matches(v, filters, null)));
        foreach (var name in deleted)
        {
            daemon.Events.Publish("volume", "destroy", name, new() { ["driver"] = VolumeStore.LocalDriver });
        }
        var report = new VolumePruneReport { VolumesDeleted = deleted.Count == 0 ? null : deleted, SpaceReclaimed = reclaimed };
        await c.JsonAsync(report, ContainerApiJson.Default.VolumePruneReport);
    }
}
