using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

public sealed class SupervisedStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Times_have_nine_fraction_digits_and_read_back()
    {
        var t = new DateTime(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc).AddTicks(1234567);

        string text = ContainerState.FormatTime(t);

        Assert.Equal("2026-11-28T08:00:00.123456700Z", text);
        Assert.Equal(t, ContainerState.ParseTime(text));
        Assert.Equal(t, ContainerState.ParseTime("2026-11-28T08:00:00.123456789Z"));
        Assert.Null(ContainerState.ParseTime(ContainerState.ZeroTime));
    }

    [Fact]
    public void The_file_round_trips_with_the_supervisor_field_names()
    {
        var state = new ContainerState { Status = "running", Pid = 12, PidStart = 34, SupervisorPid = 56, SupervisorStart = 78, RestartCount = 2, Error = "é \"x\"" };

        ContainerStateFile.Write(_dir, state);
        string text = File.ReadAllText(Path.Combine(_dir, "state.json"));
        var back = ContainerStateFile.Read(_dir)!;

        Assert.Contains("\"SupervisorPid\":56", text);
        Assert.Contains("\"StartedAt\":\"0001-01-01T00:00:00Z\"", text);
        Assert.Equal("running", back.Status);
        Assert.Equal(34ul, back.PidStart);
        Assert.Equal(2, back.RestartCount);
        Assert.Equal("é \"x\"", back.Error);
        Assert.False(File.Exists(Path.Combine(_dir, "state.json.tmp")));
    }

    [Fact]
    public void A_missing_file_reads_as_null()
    {
        Assert.Null(ContainerStateFile.Read(_dir));
    }

    [Fact]
    public void Reads_what_the_supervisor_writes()
    {
        File.WriteAllText(Path.Combine(_dir, "state.json"),
            "{\"Status\":\"exited\",\"Pid\":0,\"PidStart\":0,\"SupervisorPid\":9,\"SupervisorStart\":10,\"ExitCode\":3,"
            + "\"StartedAt\":\"2026-11-28T08:00:00.000000001Z\",\"FinishedAt\":\"2026-11-28T08:00:01.999999999Z\",\"RestartCount\":0,\"Error\":\"\"}\n");

        var state = ContainerStateFile.Read(_dir)!;

        Assert.Equal(3, state.ExitCode);
        Assert.Equal(new DateTime(2026, 11, 28, 8, 0, 1, DateTimeKind.Utc).AddTicks(9_999_999), ContainerState.ParseTime(state.FinishedAt));
    }

    [Fact]
    public unsafe void A_running_state_whose_supervisor_is_dead_is_observed_as_exited()
    {
        // A pid with a start time no live process has: a supervisor that is gone.
        ContainerStateFile.Write(_dir, new ContainerState { Status = "running", Pid = 0, SupervisorPid = Environment.ProcessId, SupervisorStart = 1 });

        var state = ContainerStateFile.Observe(_dir)!;

        Assert.Equal("exited", state.Status);
        Assert.Equal(255, state.ExitCode);
        Assert.Contains("supervisor", state.Error);
    }

    [Fact]
    public unsafe void A_running_state_with_a_live_supervisor_is_left_alone()
    {
        ulong start;
        Assert.True(Interop.Shim.ProcessStartTime(Environment.ProcessId, &start) >= 0);
        ContainerStateFile.Write(_dir, new ContainerState { Status = "running", Pid = 1, SupervisorPid = Environment.ProcessId, SupervisorStart = start });

        var state = ContainerStateFile.Observe(_dir)!;

        Assert.Equal("running", state.Status);
        Assert.True(ProcessLiveness.IsAlive(Environment.ProcessId, start));
        Assert.False(ProcessLiveness.IsAlive(Environment.ProcessId, start + 1));
    }

    [Fact]
    public void The_hand_written_state_json_reads_back_whole()
    {
        var state = new ContainerState
        {
            Status = "exited", Pid = 12, PidStart = ulong.MaxValue, SupervisorPid = 34, SupervisorStart = 56, ExitCode = 137,
            StartedAt = "2026-11-28T08:00:00.123456789Z", FinishedAt = "2026-11-28T08:00:01.000000000Z", RestartCount = 2,
            OOMKilled = true, Error = "a \"quoted\" error",
        };
        var back = ContainerStateFile.Parse(ContainerStateFile.ToJson(state));
        Assert.Equal(
            (state.Status, state.Pid, state.PidStart, state.SupervisorPid, state.SupervisorStart, state.ExitCode, state.StartedAt, state.FinishedAt, state.RestartCount, state.OOMKilled, state.Error),
            (back.Status, back.Pid, back.PidStart, back.SupervisorPid, back.SupervisorStart, back.ExitCode, back.StartedAt, back.FinishedAt, back.RestartCount, back.OOMKilled, back.Error));
    }
}
