using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class WaitTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(20));

    public void Dispose()
    {
        _timeout.Dispose();
        _dirs.Dispose();
    }

    private void Exit(string id, int code, int restarts = 0) => _dirs.SetState(id, s =>
    {
        s.Status = "exited";
        s.ExitCode = code;
        s.Pid = 0;
        s.SupervisorPid = 0;
        s.StartedAt = ContainerDirs.Time(DateTime.UtcNow.AddMilliseconds(-5));
        s.FinishedAt = ContainerDirs.Time(DateTime.UtcNow);
        s.RestartCount = restarts;
    });

    [Fact]
    public async Task A_stopped_container_answers_at_once()
    {
        var id = _dirs.Add("done", "exited", finishedAgo: TimeSpan.FromSeconds(5), exitCode: 3);
        var created = _dirs.Add("new", "created");

        Assert.Equal(3, await ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NotRunning, _timeout.Token));
        Assert.Equal(0, await ContainerWait.WaitAsync(_dirs.Store, created, WaitCondition.NotRunning, _timeout.Token));
    }

    [Fact]
    public async Task A_running_container_is_waited_for()
    {
        var id = _dirs.Add("up");

        var wait = ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NotRunning, _timeout.Token);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);
        Exit(id, 42);

        Assert.Equal(42, await wait);
    }

    [Fact]
    public async Task Next_exit_of_a_container_not_started_yet_is_not_missed_however_short_it_runs()
    {
        var id = _dirs.Add("new", "created");

        var wait = ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NextExit, _timeout.Token);
        // Started and exited between two looks: only the finish time tells.
        Exit(id, 7);

        Assert.Equal(7, await wait);
    }

    [Fact]
    public async Task Next_exit_of_a_stopped_container_waits_for_it_to_run_and_stop_again()
    {
        var id = _dirs.Add("old", "exited", finishedAgo: TimeSpan.FromMinutes(1), exitCode: 1);

        var wait = ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NextExit, _timeout.Token);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);
        Exit(id, 5);

        Assert.Equal(5, await wait);
    }

    [Fact]
    public async Task Next_exit_sees_a_restart_policy_restart()
    {
        var id = _dirs.Add("flaky");

        var wait = ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NextExit, _timeout.Token);
        _dirs.SetState(id, s =>
        {
            s.Status = "restarting";
            s.ExitCode = 2;
            s.FinishedAt = ContainerDirs.Time(DateTime.UtcNow);
        });

        Assert.Equal(2, await wait);
    }

    [Fact]
    public async Task Removed_waits_for_the_directory_to_go_and_learns_the_exit_code_it_left()
    {
        var id = _dirs.Add("rm-me");

        var wait = ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.Removed, _timeout.Token);
        Exit(id, 3);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);
        _dirs.Store.Delete(id, p => Directory.Delete(p, recursive: true));

        Assert.Equal(3, await wait);
        Assert.False(Directory.Exists(_dirs.Dir(id)));
    }

    [Fact]
    public async Task A_container_removed_before_it_was_seen_stopped_still_has_its_code()
    {
        var id = _dirs.Add("gone");
        Exit(id, 9);
        _dirs.Store.Delete(id, p => Directory.Delete(p, recursive: true));

        Assert.Equal(9, _dirs.Store.Tombstone(id)!.ExitCode);
        await Assert.ThrowsAsync<SkiffException>(() => ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NotRunning, _timeout.Token));
    }

    [Fact]
    public async Task A_wait_can_be_given_up()
    {
        var id = _dirs.Add("up");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ContainerWait.WaitAsync(_dirs.Store, id, WaitCondition.NotRunning, cancel.Token));
    }

    [Fact]
    public void Conditions_are_dockers_words()
    {
        Assert.Equal(WaitCondition.NotRunning, ContainerWait.ParseCondition(null));
        Assert.Equal(WaitCondition.NotRunning, ContainerWait.ParseCondition("not-running"));
        Assert.Equal(WaitCondition.NextExit, ContainerWait.ParseCondition("next-exit"));
        Assert.Equal(WaitCondition.Removed, ContainerWait.ParseCondition("removed"));
        Assert.Throws<SkiffException>(() => ContainerWait.ParseCondition("whenever"));
    }
}

