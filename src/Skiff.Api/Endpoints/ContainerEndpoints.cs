using System.Globalization;
using System.Text.Json;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;
using Skiff.Runtime.Supervision;

namespace Skiff.Api.Endpoints;

/// <summary>
/// /containers/...: create, list, inspect, start, stop, kill, restart, wait, remove,
/// rename, pause, resize, top, stats and prune, on the store and Engine code the `skiff`
/// verbs use. Containers belong to their supervisors: the daemon only reads and asks, so
/// it may stop and start again without touching them. Attach and logs are in
/// <see cref="ContainerStreamEndpoints"/>, cp in <see cref="ContainerArchiveEndpoints"/>.
/// </summary>
public static class ContainerEndpoints
{
    public static void Map(Router routes, Daemon daemon)
    {
        var attaches = new PendingAttaches();
        daemon.ContainerCounts = () => Count(daemon.Containers);
        routes.Post("/containers/create", c => Create(c, daemon));
        routes.Get("/containers/json", c => List(c, daemon));
        routes.Post("/containers/prune", c => Prune(c, daemon, attaches));
        routes.Get("/containers/{id}/json", c => Inspect(c, daemon));
        routes.Post("/containers/{id}/start", c => Start(c, daemon, attaches));
        routes.Post("/containers/{id}/stop", c => Stop(c, daemon));
        routes.Post("/containers/{id}/restart", c => Restart(c, daemon, attaches));
        routes.Post("/containers/{id}/kill", c => Kill(c, daemon));
        routes.Post("/containers/{id}/wait", c => Wait(c, daemon));
        routes.Delete("/containers/{id}", c => Remove(c, daemon, attaches));
        routes.Post("/containers/{id}/rename", c => Rename(c, daemon));
        routes.Post("/containers/{id}/pause", c => Pause(c, daemon, pause: true));
        routes.Post("/containers/{id}/unpause", c => Pause(c, daemon, pause: false));
        routes.Post("/containers/{id}/resize", c => Resize(c, daemon));
        routes.Get("/containers/{id}/top", c => Top(c, daemon));
        routes.Get("/containers/{id}/stats", c => Stats(c, daemon));
        ContainerStreamEndpoints.Map(routes, daemon, attaches);
        ContainerArchiveEndpoints.Map(routes, daemon);
    }

    private static ContainerCounts Count(ContainerStore store)
    {
        int running = 0, paused = 0, stopped = 0;
        foreach (var def in store.List())
        {
            try
            {
                switch (store.State(def.Id).Status)
                {
                    case "paused":
                        paused++;
                        break;
                    case "running" or "restarting":
                        running++;
                        break;
                    default:
                        stopped++;
                        break;
                }
            }
            catch (SkiffException)
            {
                // Removed while counting.
            }
        }
        return new ContainerCounts(running, paused, stopped);
    }

    /// <summary>The container the {id} segment names (a full id, a name or a unique prefix): its full id, or 404.</summary>
    public static string Resolve(ApiContext c, Daemon daemon) => daemon.Containers.Resolve(c.Route("id"));

