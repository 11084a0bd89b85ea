using System.Globalization;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;
using Skiff.Images;

namespace Skiff.Api.Endpoints;

/// <summary>GET /system/df (docker system df): images with their container counts, containers with their sizes, volumes with theirs.</summary>
public static class DiskUsageEndpoints
{
    public static void Map(Router routes, Daemon daemon) => routes.Get("/system/df", c => DiskUsage(c, daemon));

    private static async Task DiskUsage(ApiContext c, Daemon daemon)
    {
        var types = c.Query.All("type");
        bool Wants(string t) => types.Count == 0 || types.Contains(t);
        var response = await Task.Run(() =>
        {
            var r = new DiskUsageResponse();
            var containers = ContainerList.List(daemon.Containers, new ContainerListOptions { All = true, Size = Wants("container") },
                new StoreImageLookup(daemon.Images));
            if (Wants("image"))
            {
                var index = daemon.Images.ReadIndex();
                foreach (var image in index.Images)
                {
                    r.Images.Add(new DiskUsageImage
                    {
                        Id = image.Id,
                        RepoTags = image.Names.Select(n => ImageReference.TryParse(n, out var x) ? x.Familiar : n).ToList(),
                        RepoDigests = image.RepoDigests.Select(ImageReference.FamiliarName).ToList(),
                        Created = DateTimeOffset.TryParse(image.Created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                            ? t.ToUnixTimeSeconds()
                            : image.Added.ToUnixTimeSeconds(),
                        Size = image.Size,
                        Containers = containers.Count(s => s.ImageID == image.Id),
                    });
                    r.LayersSize += image.Size;
                }
            }
            if (Wants("container"))
            {
                r.Containers = containers;
            }
            if (Wants("volume"))
            {
                var store = VolumeEndpoints.Store(daemon);
                var used = store.Usage();
                foreach (var v in store.List())
                {
                    var row = VolumeResponse.From(v);
                    row.UsageData = new VolumeUsageData { Size = store.Size(v.Name), RefCount = used.TryGetValue(v.Name, out var ids) ? ids.Count : 0 };
                    r.Volumes.Add(row);
                }
            }
            return r;
        });
        await c.JsonAsync(response, ContainerApiJson.Default.DiskUsageResponse);
    }
}