public sealed class RenameTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void A_rename_moves_the_name_and_frees_the_old_one()
    {
        var id = _dirs.Add("old");

        ContainerRename.Rename(_dirs.Store, "old", "new");

        Assert.Equal(id, _dirs.Store.Resolve("new"));
        Assert.Equal("new", _dirs.Store.Load(id).Name);
        Assert.Throws<SkiffException>(() => _dirs.Store.Resolve("old"));
        _dirs.Add("old");
    }

    [Fact]
    public void A_name_in_use_is_a_conflict_and_nothing_changes()
    {
        var a = _dirs.Add("a1");
        var b = _dirs.Add("b1");

        var e = Assert.Throws<SkiffException>(() => ContainerRename.Rename(_dirs.Store, "a1", "b1"));

        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Equal($"Error when allocating new name: Conflict. The container name \"/b1\" is already in use by container \"{b}\". You have to remove (or rename) that container to be able to reuse that name.", e.Message);
        Assert.Equal(a, _dirs.Store.Resolve("a1"));
        Assert.Equal("a1", _dirs.Store.Load(a).Name);
    }

    [Theory]
    [InlineData("x!", "Error when allocating new name: Invalid container name (/x!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData("x", "Error when allocating new name: Invalid container name (/x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData("-ab", "Error when allocating new name: Invalid container name (/-ab), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData("same", "Renaming a container with the same name as its current name")]
    [InlineData("/same", "Renaming a container with the same name as its current name")]
    [InlineData("", "Neither old nor new names may be empty")]
    public void Bad_names_get_dockers_messages(string name, string message)
    {
        _dirs.Add("same");

        Assert.Equal(message, Assert.Throws<SkiffException>(() => ContainerRename.Rename(_dirs.Store, "same", name)).Message);
    }

    [Fact]
    public void Valid_names_follow_dockers_pattern()
    {
        Assert.True(ContainerRename.IsValidName("ab"));
        Assert.True(ContainerRename.IsValidName("/a.b_c-9"));
        Assert.False(ContainerRename.IsValidName("a"));
        Assert.False(ContainerRename.IsValidName("a/b"));
        Assert.False(ContainerRename.IsValidName("_ab"));
    }
}

public sealed class PruneTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private (List<string> Deleted, long Reclaimed) Prune(params string[] filters) =>
        ContainerPrune.Prune(_dirs.Store, ContainerFilters.Parse(filters), id => _dirs.Store.Delete(id, p => Directory.Delete(p, recursive: true)), _dirs.Now);

    [Fact]
    public void Stopped_and_created_containers_go_running_ones_stay()
    {
        var exited = _dirs.Add("exited", "exited", finishedAgo: TimeSpan.FromSeconds(3));
        var created = _dirs.Add("created", "created");
        var up = _dirs.Add("up");
        Directory.CreateDirectory(Path.Combine(_dirs.Dir(exited), "upper"));
        File.WriteAllBytes(Path.Combine(_dirs.Dir(exited), "upper", "f"), new byte[2048]);

        var (deleted, reclaimed) = Prune();

        Assert.Equal(new[] { exited, created }.Order(), deleted.Order());
        Assert.Equal(2048, reclaimed);
        Assert.Equal(up, _dirs.Store.Resolve("up"));
        Assert.Throws<SkiffException>(() => _dirs.Store.Resolve("exited"));
    }

    [Fact]
    public void Until_and_labels_narrow_it()
    {
        var old = _dirs.Add("old", "exited", createdAgo: TimeSpan.FromHours(3), finishedAgo: TimeSpan.FromHours(2));
        var recent = _dirs.Add("recent", "exited", createdAgo: TimeSpan.FromMinutes(5), finishedAgo: TimeSpan.FromMinutes(1),
            configure: d => d.Config.Labels = new() { ["keep"] = "yes" });

        Assert.Equal([old], Prune("until=1h").Deleted);
        Assert.Empty(Prune("label!=keep").Deleted);
        Assert.Equal([recent], Prune("label=keep=yes").Deleted);
    }

    [Fact]
    public void Unknown_filters_are_refused()
    {
        Assert.Equal("invalid filter 'status'", Assert.Throws<SkiffException>(() => Prune("status=exited")).Message);
    }
}
