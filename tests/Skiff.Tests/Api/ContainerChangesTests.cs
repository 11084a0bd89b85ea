using Skiff.Api.Events;

namespace Skiff.Tests.Api;

/// <summary>The daemon's inotify watch that ends a waiter's pause when a container's files change.</summary>
public sealed class ContainerChangesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-changes-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Containers => Path.Combine(_root, "containers");

    [Fact]
    public async Task A_new_state_file_ends_the_pause_at_once()
    {
        string dir = Path.Combine(Containers, "c1");
        Directory.CreateDirectory(dir);
        using var changes = new ContainerChanges(Containers);
        using var watch = changes.Watch("c1", dir);

        var pause = watch.Pause(TimeSpan.FromSeconds(30), CancellationToken.None);
        await Task.Delay(50);
        Assert.False(pause.IsCompleted);
        // The supervisor's way: a temporary file renamed over state.json.
        File.WriteAllText(Path.Combine(dir, "state.json.tmp"), "{}");
        File.Move(Path.Combine(dir, "state.json.tmp"), Path.Combine(dir, "state.json"), overwrite: true);

        await pause.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_removed_container_ends_the_pause_and_others_are_not_woken()
    {
        string dir = Path.Combine(Containers, "c2"), other = Path.Combine(Containers, "c3");
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(other);
        using var changes = new ContainerChanges(Containers);
        using var watch = changes.Watch("c2", dir);
        using var otherWatch = changes.Watch("c3", other);

        var pause = watch.Pause(TimeSpan.FromSeconds(30), CancellationToken.None);
        var otherPause = otherWatch.Pause(TimeSpan.FromSeconds(30), CancellationToken.None);
        // The store's way: renamed aside, then deleted.
        Directory.Move(dir, Path.Combine(Containers, ".tmp-doomed"));

        await pause.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(100);
        Assert.False(otherPause.IsCompleted);
    }

    [Fact]
    public async Task Without_changes_a_pause_ends_after_its_time_and_cancels_when_asked()
    {
        string dir = Path.Combine(Containers, "c4");
        Directory.CreateDirectory(dir);
        using var changes = new ContainerChanges(Containers);
        using var watch = changes.Watch("c4", dir);

        await watch.Pause(TimeSpan.FromMilliseconds(10), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        using var cancel = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watch.Pause(TimeSpan.FromSeconds(30), cancel.Token));
    }
}
