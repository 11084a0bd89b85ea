using Skiff.Linux;

namespace Skiff.Tests;

public class IdMappingTests
{
    private const string SubUid = "# ranges\nalice:100000:65536\n1001:200000:1000000\nbob:300000:0\n";

    [Fact]
    public void Ranges_are_found_by_name_or_by_uid()
    {
        Assert.Equal((100000u, 65536u), SubordinateIds.Find(SubUid, "alice", 1000));
        Assert.Equal((200000u, 1000000u), SubordinateIds.Find(SubUid, "carol", 1001));
        Assert.Null(SubordinateIds.Find(SubUid, "bob", 1002));
        Assert.Null(SubordinateIds.Find(null, "alice", 1000));
    }

    [Fact]
    public void Root_runs_with_host_ids()
    {
        var r = IdMappingResolver.Resolve(0, 0, "root", SubUid, SubUid, true);
        Assert.Equal(IdMapMode.Host, r.Mapping.Mode);
        Assert.Null(r.Warning);
    }

    [Fact]
    public void A_user_with_ranges_maps_root_to_itself_and_1_to_65536_onto_the_range()
    {
        var r = IdMappingResolver.Resolve(1001, 1001, "carol", SubUid, SubUid, true);

        Assert.Equal(IdMapMode.Subordinate, r.Mapping.Mode);
        Assert.Equal([new IdRange(0, 1001, 1), new IdRange(1, 200000, 65536)], r.Mapping.Uids);
        Assert.True(r.Mapping.MapsUid(65536));
        Assert.False(r.Mapping.MapsUid(65537));
        Assert.Equal(65536u, r.Mapping.HighestUid);
        Assert.Null(r.Warning);
    }

    [Fact]
    public void Without_ranges_or_helpers_a_single_mapping_comes_with_a_warning()
    {
        var none = IdMappingResolver.Resolve(1002, 1002, "dave", SubUid, SubUid, true);
        Assert.Equal(IdMapMode.Single, none.Mapping.Mode);
        Assert.Contains("/etc/subuid", none.Warning);
        Assert.False(none.Mapping.AllowsSetGroups);
        Assert.False(none.Mapping.MapsUid(1));

        var noHelpers = IdMappingResolver.Resolve(1000, 1000, "alice", SubUid, SubUid, false);
        Assert.Equal(IdMapMode.Single, noHelpers.Mapping.Mode);
        Assert.Contains("uidmap", noHelpers.Warning);
    }

    [Fact]
    public void Proc_id_maps_parse_into_ranges()
    {
        var r = IdMappingResolver.ParseMap("         0       1001          1\n         1     100000      65536\n");
        Assert.Equal([new IdRange(0, 1001, 1), new IdRange(1, 100000, 65536)], r);
        Assert.Empty(IdMappingResolver.ParseMap(null));
    }
}
