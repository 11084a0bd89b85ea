using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class StatusTextTests
{
    private static readonly DateTime Now = new(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1, "1 second")]
    [InlineData(3, "3 seconds")]
    [InlineData(59.9, "59 seconds")]
    [InlineData(60, "About a minute")]
    [InlineData(119, "About a minute")]
    [InlineData(120, "2 minutes")]
    [InlineData(59 * 60, "59 minutes")]
    [InlineData(60 * 60, "About an hour")]
    [InlineData(89 * 60, "About an hour")]
    [InlineData(90 * 60, "2 hours")]
    [InlineData(47 * 3600, "47 hours")]
    [InlineData(48 * 3600, "2 days")]
    [InlineData(13 * 86400, "13 days")]
    [InlineData(14 * 86400, "2 weeks")]
    [InlineData(59 * 86400, "8 weeks")]
    [InlineData(60 * 86400, "2 months")]
    [InlineData(729 * 86400, "24 months")]
    [InlineData(730 * 86400, "2 years")]
    public void Durations_read_as_go_units_HumanDuration(double seconds, string text) =>
        Assert.Equal(text, ContainerStatusText.HumanDuration(TimeSpan.FromSeconds(seconds)));

    private static ContainerState State(string status, double? startedAgo = null, double? finishedAgo = null, int code = 0) => new()
    {
        Status = status,
        ExitCode = code,
        StartedAt = startedAgo is { } s ? ContainerState.FormatTime(Now.AddSeconds(-s)) : ContainerState.ZeroTime,
        FinishedAt = finishedAgo is { } f ? ContainerState.FormatTime(Now.AddSeconds(-f)) : ContainerState.ZeroTime,
    };

    [Fact]
    public void Each_state_reads_as_docker_ps_shows_it()
    {
        Assert.Equal("Up 3 seconds", ContainerStatusText.Status(State("running", 3), Now));
        Assert.Equal("Up About a minute", ContainerStatusText.Status(State("running", 75), Now));
        Assert.Equal("Up 2 minutes (Paused)", ContainerStatusText.Status(State("paused", 150), Now));
        Assert.Equal("Exited (0) 5 seconds ago", ContainerStatusText.Status(State("exited", 60, 5), Now));
        Assert.Equal("Exited (137) 2 hours ago", ContainerStatusText.Status(State("exited", 9000, 7200, 137), Now));
        Assert.Equal("Restarting (1) 2 seconds ago", ContainerStatusText.Status(State("restarting", 10, 2, 1), Now));
        Assert.Equal("Created", ContainerStatusText.Status(State("created"), Now));
        Assert.Equal("Removal In Progress", ContainerStatusText.Status(State("removing", 10), Now));
    }

    [Fact]
    public void A_start_that_failed_before_running_leaves_the_container_created()
    {
        var failed = State("exited", finishedAgo: 1, code: 127);

        Assert.Equal("created", ContainerStatusText.StateName(failed));
        Assert.Equal("Created", ContainerStatusText.Status(failed, Now));
        Assert.Equal("exited", ContainerStatusText.StateName(State("exited", 5, 1)));
        Assert.Equal("paused", ContainerStatusText.StateName(State("paused", 5)));
    }

    [Fact]
    public void The_command_quotes_arguments_with_spaces_as_the_daemon_does()
    {
        var def = new ContainerDefinition { Path = "sh", Args = ["-c", "echo hi && sleep 1", "x"] };

        Assert.Equal("sh -c 'echo hi && sleep 1' x", ContainerStatusText.Command(def));
        Assert.Equal("true", ContainerStatusText.Command(new ContainerDefinition { Path = "true" }));
    }
}
