using Skiff.Cli.Commands;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers;

/// <summary>docker cp's path rules (Go's filepath and moby's archive helpers), case by case.</summary>
public sealed class CopyPathsTests
{
    [Theory]
    [InlineData("", ".")]
    [InlineData("/", "/")]
    [InlineData("//a//b/", "/a/b")]
    [InlineData("/a/./b/../c", "/a/c")]
    [InlineData("/../../etc", "/etc")]
    [InlineData("a/../../b", "../b")]
    public void Clean_is_gos(string path, string clean) => Assert.Equal(clean, CopyPaths.Clean(path));

    [Theory]
    [InlineData("etc", "/etc")]
    [InlineData("/etc/", "/etc/")]
    [InlineData("/etc/.", "/etc/.")]
    [InlineData("etc//.", "/etc/.")]
    [InlineData("/", "/")]
    [InlineData(".", "/.")]
    public void A_container_path_keeps_what_its_end_asserts(string path, string inContainer) =>
        Assert.Equal(inContainer, CopyPaths.InContainer(path));

    [Theory]
    [InlineData("/a/b", "/a", "b")]
    [InlineData("/a/b/", "/a", "b")]
    [InlineData("/a/b/.", "/a/b", ".")]
    [InlineData("/", "/", "/")]
    public void Split_path_dir_entry_keeps_a_final_dot(string path, string dir, string entry) =>
        Assert.Equal((dir, entry), CopyPaths.SplitPathDirEntry(path));

    [Fact]
    public void Rebase_renames_the_first_component_only()
    {
        Assert.Equal("new/x", CopyPaths.Rebase("data/x", "data", "new"));
        Assert.Equal("new", CopyPaths.Rebase("data", "data", "new"));
        Assert.Equal("database/x", CopyPaths.Rebase("database/x", "data", "new"));
        Assert.Equal("new/a", CopyPaths.Rebase("./a", ".", "new"));
        Assert.Equal("new/bin", CopyPaths.Rebase("/bin", "/", "new"));
    }

    [Fact]
    public void A_followed_link_is_named_as_the_user_wrote_it()
    {
        Assert.Equal(("/real", "link"), CopyPaths.GetRebaseName("/link", "/real"));
        Assert.Equal(("/real/.", ""), CopyPaths.GetRebaseName("/link/.", "/real"));
        Assert.Equal(("/real/", "link"), CopyPaths.GetRebaseName("/link/", "/real"));
        Assert.Equal(("/same", ""), CopyPaths.GetRebaseName("/same", "/same"));
    }

    [Fact]
    public void Prepare_archive_copy_decides_where_and_under_what_name()
    {
        var file = new CopyInfo("/src/f", Exists: true);
        var dir = new CopyInfo("/src/d", Exists: true, IsDir: true);
        Assert.Equal(("/dst", null), ContainerCopy.PrepareArchiveCopy(file, new CopyInfo("/dst", true, true)));
        Assert.Equal(("/", ("f", "g")), ContainerCopy.PrepareArchiveCopy(file, new CopyInfo("/g", true)));
        Assert.Equal(("/", ("d", "new")), ContainerCopy.PrepareArchiveCopy(dir, new CopyInfo("/new")));
        Assert.Equal(("/x", ("f", "new")), ContainerCopy.PrepareArchiveCopy(file, new CopyInfo("/x/new")));
        Assert.Equal("cannot copy directory", Assert.Throws<SkiffException>(() => ContainerCopy.PrepareArchiveCopy(dir, new CopyInfo("/g", true))).Message);
        Assert.Equal("no such directory", Assert.Throws<SkiffException>(() => ContainerCopy.PrepareArchiveCopy(file, new CopyInfo("/new/"))).Message);
    }

    [Theory]
    [InlineData("web:/etc", "web", "/etc")]
    [InlineData("/abs:path", "", "/abs:path")]
    [InlineData("./file:name", "", "./file:name")]
    [InlineData("local", "", "local")]
    [InlineData("web:", "web", "")]
    public void Cp_arguments_split_as_the_docker_cli_splits_them(string arg, string container, string path) =>
        Assert.Equal((container, path), CpCommand.Split(arg));

    [Theory]
    [InlineData(10, 10, "Successfully copied 10B to /x")]
    [InlineData(5, 2048, "Successfully copied 5B (transferred 2.05kB) to /x")]
    public void The_summary_line_is_the_docker_clis(long content, long transferred, string line) =>
        Assert.Equal(line, CpCommand.Summary(new CopyOutcome(content, transferred, "/x")));
}
