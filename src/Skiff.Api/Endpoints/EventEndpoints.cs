using System.Globalization;
using System.Text.Json;
using Skiff.Api.Events;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;

namespace Skiff.Api.Endpoints;

/// <summary>
/// GET /events?since&amp;until&amp;filters: what the daemon's endpoints did, and the exits of
/// containers (seen by a watcher that runs while someone listens), as JSON lines. Without
/// until, the stream stays open until the client goes.
/// </summary>
public static class EventEndpoints
{
    private static readonly string[] Accepted =
        ["container", "event", "type", "image", "label", "volume", "network", "daemon", "scope", "config", "node", "plugin", "secret", "service"];

    public static void Map(Router routes, Daemon daemon)
    {
        var watcher = new ExitWatcher(daemon);
        daemon.Events.FirstSubscriber += watcher.Start;
        routes.Get("/events", c => Stream(c, daemon));
    }

    private static async Task Stream(ApiContext c, Daemon daemon)
    {
        var now = DateTime.UtcNow;
        var filters = Filters.Parse(c.Query.Get("filters"));
        filters.Allow(Accepted);
        long? since = Nanos(c, "since", now), until = Nanos(c, "until", now);
        if (since is { } s && until is { } u && s > u)
        {
            throw SkiffException.Invalid("`since` time must be before `until` time");
        }
        var gone = c.Aborted;
        using var subscription = daemon.Events.Subscribe();
        var body = await c.StreamAsync("application/json");
        await body.FlushAsync(gone);
        // Without since, only what happens from now on (as dockerd).
        foreach (var e in since is null ? [] : subscription.Past)
        {
            if (e.TimeNano >= since && (until is null || e.TimeNano <= until) && Matches(filters, e))
            {
                await WriteAsync(body, e, gone);
            }
        }
        await body.FlushAsync(gone);
        if (until is { } end && end <= NowNanos())
        {
            return;
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(gone);
        if (until is { } stop)
        {
            deadline.CancelAfter(TimeSpan.FromTicks(Math.Max(0, (stop - NowNanos()) / 100)));
        }
        try
        {
            await foreach (var e in subscription.Live.ReadAllAsync(deadline.Token))
            {
                if ((since is null || e.TimeNano >= since) && Matches(filters, e))
                {
                    await WriteAsync(body, e, gone);
                    await body.FlushAsync(gone);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Unix seconds (with a fraction, as the CLI sends them) or Docker's other forms, as nanoseconds since the epoch.</summary>
    private static long? Nanos(ApiContext c, string key, DateTime now)
    {
        if (c.Query.Get(key) is not { Length: > 0 } value)
        {
            return null;
        }
        DateTime t;
        try
        {
            t = DockerTime.Parse(value, now);
        }
        catch (SkiffException e)
        {
            throw SkiffException.Invalid($"invalid value for \"{key}\": {e.Message}");
        }
        return (t.Ticks - DateTime.UnixEpoch.Ticks) * 100;
    }

    private static async Task WriteAsync(Stream body, EventMessage e, CancellationToken ct)
    {
        await body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(e, ContainerApiJson.Default.EventMessage), ct);
        await body.WriteAsync("\n"u8.ToArray(), ct);
    }

    /// <summary>Docker's event filters: container (id or name), event, type, image, label, volume, network, daemon, scope.</summary>
    public static bool Matches(Filters f, EventMessage e)
    {
        var attrs = e.Actor.Attributes;
        bool Any(string key, Func<string, bool> match) => !f.Has(key) || f.Values(key).Any(match);
        return Any("type", t => t == e.Type)
               && Any("event", a => a == e.Action || e.Action.StartsWith(a + ":", StringComparison.Ordinal))
               && Any("container", v => e.Type == "container" && (e.Actor.ID.StartsWith(v, StringComparison.Ordinal) || attrs.GetValueOrDefault("name") == v))
               && Any("image", v => attrs.GetValueOrDefault("image") == v || e.Type == "image" && e.Actor.ID == v)
               && Any("volume", v => e.Type == "volume" && e.Actor.ID == v)
               && Any("network", v => e.Type == "network" && e.Actor.ID == v)
               && Any("scope", v => v == e.Scope)
               && Any("daemon", _ => e.Type == "daemon")
               && f.MatchLabels(attrs);
    }
}

/// <summary>Container events: Docker's attributes (image, name, and the container's labels).</summary>
public static class ContainerEvents
{
    public static void Publish(Daemon daemon, string action, ContainerDefinition def, Dictionary<string, string>? extra = null)
    {
        var attributes = new Dictionary<string, string>(def.Config.Labels ?? [], StringComparer.Ordinal)
        {
            ["image"] = def.Config.Image,
            ["name"] = def.Name,
        };
        foreach (var (k, v) in extra ?? [])
        {
            attributes[k] = v;
        }
        daemon.Events.Publish("container", action, def.Id, attributes);
    }

    /// <summary>die, once per exit (a container and its finish time), whoever noticed first: a waiter or the watcher.</summary>
    public static void Died(Daemon daemon, ContainerDefinition def, ContainerState state)
    {
        if (state.Running || state.FinishedAt == ContainerState.ZeroTime)
        {
            return;
        }
        lock (DiedAt)
        {
            if (DiedAt.TryGetValue(def.Id, out var seen) && seen == state.FinishedAt)
            {
                return;
            }
            if (DiedAt.Count > 4096)
            {
                DiedAt.Clear();
            }
            DiedAt[def.Id] = state.FinishedAt;
        }
        Publish(daemon, "die", def, new() { ["exitCode"] = state.ExitCode.ToString(CultureInfo.InvariantCulture) });
    }

    private static readonly Dictionary<string, string> DiedAt = new(StringComparer.Ordinal);

    /// <summary>destroy, once per container, whoever noticed first (an endpoint, or the watcher for a --rm container).</summary>
    public static void Destroyed(Daemon daemon, ContainerDefinition def)
    {
        lock (DestroyedIds)
        {
            if (!DestroyedIds.Add(def.Id))
            {
                return;
            }
            if (DestroyedIds.Count > 4096)
            {
                DestroyedIds.Clear();
                DestroyedIds.Add(def.Id);
            }
        }
        Publish(daemon, "destroy", def);
    }

    private static readonly HashSet<string> DestroyedIds = new(StringComparer.Ordinal);
}

/// <summary>
/// While someone listens to /events, looks at the store every quarter second for
/// containers that stopped (die, with the exit code) or went away (destroy): a container's
/// supervisor ends it, not the daemon, so the daemon learns of it by looking. A container
/// started through the API is followed even if it starts and ends between two looks.
/// </summary>
internal sealed class ExitWatcher
{
    private readonly Daemon _daemon;
    private readonly Dictionary<string, ContainerDefinition> _started = new(StringComparer.Ordinal);
    private int _running;

    public ExitWatcher(Daemon daemon)
    {
        _daemon = daemon;
        daemon.Events.Published += e =>
        {
            if (e.Type == "container" && e.Action is "start" or "restart" && Volatile.Read(ref _running) == 1)
            {
                try
                {
                    var def = daemon.Containers.Load(e.Actor.ID);
                    lock (_started)
                    {
                        _started[def.Id] = def;
                    }
                }
                catch (SkiffException)
                {
                    // Gone already: the next look cannot tell it from one never seen.
                }
            }
        };
    }

    public void Start()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0)
        {
            _ = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        var known = Snapshot();
        try
        {
            while (_daemon.Events.Subscribers > 0)
            {
                await Task.Delay(250);
                Dictionary<string, ContainerDefinition> started;
                lock (_started)
                {
                    started = new Dictionary<string, ContainerDefinition>(_started, StringComparer.Ordinal);
                    _started.Clear();
                }
                var now = Snapshot();
                foreach (var id in known.Keys.Union(started.Keys).ToList())
                {
                    known.TryGetValue(id, out var before);
                    var def = before.Def ?? started[id];
                    if (now.TryGetValue(id, out var current))
                    {
                        if (Ended(before.State, current.State))
                        {
                            Die(def, current.State);
                        }
                        continue;
                    }
                    if (before.State is null || before.State.Running || started.ContainsKey(id))
                    {
                        Die(def, _daemon.Containers.Tombstone(id) ?? before.State ?? new ContainerState());
                    }
                    ContainerEvents.Destroyed(_daemon, def);
                }
                foreach (var (id, current) in now)
                {
                    if (!known.ContainsKey(id) && !started.ContainsKey(id) && Ended(null, current.State))
                    {
                        Die(current.Def, current.State);
                    }
                }
                known = now;
            }
        }
        finally
        {
            Interlocked.Exchange(ref _running, 0);
            // A subscriber that came as we were leaving would otherwise go without exits.
            if (_daemon.Events.Subscribers > 0)
            {
                Start();
            }
        }
    }

    /// <summary>An exit since the last look: a new finish time while not running, or a restart.</summary>
    private static bool Ended(ContainerState? before, ContainerState now) =>
        !now.Running && now.FinishedAt != ContainerState.ZeroTime && now.FinishedAt != (before?.FinishedAt ?? ContainerState.ZeroTime)
        || before is not null && now.RestartCount != before.RestartCount;

    private void Die(ContainerDefinition def, ContainerState state) => ContainerEvents.Died(_daemon, def, state);

    private Dictionary<string, (ContainerDefinition Def, ContainerState State)> Snapshot()
    {
        var result = new Dictionary<string, (ContainerDefinition, ContainerState)>(StringComparer.Ordinal);
        try
        {
            foreach (var def in _daemon.Containers.List())
            {
                try
                {
                    result[def.Id] = (def, _daemon.Containers.State(def.Id));
                }
                catch (SkiffException)
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return result;
    }
}
