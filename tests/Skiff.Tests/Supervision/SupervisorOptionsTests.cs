using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

public class SupervisorOptionsTests
{
    [Fact]
    public void Defaults_say_only_where_the_ready_line_goes()
    {
        Assert.Equal(["--ready-fd", "3", "--"], new SupervisorOptions().ToArguments());
    }

    [Fact]
    public void Every_option_becomes_its_flag()
    {
        var options = new SupervisorOptions
        {
            LogDriver = "none",
            LogMaxSize = 1024,
            LogMaxFile = 3,
            Restart = "on-failure",
            MaxRetries = 2,
            Tty = true,
            Stdin = true,
            StdinOnce = true,
            OnExit = ["/bin/rm", "-rf", "x y"],
        };

        Assert.Equal(
            ["--ready-fd", "3", "--log-driver", "none", "--log-max-size", "1024", "--log-max-file", "3",
             "--restart", "on-failure", "--max-retries", "2", "--tty", "--stdin", "--stdin-once",
             "--on-exit-argv", "3", "/bin/rm", "-rf", "x y", "--"],
            options.ToArguments());
    }

    [Fact]
    public void Direct_mode_is_a_flag()
    {
        Assert.Contains("--direct", new SupervisorOptions { Direct = true, Restart = "always" }.ToArguments());
    }

    [Theory]
    [InlineData("syslog", "no", 0, false)]
    [InlineData("json-file", "sometimes", 0, false)]
    [InlineData("json-file", "always", 3, false)]
    [InlineData("json-file", "no", 0, true)]
    public void Bad_combinations_are_refused(string driver, string restart, int retries, bool ttyDirect)
    {
        var options = new SupervisorOptions { LogDriver = driver, Restart = restart, MaxRetries = retries, Tty = ttyDirect, Direct = ttyDirect };

        var e = Assert.Throws<SkiffException>(() => options.ToArguments());
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
    }
}
