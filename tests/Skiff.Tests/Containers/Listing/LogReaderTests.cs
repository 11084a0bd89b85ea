using System.Text;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class LogReaderTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();
    private static readonly DateTime T0 = new(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc);

    public void Dispose() => _dirs.Dispose();

    /// <summary>The follower's next wait after now (signals from earlier polls are dropped).</summary>
    private static async Task Idle(SemaphoreSlim idle, CancellationToken cancel)
    {
        while (idle.Wait(0))
        {
        }
        await idle.WaitAsync(cancel);
    }

    private async Task<List<string>> Read(string id, LogReadOptions options, CancellationToken cancel = default)
    {
        var lines = new List<string>();
        await foreach (var e in LogReader.Open(_dirs.Store, id, options).WithCancellation(cancel))
        {
            lines.Add((e.Stream == LogStream.Stderr ? "E:" : "O:") + Encoding.UTF8.GetString(e.Line));
        }
        return lines;
    }

    /// <summary>Lines 1..n, one second apart, the odd ones on stderr, spread over the current file and two rotated ones.</summary>
    private string Rotated(int perFile = 3)
    {
        var id = _dirs.Add("c", "exited", finishedAgo: TimeSpan.FromSeconds(1));
        string log = _dirs.LogPath(id);
        int n = 1;
        foreach (var file in new[] { log + ".2", log + ".1", log })
        {
            for (int i = 0; i < perFile; i++, n++)
            {
                _dirs.AppendLog(id, n % 2 == 1 ? "stderr" : "stdout", $"line {n}\n", T0.AddSeconds(n), file);
            }
        }
        return id;
    }

    [Fact]
    public async Task Everything_oldest_file_first_on_its_own_stream()
    {
        var id = Rotated();

        var lines = await Read(id, new LogReadOptions());

        Assert.Equal(Enumerable.Range(1, 9).Select(n => (n % 2 == 1 ? "E:" : "O:") + $"line {n}\n"), lines);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(4, 4)]
    [InlineData(8, 8)]
    [InlineData(100, 9)]
    public async Task Tail_counts_back_across_rotated_files(int tail, int expected)
    {
        var id = Rotated();

        var lines = await Read(id, new LogReadOptions { Tail = tail });

        Assert.Equal(Enumerable.Range(10 - expected, expected).Select(n => (n % 2 == 1 ? "E:" : "O:") + $"line {n}\n"), lines);
    }

    [Fact]
    public async Task Since_and_until_bound_by_time_and_streams_can_be_left_out()
    {
        var id = Rotated();

        var lines = await Read(id, new LogReadOptions { Since = T0.AddSeconds(3), Until = T0.AddSeconds(6), Stderr = false });

        Assert.Equal(["O:line 4\n", "O:line 6\n"], lines);
    }

    [Fact]
    public async Task A_line_still_being_written_is_not_read_and_garbage_is_skipped()
    {
        var id = _dirs.Add("c", "exited", finishedAgo: TimeSpan.FromSeconds(1));
        _dirs.AppendLog(id, "stdout", "whole\n", T0);
        File.AppendAllText(_dirs.LogPath(id), "not json\n{\"log\":\"half");

        Assert.Equal(["O:whole\n"], await Read(id, new LogReadOptions()));
    }

    [Fact]
    public async Task A_container_that_never_ran_has_no_log()
    {
        var id = _dirs.Add("c", "created");

        Assert.Empty(await Read(id, new LogReadOptions { Follow = true, Tail = 5 }));
    }

    [Fact]
    public void The_none_driver_cannot_be_read_and_says_so_before_anything_is_enumerated()
    {
        var id = _dirs.Add("c", configure: d => d.HostConfig.LogConfig.Type = "none");

        var e = Assert.Throws<SkiffException>(() => LogReader.Open(_dirs.Store, id, new LogReadOptions()));
        Assert.Equal("configured logging driver does not support reading", e.Message);
        Assert.Equal("No such container: nope", Assert.Throws<SkiffException>(() => LogReader.Open(_dirs.Store, "nope", new LogReadOptions())).Message);
    }

    [Fact]
    public async Task Follow_reads_on_through_a_rotation_and_ends_when_the_container_stops()
    {
        var id = _dirs.Add("c", "running");
        string log = _dirs.LogPath(id);
        _dirs.AppendLog(id, "stdout", "before\n", T0);
        var seen = new List<string>();
        var idle = new SemaphoreSlim(0);
        var options = new LogReadOptions { Follow = true, PollInterval = TimeSpan.FromMilliseconds(10), OnIdle = () => idle.Release() };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var reading = Task.Run(async () =>
        {
            await foreach (var e in LogReader.Open(_dirs.Store, id, options).WithCancellation(timeout.Token))
            {
                lock (seen)
                {
                    seen.Add(Encoding.UTF8.GetString(e.Line));
                }
            }
        });

        await Idle(idle, timeout.Token);
        _dirs.AppendLog(id, "stdout", "grown\n", T0.AddSeconds(1));
        await Idle(idle, timeout.Token);
        // The supervisor's rotation: the file is renamed and a new one started.
        File.Move(log, log + ".1");
        _dirs.AppendLog(id, "stderr", "rotated\n", T0.AddSeconds(2));
        await Idle(idle, timeout.Token);
        Assert.False(reading.IsCompleted);
        // The last words and the exit, with the supervisor gone.
        _dirs.AppendLog(id, "stdout", "last\n", T0.AddSeconds(3));
        _dirs.SetState(id, s =>
        {
            s.Status = "exited";
            s.SupervisorPid = 0;
            s.Pid = 0;
            s.FinishedAt = ContainerDirs.Time(T0.AddSeconds(3));
        });
        await reading.WaitAsync(timeout.Token);

        Assert.Equal(["before\n", "grown\n", "rotated\n", "last\n"], seen);
    }

    [Fact]
    public async Task Follow_misses_nothing_when_several_rotations_pass_between_two_looks()
    {
        var id = _dirs.Add("c", "running");
        string log = _dirs.LogPath(id);
        _dirs.AppendLog(id, "stdout", "a\n", T0);
        var seen = new List<string>();
        var idle = new SemaphoreSlim(0);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var options = new LogReadOptions { Follow = true, PollInterval = TimeSpan.FromMilliseconds(500), OnIdle = () => idle.Release() };
        var reading = Task.Run(async () =>
        {
            await foreach (var e in LogReader.Open(_dirs.Store, id, options).WithCancellation(timeout.Token))
            {
                lock (seen)
                {
                    seen.Add(Encoding.UTF8.GetString(e.Line));
                }
            }
        });

        await Idle(idle, timeout.Token);
        // While the follower sleeps: a line for its file, then two rotations (max-file 3).
        _dirs.AppendLog(id, "stdout", "b\n", T0.AddSeconds(1));
        File.Move(log, log + ".1");
        _dirs.AppendLog(id, "stdout", "c\n", T0.AddSeconds(2));
        File.Move(log + ".1", log + ".2");
        File.Move(log, log + ".1");
        _dirs.AppendLog(id, "stdout", "d\n", T0.AddSeconds(3));
        _dirs.SetState(id, s =>
        {
            s.Status = "exited";
            s.SupervisorPid = 0;
        });
        await reading.WaitAsync(timeout.Token);

        Assert.Equal(["a\n", "b\n", "c\n", "d\n"], seen);
    }

    [Fact]
    public async Task Follow_starts_over_in_a_file_truncated_in_place()
    {
        var id = _dirs.Add("c", "running");
        string log = _dirs.LogPath(id);
        _dirs.AppendLog(id, "stdout", "a fairly long first line that makes the file long\n", T0);
        var seen = new List<string>();
        var idle = new SemaphoreSlim(0);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var options = new LogReadOptions { Follow = true, PollInterval = TimeSpan.FromMilliseconds(10), OnIdle = () => idle.Release() };
        var reading = Task.Run(async () =>
        {
            await foreach (var e in LogReader.Open(_dirs.Store, id, options).WithCancellation(timeout.Token))
            {
                lock (seen)
                {
                    seen.Add(Encoding.UTF8.GetString(e.Line));
                }
            }
        });

        await Idle(idle, timeout.Token);
        // max-file 1: the supervisor truncates the one file.
        File.WriteAllText(log, ContainerDirs.Record("stdout", "x\n", T0.AddSeconds(1)));
        await Idle(idle, timeout.Token);
        await Idle(idle, timeout.Token);
        _dirs.SetState(id, s =>
        {
            s.Status = "exited";
            s.SupervisorPid = 0;
        });
        await reading.WaitAsync(timeout.Token);

        Assert.Equal(["a fairly long first line that makes the file long\n", "x\n"], seen);
    }

    [Fact]
    public void Record_times_keep_their_nanoseconds()
    {
        Assert.True(LogReader.TryParse("{\"log\":\"hi\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-28T08:00:00.123456789Z\"}"u8, out var e));

        Assert.Equal(LogStream.Stderr, e.Stream);
        Assert.Equal("hi\n", Encoding.UTF8.GetString(e.Line));
        Assert.Equal("2026-11-28T08:00:00.123456789Z", e.Timestamp);
        Assert.Equal(new DateTime(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc).AddTicks(1234567), e.Time);
        Assert.True(LogReader.TryParse("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2026-11-28T09:00:00.5+01:00\",\"attrs\":{\"b\":\"2\",\"a\":\"x y\"}}"u8, out var f));
        Assert.Equal("2026-11-28T08:00:00.500000000Z", f.Timestamp);
        Assert.Equal("a=x+y,b=2", f.Attrs);
    }

    [Fact]
    public void Since_and_until_values_read_as_dockers_GetTimestamp()
    {
        var now = new DateTime(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc);

        Assert.Equal(now.AddMinutes(-10), DockerTime.Parse("10m", now));
        Assert.Equal(now.AddHours(-1.5), DockerTime.Parse("1h30m", now));
        Assert.Equal(now.AddMilliseconds(-1500), DockerTime.Parse("1.5s", now));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1136073600), DockerTime.Parse("1136073600", now));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1136073600).AddTicks(5), DockerTime.Parse("1136073600.0000005", now));
        Assert.Equal(new DateTime(2013, 1, 2, 13, 23, 37, DateTimeKind.Utc), DockerTime.Parse("2013-01-02T13:23:37Z", now));
        Assert.Equal(new DateTime(2013, 1, 2, 12, 23, 37, DateTimeKind.Utc), DockerTime.Parse("2013-01-02T13:23:37+01:00", now));
        Assert.Equal(new DateTime(2013, 1, 2, 13, 23, 37, DateTimeKind.Utc).AddTicks(1234567), DockerTime.Parse("2013-01-02T13:23:37.123456789Z", now));
        Assert.Equal(DateTime.UnixEpoch, DockerTime.Parse("0", now));
        Assert.Equal("failed to parse value as time or duration: \"yesterday\"", Assert.Throws<SkiffException>(() => DockerTime.Parse("yesterday", now)).Message);
        Assert.False(DockerTime.TryParse("2013-13-45", now, out _));
    }
}
