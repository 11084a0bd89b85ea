using Skiff.Api.Events;
using Skiff.Engine.Containers;
using Skiff.Images;
using Skiff.Runtime;

namespace Skiff.Api;

/// <summary>What every endpoint shares: the store, where things live, who the daemon runs as, its version.</summary>
public sealed class Daemon
{
    public required SkiffPaths Paths { get; init; }

    /// <summary>The image store, opened for writing (rootless: inside the keeper's user namespace).</summary>
    public required ImageStore Images { get; init; }

    public required bool Rootless { get; init; }

    /// <summary>skiff's version ("0.1.0") and commit, as `skiff version` prints them.</summary>
    public required string Version { get; init; }

    public required string Commit { get; init; }

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    /// <summary>The containers of the storage root: the same files the `skiff` verbs read and write.</summary>
    public ContainerStore Containers => _containers ??= new ContainerStore(Paths);

    private ContainerStore? _containers;

    /// <summary>The skiff binary that supervisors, their workers and exec children run.</summary>
    public string Binary { get; init; } = Environment.ProcessPath ?? "/proc/self/exe";

    /// <summary>Wakes waiters when a container's files change (inotify), so a wait ends as soon as the container does.</summary>
    public ContainerChanges Changes => LazyInitializer.EnsureInitialized(ref _changes, () => new ContainerChanges(Paths.Containers));

    private ContainerChanges? _changes;

    /// <summary>What GET /events streams: the endpoints publish, a watcher adds exits.</summary>
    public EventBus Events { get; } = new();

    /// <summary>For /info; the container endpoints supply the real figures.</summary>
    public Func<ContainerCounts> ContainerCounts { get; set; } = () => default;
}

public readonly record struct ContainerCounts(int Running, int Paused, int Stopped);
