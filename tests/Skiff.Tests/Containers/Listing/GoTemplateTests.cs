using System.Text.Json.Nodes;
using Skiff.Cli.Commands;

namespace Skiff.Tests.Containers.Listing;

public sealed class GoTemplateTests
{
    private static readonly JsonNode Data = JsonNode.Parse("""
        {
          "Id": "abc",
          "Name": "/web",
          "State": {"Status": "exited", "Running": false, "ExitCode": 3, "Health": null},
          "Args": ["-c", "echo <hi> & bye"],
          "Config": {"Labels": {"b": "2", "a": "1"}, "Env": null, "Cmd": ["sh"]},
          "NetworkSettings": {"IPAddress": "10.0.2.100", "Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}], "53/udp": null}},
          "Mounts": [{"Source": "/a", "Destination": "/x"}, {"Source": "/b", "Destination": "/y"}]
        }
        """)!;

    private static string Run(string template) => GoTemplate.Parse(GoTemplate.Unescape(template)).Execute(Data);

    [Theory]
    [InlineData("{{.State.Status}}", "exited")]
    [InlineData("{{.State.ExitCode}}", "3")]
    [InlineData("{{.State.Running}}", "false")]
    [InlineData("{{.Id}} {{.Name}}", "abc /web")]
    [InlineData("{{.NetworkSettings.IPAddress}}", "10.0.2.100")]
    [InlineData("{{.Nope}}", "<no value>")]
    [InlineData("{{.Config.Labels.a}}", "1")]
    [InlineData("{{.Config.Labels}}", "map[a:1 b:2]")]
    [InlineData("{{.Config.Cmd}}", "[sh]")]
    [InlineData("{{.Config.Env}}", "[]")]
    [InlineData("{{.State.Health}}", "<nil>")]
    [InlineData("{{.Args}}", "[-c echo <hi> & bye]")]
    [InlineData("{{.NetworkSettings.Ports}}", "map[53/udp:[] 80/tcp:[{127.0.0.1 18080}]]")]
    [InlineData("{{json .Args}}", "[\"-c\",\"echo \\u003chi\\u003e \\u0026 bye\"]")]
    [InlineData("{{json .Config.Labels}}", "{\"a\":\"1\",\"b\":\"2\"}")]
    [InlineData("{{json .State.Health}}", "null")]
    [InlineData("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/a:/x /b:/y ")]
    [InlineData("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=2,")]
    [InlineData("{{range $i, $m := .Mounts}}{{$i}}{{end}}", "01")]
    [InlineData("{{range .Config.Env}}x{{else}}none{{end}}", "none")]
    [InlineData("{{if .State.Running}}up{{else if eq .State.ExitCode 3}}three{{else}}down{{end}}", "three")]
    [InlineData("{{if not .State.Running}}stopped{{end}}", "stopped")]
    [InlineData("{{with .State}}{{.Status}}{{end}}", "exited")]
    [InlineData("{{with .State.Health}}x{{else}}no health{{end}}", "no health")]
    [InlineData("{{.Name | upper}}", "/WEB")]
    [InlineData("{{join .Args \",\"}}", "-c,echo <hi> & bye")]
    [InlineData("{{index .Config.Labels \"b\"}}", "2")]
    [InlineData("{{(index .Mounts 1).Source}}", "/b")]
    [InlineData("{{len .Mounts}}", "2")]
    [InlineData("{{printf \"%s-%d\" .Id .State.ExitCode}}", "abc-3")]
    [InlineData("{{split \"a:b\" \":\"}}", "[a b]")]
    [InlineData("{{title \"hello world\"}} {{lower \"AB\"}} {{truncate \"abcdef\" 3}}", "Hello World ab abc")]
    [InlineData("{{pad \"x\" 1 2}}|", " x  |")]
    [InlineData("{{$n := .Name}}{{$n}}", "/web")]
    [InlineData("a\\tb\\n", "a\tb\n")]
    [InlineData("{{/* a comment */}}x", "x")]
    [InlineData("  {{- .Id -}}  \n", "abc")]
    public void Evaluates_what_docker_format_strings_use(string template, string expected) =>
        Assert.Equal(expected, Run(template));

    [Fact]
    public void Json_of_the_whole_object_is_compact()
    {
        var o = JsonNode.Parse(Run("{{json .}}"))!;

        Assert.Equal("abc", (string)o["Id"]!);
        Assert.DoesNotContain("\n", Run("{{json .}}"));
    }

    [Theory]
    [InlineData("{{.Id")]
    [InlineData("{{if .Id}}x")]
    [InlineData("{{end}}")]
    [InlineData("{{nosuch .Id}}")]
    [InlineData("{{\"unterminated}}")]
    public void Bad_templates_are_refused_before_anything_runs(string template)
    {
        var e = Assert.Throws<SkiffException>(() => GoTemplate.Parse(template));
        Assert.StartsWith("template parsing error: template: :1: ", e.Message);
    }

    [Fact]
    public void A_field_of_a_string_is_an_execution_error()
    {
        var e = Assert.Throws<SkiffException>(() => Run("{{.Id.Foo}}"));
        Assert.Contains("can't evaluate field Foo in type string", e.Message);
    }

    [Fact]
    public void Methods_with_arguments_go_to_the_hook()
    {
        var t = GoTemplate.Parse("{{.Label \"k\"}}/{{.Other}}");
        string text = t.Execute(new JsonObject { ["Other"] = "o" }, (receiver, name, args, out result) =>
        {
            result = name == "Label" ? "v:" + GoTemplate.Print(args[0]) : null;
            return name == "Label";
        });

        Assert.Equal("v:k/o", text);
    }
}
