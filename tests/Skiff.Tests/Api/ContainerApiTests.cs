using System.Text;
using System.Text.Json;
using Skiff.Api;
using Skiff.Api.Endpoints;
using Skiff.Api.Events;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;
using Skiff.Images;
using Skiff.Runtime;
using ContainerConfig = Skiff.Engine.Containers.ContainerConfig;

namespace Skiff.Tests.Api;

/// <summary>
/// The container, exec, volume and event endpoints over a real socket, on a store in a
/// temporary directory: everything that needs no running container (integration tests
/// drive the rest with the docker CLI and Docker.DotNet).
/// </summary>
public sealed class ContainerApiTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-api-containers-").FullName;
    private TestServer _server = null!;
    private Daemon _daemon = null!;

    public Task InitializeAsync()
    {
        _daemon = new Daemon
        {
            Paths = new SkiffPaths(_root),
            Images = new ImageStore(_root, new UnpackOptions()),
            Rootless = false,
            Version = "9.9.9",
            Commit = "abc",
        };
        _server = new TestServer(new DockerApi(_daemon).HandleAsync);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private void ImportImage(string name)
    {
        string tar = Path.Combine(_root, "layer.tar");
        using (var f = File.Create(tar))
        using (var w = new System.Formats.Tar.TarWriter(f))
        {
            w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "hello") { DataStream = new MemoryStream("hi"u8.ToArray()) });
        }
        ImageImport.Import(_daemon.Images, tar, [ImageReference.Parse(name)], ["CMD [\"echo\", \"from the image\"]"], null);
    }

    private async Task<RawResponse> Call(string method, string path, string? json = null)
    {
        using var client = _server.Connect();
        byte[] body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        client.Send($"{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        if (body.Length > 0)
        {
            client.Send(body);
        }
        return await client.ReadResponseAsync();
    }

    private static string Message(RawResponse r) => JsonDocument.Parse(r.Body).RootElement.GetProperty("message").GetString()!;

    private static JsonElement Json(RawResponse r) => JsonDocument.Parse(r.Body).RootElement;

    [Fact]
    public async Task Create_answers_201_with_the_id_and_inspect_and_list_show_the_container()
    {
        ImportImage("app:1");
        var created = await Call("POST", "/v1.47/containers/create?name=web", """
            {"Image":"app:1","Cmd":["sleep","5"],"Env":["A=b"],"Labels":{"tier":"front"},"Entrypoint":null,"Volumes":{},
             "HostConfig":{"NetworkMode":"default","LogConfig":{"Type":"","Config":{}},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},
                           "PidsLimit":0,"ConsoleSize":[0,0],"Dns":[],"Ulimits":[],"CgroupnsMode":"","BlkioWeightDevice":[]},
             "NetworkingConfig":{"EndpointsConfig":{"default":{}}}}
            """);

        Assert.Equal(201, created.Status);
        string id = Json(created).GetProperty("Id").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.Equal(0, Json(created).GetProperty("Warnings").GetArrayLength());

        var inspect = await Call("GET", "/v1.47/containers/web/json");
        Assert.Equal(200, inspect.Status);
        var c = Json(inspect);
        Assert.Equal(id, c.GetProperty("Id").GetString());
        Assert.Equal("/web", c.GetProperty("Name").GetString());
        Assert.Equal("created", c.GetProperty("State").GetProperty("Status").GetString());
        Assert.Equal(["sleep", "5"], c.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("A=b", c.GetProperty("Config").GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("json-file", c.GetProperty("HostConfig").GetProperty("LogConfig").GetProperty("Type").GetString());
        Assert.Equal(JsonValueKind.Null, c.GetProperty("HostConfig").GetProperty("PidsLimit").ValueKind);

        var running = await Call("GET", "/v1.47/containers/json");
        var all = await Call("GET", "/v1.47/containers/json?all=1&filters=%7B%22label%22%3A%5B%22tier%3Dfront%22%5D%7D");
        Assert.Equal(0, Json(running).GetArrayLength());
        var row = Assert.Single(Json(all).EnumerateArray());
        Assert.Equal(["/web"], row.GetProperty("Names").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("app:1", row.GetProperty("Image").GetString());
        Assert.Equal("created", row.GetProperty("State").GetString());
        Assert.Equal("Created", row.GetProperty("Status").GetString());
        Assert.Equal("bridge", row.GetProperty("HostConfig").GetProperty("NetworkMode").GetString());
        Assert.Equal("sleep 5", row.GetProperty("Command").GetString());
    }

    [Fact]
    public async Task Create_refuses_what_dockerd_refuses_with_its_status()
    {
        ImportImage("app:1");
        var missing = await Call("POST", "/containers/create", """{"Image":"nothere:1"}""");
        var badJson = await Call("POST", "/containers/create", "{\"Image\":");
        var empty = await Call("POST", "/containers/create");
        var badName = await Call("POST", "/containers/create?name=a%20b", """{"Image":"app:1"}""");
        var badNetwork = await Call("POST", "/containers/create", """{"Image":"app:1","HostConfig":{"NetworkMode":"mynet"}}""");
        var badMemory = await Call("POST", "/containers/create", """{"Image":"app:1","HostConfig":{"Memory":1024}}""");
        var rmAndRestart = await Call("POST", "/containers/create", """{"Image":"app:1","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}""");
        var first = await Call("POST", "/containers/create?name=twice", """{"Image":"app:1"}""");
        var second = await Call("POST", "/containers/create?name=twice", """{"Image":"app:1"}""");

        // 404 with "No such image" is what makes the docker CLI pull and try again.
        Assert.Equal(404, missing.Status);
        Assert.Equal("No such image: nothere:1", Message(missing));
        Assert.Equal(400, badJson.Status);
        Assert.Equal(400, empty.Status);
        Assert.Equal(400, badName.Status);
        Assert.Contains("Invalid container name", Message(badName));
        Assert.Equal(404, badNetwork.Status);
        Assert.Equal("network mynet not found", Message(badNetwork));
        Assert.Equal(400, badMemory.Status);
        Assert.Equal("Minimum memory limit allowed is 6MB", Message(badMemory));
        Assert.Equal(400, rmAndRestart.Status);
        Assert.Equal(201, first.Status);
        Assert.Equal(409, second.Status);
        Assert.Contains("is already in use", Message(second));
        // A refused create leaves nothing behind.
        Assert.Single(Json(await Call("GET", "/containers/json?all=1")).EnumerateArray());
    }

    [Fact]
    public async Task Remove_rename_and_prune_act_on_stopped_containers_and_404_when_gone()
    {
        ImportImage("app:1");
        string id = Json(await Call("POST", "/containers/create?name=old", """{"Image":"app:1"}""")).GetProperty("Id").GetString()!;
        Json(await Call("POST", "/containers/create?name=other", """{"Image":"app:1","Labels":{"keep":"yes"}}"""));

        var renamed = await Call("POST", "/containers/old/rename?name=new");
        var gone = await Call("GET", "/containers/old/json");
        var byNewName = await Call("GET", "/containers/new/json");
        var sameName = await Call("POST", "/containers/new/rename?name=new");
        var removed = await Call("DELETE", "/containers/" + id[..12]);
        var again = await Call("DELETE", "/containers/" + id);
        var startMissing = await Call("POST", "/containers/" + id + "/start");
        var pruned = await Call("POST", "/containers/prune?filters=%7B%22label!%22%3A%5B%22keep%22%5D%7D");
        var prunedAll = await Call("POST", "/containers/prune");

        Assert.Equal(204, renamed.Status);
        Assert.Equal(404, gone.Status);
        Assert.Equal("No such container: old", Message(gone));
        Assert.Equal("/new", Json(byNewName).GetProperty("Name").GetString());
        Assert.Equal(400, sameName.Status);
        Assert.Equal(204, removed.Status);
        Assert.Equal(404, again.Status);
        Assert.Equal(404, startMissing.Status);
        Assert.Equal(JsonValueKind.Null, Json(pruned).GetProperty("ContainersDeleted").ValueKind);
        Assert.Single(Json(prunedAll).GetProperty("ContainersDeleted").EnumerateArray());
        Assert.Equal(0, Json(await Call("GET", "/containers/json?all=1")).GetArrayLength());
    }

    [Fact]
    public async Task Wait_sends_its_head_at_once_and_the_status_when_the_condition_holds()
    {
        ImportImage("app:1");
        string id = Json(await Call("POST", "/containers/create?name=w1", """{"Image":"app:1"}""")).GetProperty("Id").GetString()!;

        // A created container is not running: not-running answers at once.
        var now = await Call("POST", $"/containers/{id}/wait");
        Assert.Equal(200, now.Status);
        Assert.Equal("{\"StatusCode\":0,\"Error\":null}\n", now.Text);

        // removed: the head comes before the body, which comes once the container is gone.
        using var client = _server.Connect();
        client.Send($"POST /v1.47/containers/{id}/wait?condition=removed HTTP/1.1\r\nHost: docker\r\n\r\n");
        var head = client.ReadResponseAsync(timeout: TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(head.IsCompleted);
        Assert.Equal(204, (await Call("DELETE", $"/containers/{id}")).Status);
        var done = await head;
        Assert.Equal(200, done.Status);
        Assert.Equal("chunked", done.Header("Transfer-Encoding"));
        Assert.Equal(0, Json(done).GetProperty("StatusCode").GetInt32());

        var missing = await Call("POST", $"/containers/{id}/wait");
        var badCondition = await Call("POST", "/containers/nothere/wait?condition=soon");
        Assert.Equal(404, missing.Status);
        Assert.Equal(404, badCondition.Status);
    }

    [Fact]
    public async Task A_client_that_drops_a_wait_leaves_nothing_behind()
    {
        ImportImage("app:1");
        Json(await Call("POST", "/containers/create?name=w2", """{"Image":"app:1"}"""));
        using (var client = _server.Connect())
        {
            client.Send("POST /v1.47/containers/w2/wait?condition=next-exit HTTP/1.1\r\nHost: docker\r\n\r\n");
            var buffer = new byte[512];
            int n = await client.Socket.ReceiveAsync(buffer);
            Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(buffer, 0, n));
        }
        await _server.WaitForNoConnectionsAsync();
        Assert.Equal(200, (await Call("GET", "/containers/w2/json")).Status);
    }

    [Fact]
    public async Task Stopped_containers_answer_start_stop_and_kill_as_dockerd_does()
    {
        ImportImage("app:1");
        Json(await Call("POST", "/containers/create?name=idle", """{"Image":"app:1"}"""));

        var stop = await Call("POST", "/containers/idle/stop?t=1");
        var kill = await Call("POST", "/containers/idle/kill?signal=HUP");
        var badSignal = await Call("POST", "/containers/idle/kill?signal=NOPE");
        var resize = await Call("POST", "/containers/idle/resize?h=10&w=20");
        var logsNoStream = await Call("GET", "/containers/idle/logs");
        var logs = await Call("GET", "/containers/idle/logs?stdout=1&stderr=1");
        var top = await Call("GET", "/containers/idle/top");
        var exec = await Call("POST", "/containers/idle/exec", """{"Cmd":["true"]}""");

        Assert.Equal(304, stop.Status);
        Assert.Equal(409, kill.Status);
        Assert.Contains("is not running", Message(kill));
        Assert.Equal(400, badSignal.Status);
        Assert.Equal(409, resize.Status);
        Assert.Equal(400, logsNoStream.Status);
        Assert.Equal(200, logs.Status);
        Assert.Equal("application/vnd.docker.multiplexed-stream", logs.Header("Content-Type"));
        Assert.Empty(logs.Body);
        Assert.Equal(409, top.Status);
        Assert.Equal(409, exec.Status);
        Assert.Equal(404, (await Call("GET", "/exec/0123/json")).Status);
        Assert.Equal(404, (await Call("POST", "/exec/0123/start", "{}")).Status);
    }

    [Fact]
    public async Task Volumes_are_created_listed_inspected_and_removed()
    {
        var created = await Call("POST", "/v1.47/volumes/create", """{"Name":"data","Labels":{"team":"a"}}""");
        var anonymous = await Call("POST", "/v1.47/volumes/create", "{}");
        var list = await Call("GET", "/v1.47/volumes");
        var filtered = await Call("GET", "/v1.47/volumes?filters=%7B%22label%22%3A%5B%22team%3Da%22%5D%7D");
        var inspect = await Call("GET", "/v1.47/volumes/data");
        var badFilter = await Call("GET", "/v1.47/volumes?filters=%7B%22color%22%3A%5B%22x%22%5D%7D");
        var removed = await Call("DELETE", "/v1.47/volumes/data");
        var missing = await Call("GET", "/v1.47/volumes/data");
        var prune = await Call("POST", "/v1.47/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D");

        Assert.Equal(201, created.Status);
        Assert.Equal("data", Json(created).GetProperty("Name").GetString());
        Assert.Equal(Path.Combine(_root, "volumes", "data", "_data"), Json(created).GetProperty("Mountpoint").GetString());
        Assert.Equal(201, anonymous.Status);
        Assert.Equal(2, Json(list).GetProperty("Volumes").GetArrayLength());
        Assert.Equal(0, Json(list).GetProperty("Warnings").GetArrayLength());
        Assert.Equal("data", Assert.Single(Json(filtered).GetProperty("Volumes").EnumerateArray()).GetProperty("Name").GetString());
        Assert.Equal("a", Json(inspect).GetProperty("Labels").GetProperty("team").GetString());
        Assert.Equal(400, badFilter.Status);
        Assert.Equal(204, removed.Status);
        Assert.Equal(404, missing.Status);
        Assert.Equal(Json(anonymous).GetProperty("Name").GetString(), Assert.Single(Json(prune).GetProperty("VolumesDeleted").EnumerateArray()).GetString());
    }

    [Fact]
    public async Task Events_replay_since_a_time_and_filter_by_container_and_action()
    {
        ImportImage("app:1");
        long since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        Json(await Call("POST", "/containers/create?name=ev1", """{"Image":"app:1"}"""));
        Json(await Call("POST", "/containers/create?name=ev2", """{"Image":"app:1"}"""));
        await Call("DELETE", "/containers/ev1");
        long until = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;

        var all = await Call("GET", $"/events?since={since}&until={until}");
        string filter = Uri.EscapeDataString("""{"container":["ev1"],"event":["destroy"]}""");
        var some = await Call("GET", $"/events?since={since}&until={until}&filters={filter}");
        var badFilter = await Call("GET", "/events?filters=" + Uri.EscapeDataString("""{"colour":["x"]}"""));

        var actions = all.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => e.GetProperty("Action").GetString() + " " + e.GetProperty("Actor").GetProperty("Attributes").GetProperty("name").GetString())
            .ToList();
        Assert.Equal(["create ev1", "create ev2", "destroy ev1"], actions);
        var one = JsonDocument.Parse(Assert.Single(some.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal("container", one.GetProperty("Type").GetString());
        Assert.Equal("destroy", one.GetProperty("status").GetString());
        Assert.Equal("app:1", one.GetProperty("from").GetString());
        Assert.True(one.GetProperty("timeNano").GetInt64() / 1_000_000_000 == one.GetProperty("time").GetInt64());
        Assert.Equal(400, badFilter.Status);
    }

    [Fact]
    public async Task Events_without_until_stream_new_events_only_until_the_client_goes()
    {
        ImportImage("app:1");
        Json(await Call("POST", "/containers/create?name=before", """{"Image":"app:1"}"""));
        using var client = _server.Connect();
        client.Send("GET /v1.47/events HTTP/1.1\r\nHost: docker\r\n\r\n");
        var buffer = new byte[4096];
        int n = await client.Socket.ReceiveAsync(buffer);
        Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(buffer, 0, n));

        Json(await Call("POST", "/containers/create?name=after", """{"Image":"app:1"}"""));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("\"name\":\"after\""))
        {
            n = await client.Socket.ReceiveAsync(buffer, cts.Token);
            seen.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        Assert.DoesNotContain("\"name\":\"before\"", seen.ToString());
        client.Socket.Dispose();
        await _server.WaitForNoConnectionsAsync();
    }

    [Fact]
    public async Task System_df_counts_images_containers_and_volumes()
    {
        ImportImage("app:1");
        Json(await Call("POST", "/containers/create?name=df1", """{"Image":"app:1"}"""));
        await Call("POST", "/volumes/create", """{"Name":"v1"}""");

        var df = Json(await Call("GET", "/v1.47/system/df"));

        var image = Assert.Single(df.GetProperty("Images").EnumerateArray());
        Assert.Equal(1, image.GetProperty("Containers").GetInt64());
        Assert.Equal(["app:1"], image.GetProperty("RepoTags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/df1", Assert.Single(df.GetProperty("Containers").EnumerateArray()).GetProperty("Names")[0].GetString());
        var volume = Assert.Single(df.GetProperty("Volumes").EnumerateArray());
        Assert.Equal(0, volume.GetProperty("UsageData").GetProperty("RefCount").GetInt64());
        Assert.Equal(0, df.GetProperty("BuildCache").GetArrayLength());
    }

    [Fact]
    public async Task Info_counts_the_containers()
    {
        ImportImage("app:1");
        Json(await Call("POST", "/containers/create?name=i1", """{"Image":"app:1"}"""));
        Json(await Call("POST", "/containers/create?name=i2", """{"Image":"app:1"}"""));

        var info = Json(await Call("GET", "/info"));

        Assert.Equal(2, info.GetProperty("Containers").GetInt32());
        Assert.Equal(2, info.GetProperty("ContainersStopped").GetInt32());
        Assert.Equal(0, info.GetProperty("ContainersRunning").GetInt32());
    }

    [Fact]
    public void Normalize_reads_the_apis_spellings_into_skiffs_model()
    {
        var config = JsonSerializer.Deserialize("""{"User":null,"Entrypoint":[""],"Image":"x"}""", ContainerApiJson.Default.ContainerConfig)!;
        var host = JsonSerializer.Deserialize("""{"NetworkMode":"bridge","LogConfig":null,"RestartPolicy":null,"PidsLimit":-1}""", ContainerApiJson.Default.HostConfig)!;

        ContainerEndpoints.Normalize(config, host);

        Assert.Equal("", config.User);
        Assert.Equal([], config.Entrypoint);
        Assert.Equal("private", host.NetworkMode);
        Assert.Equal("json-file", host.LogConfig.Type);
        Assert.Empty(host.LogConfig.Config);
        Assert.Equal("", host.RestartPolicy.Name);
        Assert.Null(host.PidsLimit);
        Assert.Throws<SkiffException>(() => ContainerEndpoints.Normalize(new ContainerConfig(), new HostConfig { LogConfig = new LogConfig { Type = "syslog" } }));
        Assert.Throws<SkiffException>(() => ContainerEndpoints.Normalize(new ContainerConfig(), new HostConfig { RestartPolicy = new RestartPolicy { Name = "sometimes" } }));
    }

    [Fact]
    public void Exec_runs_the_cli_verb_with_the_api_config_as_its_flags()
    {
        var config = new ExecCreateRequest
        {
            Cmd = ["sh", "-c", "echo $A"],
            Env = ["A=1", "BARE", "B=-x"],
            WorkingDir = "/tmp",
            User = "nobody",
            Privileged = true,
        };

        var argv = ExecEndpoints.Argv("/usr/bin/skiff", "/var/lib/skiff", "c0ffee", config, tty: true, interactive: true);

        Assert.Equal(["/usr/bin/skiff", "--root", "/var/lib/skiff", "exec", "-i", "-t", "--privileged", "--env=A=1", "--env=B=-x",
            "--workdir=/tmp", "--user=nobody", "--", "c0ffee", "sh", "-c", "echo $A"], argv);
        Assert.Equal(["/s", "--root", "/r", "exec", "--", "id", "true"],
            ExecEndpoints.Argv("/s", "/r", "id", new ExecCreateRequest { Cmd = ["true"] }, tty: false, interactive: false));
    }

    [Fact]
    public void Event_filters_match_as_dockerd_matches_them()
    {
        var bus = new EventBus();
        using var subscription = bus.Subscribe();
        bus.Publish("container", "exec_start: sh", new string('a', 64), new() { ["name"] = "web", ["image"] = "app:1", ["tier"] = "front" });
        bus.Publish("volume", "create", "data");
        Assert.True(subscription.Live.TryRead(out var exec));
        Assert.True(subscription.Live.TryRead(out var volume));

        Filters F(string json) => Filters.Parse(json);
        Assert.True(EventEndpoints.Matches(F("""{"event":["exec_start"]}"""), exec));
        Assert.True(EventEndpoints.Matches(F("""{"container":["web"],"label":["tier=front"]}"""), exec));
        Assert.True(EventEndpoints.Matches(F("""{"container":["aaaa"],"image":["app:1"]}"""), exec));
        Assert.False(EventEndpoints.Matches(F("""{"container":["db"]}"""), exec));
        Assert.False(EventEndpoints.Matches(F("""{"type":["volume"]}"""), exec));
        Assert.True(EventEndpoints.Matches(F("""{"type":["volume"],"volume":["data"]}"""), volume));
        Assert.False(EventEndpoints.Matches(F("""{"container":["data"]}"""), volume));
        Assert.Null(volume.Status);
    }

    [Fact]
    public async Task Pending_attaches_are_taken_once_by_a_start_or_given_back_by_their_owner()
    {
        var attaches = new PendingAttaches();
        var a = new PendingAttach(Skiff.Runtime.Supervision.AttachStreams.Stdout);
        var b = new PendingAttach(Skiff.Runtime.Supervision.AttachStreams.Stdout);
        attaches.Add("c1", a);
        attaches.Add("c1", b);

        Assert.True(attaches.Remove("c1", b));
        var taken = attaches.Take("c1");
        Assert.Equal([a], taken);
        Assert.Empty(attaches.Take("c1"));
        Assert.False(attaches.Remove("c1", a));
        a.Cancel();
        Assert.True(a.Connected.IsCompleted);
        Assert.Null(await a.Connected);
    }
}
