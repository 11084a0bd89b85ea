using Skiff.Runtime.Oci;

namespace Skiff.Tests.Oci;

public sealed class SpecLoaderTests : IDisposable
{
    private readonly string _bundle = Directory.CreateTempSubdirectory("skiff-spec-").FullName;

    public SpecLoaderTests() => Directory.CreateDirectory(Path.Combine(_bundle, "rootfs"));

    public void Dispose() => Directory.Delete(_bundle, recursive: true);

    private SkiffException LoadFails(string json)
    {
        File.WriteAllText(Path.Combine(_bundle, "config.json"), json);
        return Assert.ThrowsAny<SkiffException>(() => SpecLoader.Load(_bundle));
    }

    private const string Good = """
        {
          "ociVersion": "1.0.2",
          "root": { "path": "rootfs" },
          "process": { "args": ["sh"], "cwd": "/", "user": { "uid": 0, "gid": 0 } },
          "linux": { "namespaces": [ { "type": "mount" }, { "type": "pid" } ] }
        }
        """;

    [Fact]
    public void A_valid_config_loads_with_the_root_relative_to_the_bundle()
    {
        File.WriteAllText(Path.Combine(_bundle, "config.json"), Good);
        var loaded = SpecLoader.Load(_bundle);
        Assert.Equal(Path.Combine(_bundle, "rootfs"), loaded.RootFs);
        Assert.Null(loaded.Warning);
    }

    [Fact]
    public void Broken_json_names_the_path_and_the_line()
    {
        var e = LoadFails("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": { \"args\": \"sh\" }\n}");
        Assert.Contains("$.process.args", e.Message);
        Assert.Contains("(line 3)", e.Message);
    }

    [Theory]
    [InlineData("2.0.0", "is not supported")]
    [InlineData("banana", "is not a version")]
    public void Unsupported_versions_are_refused(string version, string message)
    {
        var e = LoadFails(Good.Replace("1.0.2", version));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_later_1x_version_loads_with_a_warning()
    {
        File.WriteAllText(Path.Combine(_bundle, "config.json"), Good.Replace("1.0.2", "1.3.0"));
        Assert.Contains("newer than 1.2", SpecLoader.Load(_bundle).Warning);
    }

    [Theory]
    [InlineData("\"cwd\": \"/\"", "\"cwd\": \"relative\"", "process.cwd")]
    [InlineData("\"path\": \"rootfs\"", "\"path\": \"missing\"", "root.path")]
    [InlineData("{ \"type\": \"mount\" }, ", "", "a mount namespace is required")]
    [InlineData("{ \"type\": \"pid\" }", "{ \"type\": \"pid\" }, { \"type\": \"pid\" }", "listed twice")]
    [InlineData("{ \"type\": \"pid\" }", "{ \"type\": \"time-travel\" }", "unknown namespace")]
    [InlineData("\"args\": [\"sh\"]", "\"args\": []", "process.args")]
    [InlineData("{ \"type\": \"pid\" } ]", "{ \"type\": \"pid\" } ], \"timeOffsets\": { \"monotonic\": { \"secs\": 1 } }",
        "time namespace offsets specified, but time namespace isn't enabled in the config")]
    [InlineData("{ \"type\": \"pid\" } ]",
        "{ \"type\": \"pid\" }, { \"type\": \"time\", \"path\": \"/proc/1/ns/time\" } ], \"timeOffsets\": { \"boottime\": { \"secs\": 1 } }",
        "the time namespace is joined (/proc/1/ns/time)")]
    public void Invalid_fields_are_named(string from, string to, string message)
    {
        var e = LoadFails(Good.Replace(from, to));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_missing_config_says_where_it_looked()
    {
        var e = Assert.ThrowsAny<SkiffException>(() => SpecLoader.Load(_bundle));
        Assert.Equal(ErrorCategory.NotFound, e.Category);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void A_time_namespace_with_offsets_loads()
    {
        File.WriteAllText(Path.Combine(_bundle, "config.json"), Good.Replace("{ \"type\": \"pid\" } ]",
            "{ \"type\": \"pid\" }, { \"type\": \"time\" } ], \"timeOffsets\": { \"monotonic\": { \"secs\": 86400, \"nanosecs\": 7 } }"));
        var offsets = SpecLoader.Load(_bundle).Spec.Linux!.TimeOffsets!;
        Assert.Equal(86400, offsets["monotonic"].Secs);
        Assert.Equal(7u, offsets["monotonic"].Nanosecs);
    }
}
