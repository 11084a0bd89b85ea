using System.Text;
using System.Text.Json;
using Skiff.Oci;
using ContainerState = Skiff.Oci.ContainerState;

namespace Skiff.Tests.Oci;

/// <summary>The hand-written config.json reader against the source-generated contract it replaces on the start-up path.</summary>
public sealed class RuntimeSpecJsonTests
{
    /// <summary>Every field of the models, with values that are not defaults.</summary>
    private const string Everything = """
        {
          // comments and trailing commas are read, as the contract reads them
          "ociVersion": "1.2.0",
          "unknownTopLevel": { "nested": [1, 2, {"x": null}] },
          "process": {
            "terminal": true,
            "consoleSize": { "height": 24, "width": 80 },
            "user": { "uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6], "username": "u" },
            "args": ["sh", "-c", "echo \"hi\" \u00e9"],
            "commandLine": "cmd",
            "env": ["PATH=/bin", "A=b"],
            "cwd": "/work",
            "capabilities": {
              "bounding": ["CAP_CHOWN"], "effective": ["CAP_KILL"], "inheritable": [],
              "permitted": ["CAP_CHOWN", "CAP_KILL"], "ambient": ["CAP_NET_RAW"],
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024 } ],
            "noNewPrivileges": true,
            "apparmorProfile": "p",
            "oomScoreAdj": -500,
            "selinuxLabel": "l",
          },
          "root": { "path": "rootfs", "readonly": true },
          "hostname": "h",
          "domainname": "d",
          "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"] },
          ],
          "hooks": {
            "prestart": [ { "path": "/bin/a", "args": ["a", "1"], "env": ["X=1"], "timeout": 5 } ],
            "createRuntime": [ { "path": "/bin/b" } ],
            "createContainer": [ { "path": "/bin/c" } ],
            "startContainer": [ { "path": "/bin/d" } ],
            "poststart": [ { "path": "/bin/e" } ],
            "poststop": [ { "path": "/bin/f", "timeout": 1 } ]
          },
          "annotations": { "org.example": "v", "empty": "" },
          "linux": {
            "uidMappings": [ { "containerID": 0, "hostID": 100000, "size": 65536 } ],
            "gidMappings": [ { "containerID": 0, "hostID": 200000, "size": 1 } ],
            "sysctl": { "net.ipv4.ip_forward": "1" },
            "resources": {
              "devices": [ { "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" } ],
              "memory": { "limit": 1048576, "reservation": 1, "swap": 2, "kernel": 3, "kernelTCP": 4, "swappiness": 60, "disableOOMKiller": true },
              "cpu": { "shares": 512, "quota": 50000, "period": 100000, "realtimeRuntime": 1, "realtimePeriod": 2, "cpus": "0-1", "mems": "0", "idle": 1 },
              "pids": { "limit": 20 },
              "blockIO": {
                "weight": 500, "leafWeight": 300,
                "weightDevice": [ { "major": 8, "minor": 0, "weight": 10, "leafWeight": 20 } ],
                "throttleReadBpsDevice": [ { "major": 8, "minor": 0, "rate": 1000 } ],
                "throttleWriteBpsDevice": [ { "major": 8, "minor": 1, "rate": 2000 } ],
                "throttleReadIOPSDevice": [ { "major": 8, "minor": 2, "rate": 3 } ],
                "throttleWriteIOPSDevice": [ { "major": 8, "minor": 3, "rate": 4 } ]
              },
              "hugepageLimits": [ { "pageSize": "2MB", "limit": 4194304 } ],
              "unified": { "memory.high": "max" }
            },
            "cgroupsPath": "/skiff/x",
            "namespaces": [ { "type": "pid" }, { "type": "network", "path": "/proc/1/ns/net" }, { "type": "mount" } ],
            "devices": [ { "type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0 } ],
            "seccomp": {
              "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
              "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "listenerPath": "/run/l.sock", "listenerMetadata": "meta",
              "syscalls": [
                { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                  "args": [ { "index": 0, "value": 8, "valueTwo": 9, "op": "SCMP_CMP_EQ" } ] }
              ]
            },
            "rootfsPropagation": "rslave",
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"],
            "mountLabel": "m",
            "personality": { "domain": "LINUX32", "flags": [] },
            "timeOffsets": { "monotonic": { "secs": -86400, "nanosecs": 5 }, "boottime": { "secs": 7 } }
          }
        }
        """;