    private static async Task Create(ApiContext c, Daemon daemon)
    {
        var body = await c.ReadJsonAsync(ContainerApiJson.Default.JsonElement);
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw SkiffException.Invalid("config cannot be empty in order to create a container");
        }
        var config = body.Deserialize(ContainerApiJson.Default.ContainerConfig) ?? new ContainerConfig();
        var host = body.Deserialize(ContainerApiJson.Default.ContainerCreateBody)?.HostConfig ?? new HostConfig();
        string? name = c.Query.Get("name") is { Length: > 0 } n ? n : null;
        var def = Define(daemon, config, host, name);
        ContainerCreation.Store(daemon.Containers, def);
        ContainerEvents.Publish(daemon, "create", def);
        await c.JsonAsync(new ContainerCreateResponse { Id = def.Id }, ContainerApiJson.Default.ContainerCreateResponse, 201);
    }

    /// <summary>
    /// What `skiff create` does with its flags, from the API's Config and HostConfig: the
    /// daemon's checks, the image (404 "No such image" makes the docker CLI pull and try
    /// again), then -v, --mount and --tmpfs made ready.
    /// </summary>
    public static ContainerDefinition Define(Daemon daemon, ContainerConfig config, HostConfig host, string? name)
    {
        Normalize(config, host);
        if (name is not null)
        {
            ContainerChecks.CheckName(name);
            name = name.TrimStart('/');
        }
        ContainerChecks.Check(null, config, host);
        if (config.Image.Length == 0)
        {
            throw SkiffException.Invalid("no image given: the create request's Config.Image is empty");
        }
        var mounts = UserMounts.Parse(host, config.Volumes?.Keys);
        try
        {
            daemon.Images.Resolve(config.Image);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            throw SkiffException.NotFound($"No such image: {config.Image}");
        }
        var def = ContainerCreation.FromImage(daemon.Images, config, host, name);
        if (mounts.Count > 0)
        {
            def.MountPoints = UserMounts.Prepare(mounts, new VolumeStore(daemon.Paths.Root), def.Layers);
        }
        return def;
    }

    /// <summary>
    /// The API's spellings of skiff's model: JSON nulls where the model has defaults,
    /// Docker's network names, the default log driver, PidsLimit 0 as unlimited, and
    /// --entrypoint "" (sent as [""]) as a cleared entrypoint.
    /// </summary>
    public static void Normalize(ContainerConfig config, HostConfig host)
    {
        config.Hostname ??= "";
        config.Domainname ??= "";
        config.User ??= "";
        config.Image ??= "";
        config.WorkingDir ??= "";
        if (config.Entrypoint is [""])
        {
            config.Entrypoint = [];
        }
        host.LogConfig ??= new LogConfig();
        host.LogConfig.Config ??= [];
        if (string.IsNullOrEmpty(host.LogConfig.Type))
        {
            host.LogConfig.Type = "json-file";
        }
        if (host.LogConfig.Type is not ("json-file" or "none"))
        {
            throw SkiffException.Invalid("skiff supports the json-file and none log drivers");
        }
        if (host.LogConfig.Type == "none" && host.LogConfig.Config.Count > 0)
        {
            throw SkiffException.Invalid("invalid logging opts for driver none");
        }
        LogOptions.MaxSize(host.LogConfig.Config);
        LogOptions.MaxFile(host.LogConfig.Config);
        host.RestartPolicy ??= new RestartPolicy();
        host.RestartPolicy.Name ??= "";
        if (host.RestartPolicy.Name is not ("" or "no" or "always" or "unless-stopped" or "on-failure"))
        {
            throw SkiffException.Invalid($"invalid restart policy '{host.RestartPolicy.Name}'");
        }
        host.NetworkMode = NetworkModes.Normalize(host.NetworkMode);
        if (host.PidsLimit is <= 0)
        {
            host.PidsLimit = null;
        }
    }

    private static Task List(ApiContext c, Daemon daemon)
    {
        var options = new ContainerListOptions
        {
            All = c.Query.Bool("all"),
            Limit = c.Query.Int("limit") ?? 0,
            Size = c.Query.Bool("size"),
            Filters = ContainerFilters.FromJson(c.Query.Get("filters")),
        };
        var list = ContainerList.List(daemon.Containers, options, new StoreImageLookup(daemon.Images));
        return c.JsonAsync(list, ContainerInspectJson.Default.ListContainerSummary);
    }

    private static Task Inspect(ApiContext c, Daemon daemon)
    {
        string id = Resolve(c, daemon);
        bool size = c.Query.Bool("size");
        var response = ContainerInspect.Inspect(daemon.Containers, id, size, size ? new StoreImageLookup(daemon.Images) : null);
        return c.JsonAsync(response, ContainerInspectJson.Default.ContainerInspectResponse);
    }

    private static async Task Start(ApiContext c, Daemon daemon, PendingAttaches attaches)
    {
        string id = Resolve(c, daemon);
        if (daemon.Containers.State(id).Running)
        {
            await c.StatusAsync(304);
            return;
        }
        await Task.Run(() => StartContainer(daemon, id, attaches));
        await c.StatusAsync(204);
    }

    /// <summary>
    /// Starts the container under a supervisor. Attaches that came before the start (run
    /// without -d, start -a) are connected before the container runs, so they miss none of
    /// its output and their stdin, held in their connections until now, reaches it.
    /// </summary>
    public static void StartContainer(Daemon daemon, string id, PendingAttaches attaches)
    {
        var store = daemon.Containers;
        string dir = store.Dir(id).Path;
        // Read first: a --rm container that ends at once is gone by the time the start returns.
        var def = store.Load(id);
        var waiting = attaches.Take(id);
        try
        {
            ContainerStart.Start(store, id, daemon.Binary, daemon.Paths.Root, waitAttach: waiting.Count > 0,
                spawned: waiting.Count == 0 ? null : () => waiting.ForEach(w => w.Connect(dir)));
        }
        catch
        {
            waiting.ForEach(w => w.Cancel());
            throw;
        }
        // Someone else started it first: the waiting attaches join the running container.
        waiting.ForEach(w => w.Connect(dir));
        ContainerEvents.Publish(daemon, "start", def);
    }

    /// <summary>?t= (seconds; -1 waits forever) and, since API 1.42, ?signal=.</summary>
    private static (int? Signal, int? Timeout) StopOptions(ApiContext c)
    {
        int? signal = c.Query.Get("signal") is { Length: > 0 } s ? Skiff.Linux.Signals.Parse(s) : null;
        int? timeout = null;
        if (c.Query.Get("t") is { Length: > 0 } t)
        {
            timeout = int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
                ? v
                : throw SkiffException.Invalid($"invalid value for t: {t}: a number of seconds");
        }
        return (signal, timeout);
    }

    private static async Task Stop(ApiContext c, Daemon daemon)
    {
        string id = Resolve(c, daemon);
        var (signal, timeout) = StopOptions(c);
        if (!daemon.Containers.State(id).Running)
        {
            await c.StatusAsync(304);
            return;
        }
        await Task.Run(() => ContainerLifecycle.Stop(daemon.Containers, id, signal, timeout));
        ContainerEvents.Publish(daemon, "stop", daemon.Containers.Load(id));
        await c.StatusAsync(204);
    }

    private static async Task Restart(ApiContext c, Daemon daemon, PendingAttaches attaches)
    {
        string id = Resolve(c, daemon);
        var (signal, timeout) = StopOptions(c);
        await Task.Run(() =>
        {
            if (daemon.Containers.State(id).Running)
            {
                ContainerLifecycle.Stop(daemon.Containers, id, signal, timeout);
            }
            StartContainer(daemon, id, attaches);
        });
        ContainerEvents.Publish(daemon, "restart", daemon.Containers.Load(id));
        await c.StatusAsync(204);
    }

    private static Task Kill(ApiContext c, Daemon daemon)
    {
        string id = Resolve(c, daemon);
        int signal = c.Query.Get("signal") is { Length: > 0 } s ? Skiff.Linux.Signals.Parse(s) : 9;
        var def = daemon.Containers.Load(id);
        try
        {
            ContainerSignals.Signal(daemon.Containers, id, signal);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.Conflict && e is not SystemCallException)
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Cannot kill container: {c.Route("id")}: Container {id} is not running");
        }
        ContainerEvents.Publish(daemon, "kill", def, new() { ["signal"] = signal.ToString(CultureInfo.InvariantCulture) });
        return c.StatusAsync(204);
    }

    /// <summary>
    /// The head goes out at once (the docker CLI sends /start only after it has it); the
    /// body, {"StatusCode"}, when the condition holds. The state the condition is judged
    /// against is read before the head leaves, so a container that starts and ends at once
    /// is not missed. A client that goes away ends the wait and nothing else.
    /// </summary>
    private static async Task Wait(ApiContext c, Daemon daemon)
    {
        string id = Resolve(c, daemon);
        var condition = ContainerWait.ParseCondition(c.Query.Get("condition"));
        var def = daemon.Containers.Load(id);
        var gone = c.Aborted;
        using var changes = daemon.Changes.Watch(id, daemon.Containers.Dir(id).Path);
        var waiting = ContainerWait.WaitAsync(daemon.Containers, id, condition, gone, changes.Pause);
        var body = await c.StreamAsync("application/json");
        await body.FlushAsync(gone);
        int code;
        try
        {
            code = await waiting;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        // The daemon learns of exits by waiting and looking: what a waiter saw is news for /events.
        if (LastState(daemon, id) is { } final)
        {
            ContainerEvents.Died(daemon, def, final);
        }
        if (condition == WaitCondition.Removed)
        {
            ContainerEvents.Destroyed(daemon, def);
        }
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new ContainerWaitResponse { StatusCode = code }, ContainerApiJson.Default.ContainerWaitResponse);
        await body.WriteAsync(bytes, gone);
        await body.WriteAsync("\n"u8.ToArray(), gone);
    }

    /// <summary>The state now, or the one a removal left behind; null when neither is there.</summary>
    private static ContainerState? LastState(Daemon daemon, string id)
    {
        try
        {
            return daemon.Containers.State(id);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            return daemon.Containers.Tombstone(id);
        }
    }

    private static async Task Remove(ApiContext c, Daemon daemon, PendingAttaches attaches)
    {
        string id = Resolve(c, daemon);
        var def = daemon.Containers.Load(id);
        bool force = c.Query.Bool("force"), volumes = c.Query.Bool("v");
        await Task.Run(() => ContainerLifecycle.Remove(daemon.Containers, id, force, volumes));
        attaches.Take(id).ForEach(a => a.Cancel());
        ContainerEvents.Destroyed(daemon, def);
        await c.StatusAsync(204);
    }

    private static Task Rename(ApiContext c, Daemon daemon)
    {
        string name = c.Query.Get("name") ?? "";
        var old = daemon.Containers.Load(Resolve(c, daemon));
        string id = ContainerRename.Rename(daemon.Containers, c.Route("id"), name);
        ContainerEvents.Publish(daemon, "rename", daemon.Containers.Load(id), new() { ["oldName"] = "/" + old.Name });
        return c.StatusAsync(204);
    }

    private static Task Pause(ApiContext c, Daemon daemon, bool pause)
    {
        string id = Resolve(c, daemon);
        if (pause)
        {
            ContainerPause.Pause(daemon.Containers, id);
        }
        else
        {
            ContainerPause.Unpause(daemon.Containers, id);
        }
        ContainerEvents.Publish(daemon, pause ? "pause" : "unpause", daemon.Containers.Load(id));
        return c.StatusAsync(204);
    }

    private static Task Resize(ApiContext c, Daemon daemon)
    {
        string id = Resolve(c, daemon);
        var (rows, cols) = Size(c);
        var state = daemon.Containers.State(id);
        if (!state.Running)
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is not running");
        }
        Supervisor.Resize(daemon.Containers.Dir(id).Path, rows, cols);
        return c.StatusAsync(200);
    }

    /// <summary>?h=ROWS&amp;w=COLS of the resize calls.</summary>
    public static (ushort Rows, ushort Cols) Size(ApiContext c)
    {
        static ushort Dimension(ApiContext c, string key) =>
            c.Query.Get(key) is { } v && ushort.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ushort n)
                ? n
                : throw SkiffException.Invalid($"invalid {key}: \"{c.Query.Get(key)}\": a number from 0 to 65535");
        return (Dimension(c, "h"), Dimension(c, "w"));
    }

    private static async Task Top(ApiContext c, Daemon daemon)
    {
        string reference = c.Route("id");
        string? psArgs = c.Query.Get("ps_args");
        var result = await Task.Run(() => ContainerTop.List(daemon.Containers, reference, psArgs));
        await c.JsonAsync(result, ContainerTopJson.Default.ContainerTopResult);
    }

    /// <summary>stream=false: one object (one-shot: without the second sample CPU % needs); else one a second until the client goes.</summary>
    private static async Task Stats(ApiContext c, Daemon daemon)
    {
        var store = daemon.Containers;
        string id = Resolve(c, daemon);
        bool stream = c.Query.Bool("stream", whenAbsent: true);
        if (!stream)
        {
            var interval = c.Query.Bool("one-shot") ? TimeSpan.Zero : ContainerStats.DefaultInterval;
            var one = await Task.Run(() => ContainerStats.Collect(store, [id], interval)[0]);
            await c.JsonAsync(one, ContainerStatsJsonContext.Default.ContainerStatsJson);
            return;
        }
        var gone = c.Aborted;
        var def = store.Load(id);
        var body = await c.StreamAsync("application/json");
        ContainerStatsJson? previous = null;
        try
        {
            while (!gone.IsCancellationRequested)
            {
                var now = ContainerStats.Sample(store, def);
                if (previous is not null && previous.Read != ContainerState.ZeroTime && now.Read != ContainerState.ZeroTime)
                {
                    now.PreCpuStats = previous.CpuStats;
                    now.PreRead = previous.Read;
                }
                previous = now;
                await body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(now, ContainerStatsJsonContext.Default.ContainerStatsJson), gone);
                await body.WriteAsync("\n"u8.ToArray(), gone);
                await body.FlushAsync(gone);
                await Task.Delay(TimeSpan.FromSeconds(1), gone);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            // Removed: the stream ends.
        }
    }

    private static Task Prune(ApiContext c, Daemon daemon, PendingAttaches attaches)
    {
        var store = daemon.Containers;
        var filters = ContainerFilters.FromJson(c.Query.Get("filters"));
        var removed = new List<ContainerDefinition>();
        var (deleted, reclaimed) = ContainerPrune.Prune(store, filters, id =>
        {
            var def = store.Load(id);
            ContainerLifecycle.Remove(store, id, force: false, removeVolumes: false);
            removed.Add(def);
        });
        foreach (var def in removed)
        {
            attaches.Take(def.Id).ForEach(a => a.Cancel());
            ContainerEvents.Destroyed(daemon, def);
        }
        daemon.Events.Publish("container", "prune", "", new() { ["reclaimed"] = reclaimed.ToString(CultureInfo.InvariantCulture) });
        var report = new ContainerPruneReport { ContainersDeleted = deleted.Count == 0 ? null : deleted, SpaceReclaimed = reclaimed };
        return c.JsonAsync(report, ContainerApiJson.Default.ContainerPruneReport);
    }
}
