using Skiff.Engine;
using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class ImageLaunchTests
{
    private static readonly LaunchRecord Image = new()
    {
        Layers = ["/l2", "/l1"],
        Env = ["PATH=/bin", "A=image"],
        Entrypoint = ["/entry"],
        Cmd = ["default"],
        WorkingDir = "/work",
        User = "app",
    };

    [Fact]
    public void The_image_defaults_apply()
    {
        var p = ImageLaunch.Resolve(Image, new RunOverrides(), "img");

        Assert.Equal(["/entry", "default"], p.Args);
        Assert.Equal(["PATH=/bin", "A=image"], p.Env);
        Assert.Equal("/work", p.WorkingDir);
        Assert.Equal("app", p.User);
        Assert.Equal(["/l2", "/l1"], p.Layers);
    }

    [Fact]
    public void Flags_override_them()
    {
        var p = ImageLaunch.Resolve(Image, new RunOverrides { Command = ["x", "y"], Env = ["A=flag"], WorkingDir = "/", User = "0" }, "img");

        Assert.Equal(["/entry", "x", "y"], p.Args);
        Assert.Equal(["PATH=/bin", "A=image", "A=flag"], p.Env);
        Assert.Equal("/", p.WorkingDir);
        Assert.Equal("0", p.User);
    }

    [Fact]
    public void Entrypoint_flag_resets_the_image_cmd()
    {
        Assert.Equal(["/bin/sh"], ImageLaunch.Resolve(Image, new RunOverrides { Entrypoint = "/bin/sh" }, "img").Args);
        Assert.Equal(["ls"], ImageLaunch.Resolve(Image, new RunOverrides { Entrypoint = "", Command = ["ls"] }, "img").Args);
    }

    [Fact]
    public void No_command_at_all_is_an_error()
    {
        var e = Assert.Throws<SkiffException>(() => ImageLaunch.Resolve(new LaunchRecord { Layers = ["/l"] }, new RunOverrides(), "img"));
        Assert.Contains("no command specified", e.Message);
    }

    [Theory]
    [InlineData("CMD echo hi", "/bin/sh|-c|echo hi")]
    [InlineData("CMD [\"echo\", \"hi\"]", "echo|hi")]
    [InlineData("cmd [\"a\"]", "a")]
    public void Change_cmd(string change, string expected)
    {
        var c = new ContainerConfig();
        ConfigChanges.Apply(c, change);
        Assert.Equal(expected.Split('|'), c.Cmd);
    }

    [Fact]
    public void Change_env_workdir_user()
    {
        var c = new ContainerConfig();
        ConfigChanges.Apply(c, "ENV A=1 B=\"two words\"");
        ConfigChanges.Apply(c, "ENV A 3");
        ConfigChanges.Apply(c, "WORKDIR /srv");
        ConfigChanges.Apply(c, "WORKDIR app");
        ConfigChanges.Apply(c, "USER 1000:1000");
        Assert.Equal(["B=two words", "A=3"], c.Env);
        Assert.Equal("/srv/app", c.WorkingDir);
        Assert.Equal("1000:1000", c.User);
    }

    [Theory]
    [InlineData("RUN rm -rf /")]
    [InlineData("CMD [not json")]
    [InlineData("ENV")]
    public void Bad_changes_are_refused(string change) =>
        Assert.Throws<SkiffException>(() => ConfigChanges.Apply(new ContainerConfig(), change));
}
