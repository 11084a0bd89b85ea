using Skiff.Cli.CommandLine;

namespace Skiff.Tests;

public class FlagParserTests
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("rm", FlagSpec.NoShort, ""),
        FlagSpec.Bool("interactive", 'i', ""),
        FlagSpec.Bool("tty", 't', ""),
        FlagSpec.List("env", 'e', "list", ""),
        FlagSpec.Value("workdir", 'w', "string", ""),
    ];

    [Fact]
    public void The_first_positional_ends_the_flags_so_the_command_keeps_its_own()
    {
        var p = FlagParser.Parse(Flags, ["--rm", "ls", "-la", "--rm"]);

        Assert.True(p.Bool("rm"));
        Assert.Equal(["ls", "-la", "--rm"], p.Positionals);
    }

    [Fact]
    public void Short_flags_combine_and_take_attached_values()
    {
        var p = FlagParser.Parse(Flags, ["-it", "-eA=1", "-e=B=2", "-e", "C=3", "-w/tmp", "x"]);

        Assert.True(p.Bool("interactive"));
        Assert.True(p.Bool("tty"));
        Assert.Equal(["A=1", "B=2", "C=3"], p.Values("env"));
        Assert.Equal("/tmp", p.Value("workdir"));
    }

    [Fact]
    public void Long_flags_take_values_with_or_without_equals_and_the_last_value_wins()
    {
        var p = FlagParser.Parse(Flags, ["--workdir=/a", "--workdir", "/b", "--env", "X=1", "--rm=false", "x"]);

        Assert.Equal("/b", p.Value("workdir"));
        Assert.Equal(["X=1"], p.Values("env"));
        Assert.False(p.Bool("rm"));
    }

    [Fact]
    public void Double_dash_ends_the_flags()
    {
        var p = FlagParser.Parse(Flags, ["--", "--rm"]);
        Assert.False(p.Bool("rm"));
        Assert.Equal(["--rm"], p.Positionals);
    }

    [Theory]
    [InlineData("--bogus", "unknown flag: --bogus")]
    [InlineData("-x", "unknown shorthand flag: 'x' in -x")]
    [InlineData("-ix", "unknown shorthand flag: 'x' in -ix")]
    [InlineData("--workdir", "flag needs an argument: --workdir")]
    [InlineData("-e", "flag needs an argument: 'e' in -e")]
    [InlineData("--rm=maybe", "invalid argument \"maybe\" for \"--rm\" flag: use true or false")]
    public void Bad_flags_say_what_is_wrong(string arg, string message)
    {
        var e = Assert.Throws<UsageException>(() => FlagParser.Parse(Flags, [arg]));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Interspersed_parsing_reads_flags_after_positionals()
    {
        var p = FlagParser.Parse(Flags, ["a", "--rm", "b"], interspersed: true);
        Assert.True(p.Bool("rm"));
        Assert.Equal(["a", "b"], p.Positionals);
    }
}
