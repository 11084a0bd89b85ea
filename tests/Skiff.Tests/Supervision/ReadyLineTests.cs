using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

/// <summary>The supervisor's one line on --ready-fd, as Supervisor.Spawn reads it.</summary>
public class ReadyLineTests
{
    [Fact]
    public void Ok_gives_the_container_pid()
    {
        Assert.Equal(4242, Supervisor.ParseReadyLine("ok 4242", 0));
    }

    [Theory]
    [InlineData("error 127 exec: \"nope\": executable file not found in $PATH", ErrorCategory.CommandNotFound)]
    [InlineData("error 126 exec: \"/etc\": Permission denied", ErrorCategory.CannotInvoke)]
    [InlineData("error 125 the container launcher died (exit status 1)", ErrorCategory.Internal)]
    public void Errors_keep_the_category_the_cli_turns_into_the_exit_code(string line, ErrorCategory category)
    {
        var e = Assert.Throws<SkiffException>(() => Supervisor.ParseReadyLine(line, 0));

        Assert.Equal(category, e.Category);
        Assert.Equal(line[(line.IndexOf(' ', 6) + 1)..], e.Message);
    }

    [Fact]
    public void No_line_names_the_exit_status_of_the_supervisor()
    {
        var e = Assert.Throws<SkiffException>(() => Supervisor.ParseReadyLine("", 125));

        Assert.Contains("exit status 125", e.Message);
    }
}
