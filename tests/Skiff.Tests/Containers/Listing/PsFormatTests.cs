using System.Text.Json.Nodes;
using Skiff.Cli.Commands;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class PsFormatTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private string Ps(string format = "", bool all = true, bool trunc = true, bool quiet = false)
    {
        var list = ContainerList.List(_dirs.Store, new ContainerListOptions { All = all }, null, _dirs.Now);
        return PsCommand.Render(list, PsCommand.Format(format, quiet, size: false), trunc, _dirs.Now);
    }

    [Fact]
    public void The_default_table_lines_up_as_dockers()
    {
        var web = _dirs.Add("web", path: "httpd", args: ["-f", "-p", "80"], startedAgo: TimeSpan.FromSeconds(3), configure: d =>
            d.HostConfig.PortBindings = new() { ["80/tcp"] = [new PortBinding { HostIp = "127.0.0.1", HostPort = "18080" }] });
        var done = _dirs.Add("done", "exited", path: "sh", args: ["-c", "echo hello world; exit 3"], createdAgo: TimeSpan.FromHours(2),
            startedAgo: TimeSpan.FromHours(2), finishedAgo: TimeSpan.FromSeconds(5), exitCode: 3, image: "docker.io/library/alpine:3.20@sha256:" + new string('f', 64));

        // Each column: its widest cell plus three (Go's tabwriter, padding 3, minwidth 10).
        int[] widths = [15, 14, 25, 16, 27, 26];
        string Line(params string[] cells) => string.Concat(cells[..^1].Select((c, i) => c.PadRight(widths[i]))) + cells[^1] + "\n";
        string expected =
            Line("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES") +
            Line(web[..12], "busybox", "\"httpd -f -p 80\"", "5 minutes ago", "Up 3 seconds", "127.0.0.1:18080->80/tcp", "web") +
            Line(done[..12], "alpine:3.20", "\"sh -c 'echo hello w…\"", "2 hours ago", "Exited (3) 5 seconds ago", "", "done");
        Assert.Equal(expected, Ps());
    }

    [Fact]
    public void An_empty_list_still_has_its_header_and_narrow_columns_are_ten_wide()
    {
        Assert.Equal("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n", Ps());
    }

    [Fact]
    public void Quiet_prints_short_ids_and_wins_over_a_template()
    {
        var id = _dirs.Add("a");

        Assert.Equal(id[..12] + "\n", Ps(quiet: true));
        Assert.Equal(id[..12] + "\n", Ps("{{.Names}}", quiet: true));
        Assert.Equal(id + "\n", Ps(quiet: true, trunc: false));
    }

    [Fact]
    public void Json_is_one_object_per_line_with_dockers_keys()
    {
        _dirs.Add("a", configure: d => d.Config.Labels = new() { ["b"] = "2", ["a"] = "1" });

        var line = Ps("json").TrimEnd('\n');
        var o = JsonNode.Parse(line)!.AsObject();

        Assert.Equal(["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"],
            o.Select(p => p.Key).ToArray());
        Assert.Equal("\"sleep 100\"", (string)o["Command"]!);
        // Go's time.Time.String() in the local zone (UTC on the test machines).
        Assert.Matches(@"^2026-11-2[78] \d\d:\d5:00 [+-]\d{4} \S+$", (string)o["CreatedAt"]!);
        if (TimeZoneInfo.Local.GetUtcOffset(_dirs.Now) == TimeSpan.Zero)
        {
            Assert.Equal("2026-11-28 07:55:00 +0000 UTC", (string)o["CreatedAt"]!);
        }
        Assert.Equal("a=1,b=2", (string)o["Labels"]!);
        Assert.Equal("5 minutes ago", (string)o["RunningFor"]!);
        Assert.Equal("running", (string)o["State"]!);
        Assert.Equal("bridge", (string)o["Networks"]!);
    }

    [Fact]
    public void Templates_with_a_table_prefix_get_headers_and_label_lookups()
    {
        _dirs.Add("a", configure: d => d.Config.Labels = new() { ["com.example.the-tier"] = "front" });

        string text = Ps("table {{.Names}}\\t{{.State}}\\t{{.Label \"com.example.the-tier\"}}");

        Assert.Equal("NAMES     STATE     the tier\na         running   front\n", text);
        Assert.Equal("a|front|\n", Ps("{{.Names}}|{{.Label \"com.example.the-tier\"}}|{{.Label \"nope\"}}"));
    }

    [Fact]
    public void A_bad_template_is_a_parsing_error()
    {
        _dirs.Add("a");

        var e = Assert.Throws<SkiffException>(() => Ps("{{.Names"));
        Assert.StartsWith("template parsing error:", e.Message);
        Assert.Contains("function \"nosuch\" not defined", Assert.Throws<SkiffException>(() => Ps("{{nosuch .Names}}")).Message);
    }

    [Fact]
    public void Commands_are_ellipsized_then_quoted_like_strconv_Quote()
    {
        Assert.Equal("\"sh -c 'echo hello w…\"", ContainerFormat.Command(new ContainerSummary { Command = "sh -c 'echo hello world; exit 3'" }, trunc: true));
        Assert.Equal("\"a\\tb \\\"c\\\"\"", ContainerFormat.Command(new ContainerSummary { Command = "a\tb \"c\"" }, trunc: false));
        Assert.Equal("exactly-twenty-chars", ContainerFormat.Ellipsis("exactly-twenty-chars", 20));
        Assert.Equal("日本語…", ContainerFormat.Ellipsis("日本語日本語日本語", 7));
    }

    [Fact]
    public void Ports_group_consecutive_ranges_as_DisplayablePorts_does()
    {
        PortSummary P(ushort priv, ushort pub = 0, string? ip = null, string type = "tcp") => new() { PrivatePort = priv, PublicPort = pub, IP = ip, Type = type };

        Assert.Equal("127.0.0.1:18080->80/tcp", ContainerFormat.Ports([P(80, 18080, "127.0.0.1")]));
        Assert.Equal("53/udp, 0.0.0.0:8080-8081->8080-8081/tcp",
            ContainerFormat.Ports([P(8081, 8081, "0.0.0.0"), P(53, type: "udp"), P(8080, 8080, "0.0.0.0")]));
        Assert.Equal("9000-9001/tcp, 0.0.0.0:80->8080/tcp", ContainerFormat.Ports([P(9001), P(8080, 80, "0.0.0.0"), P(9000)]));
        Assert.Equal("[::1]:80->80/tcp", ContainerFormat.Ports([P(80, 80, "::1")]));
    }

    [Fact]
    public void Image_names_are_familiar_and_lose_their_digest_when_truncating()
    {
        ContainerSummary C(string image, string id = "sha256:abc") => new() { Image = image, ImageID = id };

        Assert.Equal("busybox", ContainerFormat.Image(C("docker.io/library/busybox"), true));
        Assert.Equal("alpine:3.20", ContainerFormat.Image(C("alpine:3.20@sha256:" + new string('f', 64)), true));
        Assert.Equal("ghcr.io/x/y:1", ContainerFormat.Image(C("ghcr.io/x/y:1"), true));
        Assert.Equal("abcdefabcdef", ContainerFormat.Image(C("sha256:abcdefabcdef0000", "sha256:abcdefabcdef0000"), true));
        Assert.Equal("<no image>", ContainerFormat.Image(C(""), true));
    }
}

public sealed class TableWriterTests
{
    [Fact]
    public void Columns_are_the_widest_cell_plus_three_and_at_least_ten()
    {
        Assert.Equal("A             BB\nlonger-cell   x\n", TableWriter.Format("A\tBB\nlonger-cell\tx\n"));
        Assert.Equal("a         b\n", TableWriter.Format("a\tb\n"));
    }

    [Fact]
    public void The_last_cell_is_not_padded_and_lines_without_tabs_pass_through()
    {
        Assert.Equal("just text\nab        c   \n", TableWriter.Format("just text\nab\tc   \n"));
    }

    [Fact]
    public void Column_blocks_end_where_a_line_has_no_cell_in_that_column()
    {
        // Go's tabwriter aligns runs of lines, not the whole text.
        Assert.Equal("a         b\nno tabs here\nlonger-than-ten   c\n", TableWriter.Format("a\tb\nno tabs here\nlonger-than-ten\tc\n"));
    }
}