    private static string Canonical(RuntimeSpec spec) => JsonSerializer.Serialize(spec, OciJson.Default.RuntimeSpec);

    [Theory]
    [InlineData(Everything)]
    [InlineData("""{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}}}""")]
    [InlineData("""{"ociVersion":"1.0.2","process":null,"linux":{"seccomp":null,"resources":null,"namespaces":null},"mounts":null}""")]
    [InlineData("{}")]
    public void Reads_what_the_source_generated_contract_reads(string json)
    {
        var expected = JsonSerializer.Deserialize(json, OciJson.Default.RuntimeSpec)!;
        var actual = RuntimeSpecJson.ReadSpec(Encoding.UTF8.GetBytes(json));
        Assert.Equal(Canonical(expected), Canonical(actual));
    }

    [Fact]
    public void The_everything_document_sets_every_property_of_every_model()
    {
        // A property the reader forgets would serialize as its default in both canonical forms and go
        // unseen; so every property of every type reachable from RuntimeSpec must be in the document,
        // and a property added to the models later fails here until the reader (and Everything) has it.
        string canonical = Canonical(RuntimeSpecJson.ReadSpec(Encoding.UTF8.GetBytes(Everything)));
        var seen = new HashSet<Type>();
        var pending = new Queue<Type>([typeof(RuntimeSpec)]);
        while (pending.TryDequeue(out var type))
        {
            if (!seen.Add(type))
            {
                continue;
            }
            foreach (var property in type.GetProperties())
            {
                string name = property.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false)
                    is [System.Text.Json.Serialization.JsonPropertyNameAttribute a] ? a.Name : JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                Assert.True(canonical.Contains($"\"{name}\""), $"{type.Name}.{property.Name} (\"{name}\") is not read, or not in the test document");
                var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                foreach (var candidate in t.IsGenericType ? t.GetGenericArguments() : [t])
                {
                    if (candidate.Assembly == typeof(RuntimeSpec).Assembly)
                    {
                        pending.Enqueue(candidate);
                    }
                }
            }
        }
        Assert.Contains(typeof(TimeOffset), seen);
        Assert.Contains("18446744073709551615", canonical);
        Assert.Contains("-500", canonical);
    }

    [Fact]
    public void A_byte_order_mark_is_skipped()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("""{"ociVersion":"1.0.2"}""")).ToArray();
        Assert.Equal("1.0.2", RuntimeSpecJson.ReadSpec(bytes).OciVersion);
    }

    [Theory]
    [InlineData("{\n \"process\": {\n  \"user\": { \"uid\": -1 }\n }\n}", "$.process.user.uid", 3, "unsigned 32-bit integer, got the number -1")]
    [InlineData("{\n \"mounts\": [\n  {\"destination\": \"/a\"},\n  {\"destination\": 7}\n ]\n}", "$.mounts[1].destination", 4, "expected a string, got the number 7")]
    [InlineData("{\"process\": {\"args\": \"sh\"}}", "$.process.args", 1, "expected an array, got the string \"sh\"")]
    [InlineData("{\"linux\": {\"namespaces\": [ {\"type\": \"pid\"}, 3 ]}}", "$.linux.namespaces[1]", 1, "expected an object, got the number 3")]
    [InlineData("{\"root\": {\"readonly\": \"yes\"}}", "$.root.readonly", 1, "expected true or false")]
    [InlineData("{\"annotations\": {\"a\": 1}}", "$.annotations.a", 1, "expected a string")]
    [InlineData("{\n\"ociVersion\": \"1.0.2\",\n\"root\": {\"path\": \"r\"", "$.root.path", 3, "")]
    [InlineData("{\"ociVersion\": \"1.0.2\"} {}", "$", 1, "invalid after a single JSON value")]
    [InlineData("null", "$", 1, "the document is null")]
    public void Errors_name_the_json_path_and_the_line(string json, string path, int line, string detail)
    {
        var e = Assert.Throws<JsonFormatException>(() => RuntimeSpecJson.ReadSpec(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(path, e.JsonPath);
        Assert.Equal(line, e.Line);
        Assert.Contains(detail, e.Detail);
    }

    [Fact]
    public void A_process_file_reads_alone()
    {
        var p = RuntimeSpecJson.ReadProcess("""{"args":["ls"],"cwd":"/tmp","env":["A=1"],"user":{"uid":5,"gid":6}}"""u8);
        Assert.Equal(["ls"], p.Args!);
        Assert.Equal("/tmp", p.Cwd);
        Assert.Equal(5u, p.User.Uid);
    }

    [Fact]
    public void The_state_document_is_the_bytes_the_contract_writes()
    {
        var state = new ContainerState
        {
            Id = "c1", Status = "running", Pid = 42, Bundle = "/b <&> +", Rootfs = "/b/rootfs",
            Created = "2026-11-28T10:00:00Z", Owner = "root",
            Annotations = new() { ["k"] = "v\u00e9" },
        };
        Assert.Equal(JsonSerializer.Serialize(state, OciJson.Default.ContainerState), ContainerStateJson.ToText(state));
        var bare = new ContainerState { Id = "c2", Status = "stopped" };
        Assert.Equal(JsonSerializer.Serialize(bare, OciJson.Default.ContainerState), ContainerStateJson.ToText(bare));
        Assert.Equal(JsonSerializer.Serialize(new List<ContainerState> { state, bare }, OciJson.Default.ListContainerState),
            ContainerStateJson.ToText(new[] { state, bare }));
    }
}

public sealed class ContainerRecordStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-records-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_record_reads_back_as_written()
    {
        var store = new Skiff.Runtime.Oci.ContainerStore(_root);
        store.Claim("c1");
        var record = new Skiff.Runtime.Oci.ContainerRecord
        {
            Id = "c1", Bundle = "/b", Rootfs = "/b/rootfs", Pid = 77, StartTime = ulong.MaxValue, Created = "now", Owner = "me",
            Annotations = new() { ["a"] = "\"quoted\"" }, CgroupPath = "/sys/fs/cgroup/x", CgroupsPathSpec = "/x", Rootless = true, Started = true,
        };
        store.Save(record);
        var back = store.Load("c1");
        Assert.Equal(
            (record.Id, record.Bundle, record.Rootfs, record.Pid, record.StartTime, record.Created, record.Owner, record.Annotations["a"], record.CgroupPath, record.CgroupsPathSpec, record.Rootless, record.Started),
            (back.Id, back.Bundle, back.Rootfs, back.Pid, back.StartTime, back.Created, back.Owner, back.Annotations!["a"], back.CgroupPath, back.CgroupsPathSpec, back.Rootless, back.Started));
        Assert.False(File.Exists(Path.Combine(_root, "c1", "state.json.tmp")));
    }

    [Fact]
    public void A_torn_record_is_reported_as_corrupt_and_a_missing_one_as_not_found()
    {
        var store = new Skiff.Runtime.Oci.ContainerStore(_root);
        store.Claim("c2");
        File.WriteAllText(Path.Combine(_root, "c2", "state.json"), "{\"id\": \"c2\", \"pid\": 4");
        Assert.Contains("corrupt state", Assert.Throws<SkiffException>(() => store.Load("c2")).Message);
        Assert.Equal(ErrorCategory.NotFound, Assert.Throws<SkiffException>(() => store.Load("c3")).Category);
    }
}
