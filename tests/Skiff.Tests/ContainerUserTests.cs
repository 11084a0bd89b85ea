using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Tests;

public class ContainerUserTests
{
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:u:/home/user:/bin/sh\nbig:x:70000:70000::/:/bin/sh\n";
    private const string Group = "root:x:0:\nwheel:x:10:root,user\nuser:x:1000:\nstaff:x:50:user\n";
    private static readonly IdMapping Rootless = new(IdMapMode.Subordinate,
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)], [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)]);
    private static readonly IdMapping Single = new(IdMapMode.Single, [new IdRange(0, 1000, 1)], [new IdRange(0, 1000, 1)]);

    [Fact]
    public void No_user_is_root_with_its_groups_and_home()
    {
        var u = ContainerUser.Resolve(null, Passwd, Group, Rootless);
        Assert.Equal((0u, 0u, "/root"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([0u, 10u], u.Groups);
    }

    [Fact]
    public void Names_resolve_through_passwd_and_group()
    {
        var u = ContainerUser.Resolve("user:staff", Passwd, Group, Rootless);
        Assert.Equal(1000u, u.Uid);
        Assert.Equal(50u, u.Gid);
        Assert.Equal([50u, 10u], u.Groups);
        Assert.Equal("/home/user", u.Home);
    }

    [Fact]
    public void A_number_without_a_passwd_entry_gets_gid_0_and_home_slash()
    {
        var u = ContainerUser.Resolve("4242", Passwd, Group, Rootless);
        Assert.Equal((4242u, 0u, "/"), (u.Uid, u.Gid, u.Home));
        Assert.Equal([0u], u.Groups);
        Assert.Equal(1000u, ContainerUser.Resolve("1000:1000", Passwd, Group, Rootless).Gid);
    }

    [Theory]
    [InlineData("a:", "invalid user \"a:\"")]
    [InlineData(":1", "invalid user \":1\"")]
    [InlineData("ghost", "unable to find user ghost")]
    [InlineData("user:ghosts", "unable to find group ghosts")]
    [InlineData("99999999999", "out of range")]
    [InlineData("70000", "uid 70000 is not mapped in the container: mapped uids are 0-65536")]
    [InlineData("big", "uid 70000 is not mapped")]
    [InlineData("0:70000", "gid 70000 is not mapped")]
    public void Bad_users_are_refused_before_anything_starts(string spec, string message)
    {
        var e = Assert.Throws<SkiffException>(() => ContainerUser.Resolve(spec, Passwd, Group, Rootless));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void With_a_single_mapping_only_root_exists()
    {
        Assert.Equal(0u, ContainerUser.Resolve("0", Passwd, Group, Single).Uid);
        var e = Assert.Throws<SkiffException>(() => ContainerUser.Resolve("1000", Passwd, Group, Single));
        Assert.Contains("without subordinate ids only 0 exists", e.Message);
    }
}
