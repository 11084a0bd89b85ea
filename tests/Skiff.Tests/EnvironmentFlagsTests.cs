using Skiff.Cli.Commands;

namespace Skiff.Tests;

public class EnvironmentFlagsTests
{
    private static string? Host(string key) => key == "SET" ? "from-host" : null;

    [Fact]
    public void Values_pass_as_given_and_a_bare_key_takes_skiffs_own_value_or_is_dropped()
    {
        var env = EnvironmentFlags.Parse(["A=1", "B=", "C=x=y", "SET", "UNSET"], Host);
        Assert.Equal(["A=1", "B=", "C=x=y", "SET=from-host"], env);
    }

    [Theory]
    [InlineData("=x")]
    [InlineData("")]
    [InlineData("A B=1")]
    public void An_empty_or_spaced_key_is_refused(string value)
    {
        var e = Assert.Throws<SkiffException>(() => EnvironmentFlags.Parse([value], Host));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Contains("invalid environment variable", e.Message);
    }
}
