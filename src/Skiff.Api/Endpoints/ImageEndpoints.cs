using System.Globalization;
using System.Text;
using System.Text.Json;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Api.Endpoints;

/// <summary>
/// /images/...: list, inspect, history, pull (create), push, tag, remove, prune, save
/// (get) and load, on the same store and code the `skiff` image verbs use.
/// </summary>
public static class ImageEndpoints
{
    private const string DefaultPlatform = "linux/amd64";

    public static void Map(Router routes, Daemon daemon)
    {
        var store = daemon.Images;
        routes.Get("/images/json", c => List(c, store));
        routes.Post("/images/create", c => Create(c, store));
        routes.Get("/images/get", c => Save(c, store, c.Query.All("names")));
        routes.Get("/images/{name...}/get", c => Save(c, store, [c.Route("name")]));
        routes.Post("/images/load", c => Load(c, store));
        routes.Post("/images/prune", c => Prune(c, store));
        routes.Get("/images/{name...}/json", c => Inspect(c, store));
        routes.Get("/images/{name...}/history", c => History(c, store));
        routes.Post("/images/{name...}/tag", c => Tag(c, store));
        routes.Post("/images/{name...}/push", c => Push(c, store));
        routes.Delete("/images/{name...}", c => Remove(c, store));
    }

    private static ImageRecord Find(ImageIndexFile index, string name) =>
        ImageStore.Find(index, name) ?? throw SkiffException.NotFound($"No such image: {name}");

    private static Task List(ApiContext c, ImageStore store)
    {
        var filters = Filters.Parse(c.Query.Get("filters"));
        filters.Allow("reference", "dangling", "label", "before", "since");
        var index = store.ReadIndex();
        bool? dangling = filters.Bool("dangling");
        long? before = filters.Values("before") is [var b, ..] ? CreatedOf(Find(index, b)) : null;
        long? since = filters.Values("since") is [var s, ..] ? CreatedOf(Find(index, s)) : null;
        var patterns = filters.Values("reference");
        var list = new List<ImageSummary>();
        foreach (var image in index.Images.OrderByDescending(i => CreatedOf(i)))
        {
            if (dangling is { } d && d != (image.Names.Count == 0))
            {
                continue;
            }
            long created = CreatedOf(image);
            if (before is { } bt && created >= bt || since is { } st && created <= st)
            {
                continue;
            }
            var tags = image.Names.Select(n => ImageReference.TryParse(n, out var r) ? r : null).OfType<ImageReference>()
                .Where(r => patterns.Count == 0 || patterns.Any(p => MatchesReference(p, r)))
                .Select(r => r.Familiar).ToList();
            if (patterns.Count > 0 && tags.Count == 0)
            {
                continue;
            }
            var labels = ConfigOrNull(store, image)?.Config?.Labels;
            if (!filters.MatchLabels(labels))
            {
                continue;
            }
            list.Add(new ImageSummary
            {
                Id = image.Id,
                RepoTags = tags,
                RepoDigests = image.RepoDigests.Select(ImageReference.FamiliarName).ToList(),
                Created = created,
                Size = image.Size,
                Labels = labels,
            });
        }
        return c.JsonAsync(list, ApiJson.Default.ListImageSummary);
    }

    /// <summary>Docker's reference filter: a glob on "name:tag" or on the name alone, in familiar form.</summary>
    private static bool MatchesReference(string pattern, ImageReference r)
    {
        string name = ImageReference.FamiliarName(r.Name);
        return Filters.Glob(pattern, r.Familiar) || Filters.Glob(pattern, name)
               || ImageReference.TryParse(pattern, out var full) && full.ToString() == r.ToString();
    }

    private static long CreatedOf(ImageRecord image) =>
        DateTimeOffset.TryParse(image.Created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeSeconds()
            : image.Added.ToUnixTimeSeconds();

    private static ImageConfig? ConfigOrNull(ImageStore store, ImageRecord image)
    {
        try
        {
            return store.ReadConfig(image);
        }
        catch (Exception e) when (e is SkiffException or IOException)
        {
            return null;
        }
    }

    private static Task Inspect(ApiContext c, ImageStore store)
    {
        var image = Find(store.ReadIndex(), c.Route("name"));
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            ImageInspection.Write(w, store, image);
        }
        ms.WriteByte((byte)'\n');
        return c.Response.WriteAsync(ms.ToArray(), "application/json");
    }

    private static Task History(ApiContext c, ImageStore store)
    {
        var image = Find(store.ReadIndex(), c.Route("name"));
        var rows = store.History(image).Select(r => new ImageHistoryItem
        {
            Id = r.Id,
            Created = DateTimeOffset.TryParse(r.Created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.ToUnixTimeSeconds() : 0,
            CreatedBy = r.CreatedBy,
            Tags = r.Id == image.Id ? image.Names.Select(n => ImageReference.TryParse(n, out var x) ? x.Familiar : n).ToList() : null,
            Size = r.Size,
            Comment = r.Comment,
        }).ToList();
        return c.JsonAsync(rows, ApiJson.Default.ListImageHistoryItem);
    }

    /// <summary>POST /images/create: a pull (fromImage) or an import of the request body (fromSrc=-).</summary>
    private static async Task Create(ApiContext c, ImageStore store)
    {
        string? from = c.Query.Get("fromImage");
        if (string.IsNullOrEmpty(from))
        {
            if (c.Query.Get("fromSrc") is { Length: > 0 } src)
            {
                await Import(c, store, src);
                return;
            }
            throw SkiffException.Invalid("fromImage or fromSrc is required");
        }
        var reference = ReferenceOf(from, c.Query.Get("tag"));
        string platform = c.Query.Get("platform") is { Length: > 0 } p ? p : DefaultPlatform;
        var credential = CredentialFor(c, reference.Registry);
        var endpoint = RegistryEndpoint.Configured(reference.Registry);
        // The client's status is 200 from here on: failures travel as an error line.
        var stream = await c.StreamAsync("application/json");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(c.Aborted);
        var progress = new JsonProgress(stream, cts);
        try
        {
            using var client = new RegistryClient(endpoint, credential);
            var pull = new ImagePull(store, client, progress);
            await RegistryClient.RunAsync(reference.Registry, () => pull.PullAsync(reference, platform, cts.Token));
            progress.Message(pull.Status(reference));
        }
        catch (Exception e) when (DockerApi.Classify(e) is var (_, message))
        {
            progress.Error(message);
        }
    }

    /// <summary>fromImage arrives fully qualified ("docker.io/library/busybox") and the tag apart; a digest may stand in for the tag.</summary>
    public static ImageReference ReferenceOf(string fromImage, string? tag)
    {
        if (string.IsNullOrEmpty(tag))
        {
            return ImageReference.Parse(fromImage);
        }
        var named = ImageReference.Parse(fromImage);
        string bare = named.Name;
        return ImageReference.Parse(tag.StartsWith(Digest.Prefix, StringComparison.Ordinal) ? bare + "@" + tag : bare + ":" + tag);
    }

    /// <summary>
    /// X-Registry-Auth (base64url JSON of username/password or auth) when the client sent
    /// one with a secret in it; else what `skiff login` (or docker's config.json) stored.
    /// </summary>
    public static Credential? CredentialFor(ApiContext c, string registry)
    {
        if (DecodeAuth(c.Request.Headers.Get("X-Registry-Auth")) is { } sent)
        {
            return sent;
        }
        return RegistryCredentials.Default().Find(registry);
    }

    public static Credential? DecodeAuth(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }
        AuthConfig? auth;
        try
        {
            string b64 = header.Trim().Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            auth = JsonSerializer.Deserialize(Convert.FromBase64String(b64), ApiJson.Default.AuthConfig);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw SkiffException.Invalid("X-Registry-Auth is not base64 JSON of the registry credentials");
        }
        if (auth is null)
        {
            return null;
        }
        if (!string.IsNullOrEmpty(auth.Username) && !string.IsNullOrEmpty(auth.Password))
        {
            return new Credential(auth.Username, auth.Password);
        }
        if (!string.IsNullOrEmpty(auth.Auth))
        {
            try
            {
                string pair = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth));
                int colon = pair.IndexOf(':');
                if (colon > 0)
                {
                    return new Credential(pair[..colon], pair[(colon + 1)..]);
                }
            }
            catch (FormatException)
            {
                throw SkiffException.Invalid("X-Registry-Auth: \"auth\" is not base64 of user:password");
            }
        }
        return null;
    }

    /// <summary>docker import: the body is a root filesystem tarball; the answer is the image ID as a status line.</summary>
    private static async Task Import(ApiContext c, ImageStore store, string src)
    {
        if (src != "-")
        {
            throw SkiffException.Invalid($"fromSrc=\"{src}\": skiff imports only the request body (fromSrc=-)");
        }
        var names = new List<ImageReference>();
        if (c.Query.Get("repo") is { Length: > 0 } repo)
        {
            names.Add(ReferenceOf(repo, c.Query.Get("tag")));
        }
        Directory.CreateDirectory(store.Content.IngestDir);
        string tmp = Path.Combine(store.Content.IngestDir, TempNames.New(ContentStore.IngestPrefix + "import-"));
        try
        {
            await using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: false))
            {
                await c.Request.Body.CopyToAsync(f);
            }
            var changes = c.Query.All("changes");
            string? message = c.Query.Get("message");
            var image = await Task.Run(() => ImageImport.Import(store, tmp, names, changes, string.IsNullOrEmpty(message) ? null : message));
            var stream = await c.StreamAsync("application/json");
            new JsonProgress(stream).Write(new ProgressMessage { Status = image.Id });
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private static async Task Push(ApiContext c, ImageStore store)
    {
        string name = c.Route("name");
        string tag = c.Query.Get("tag") is { Length: > 0 } t ? t : "latest";
        var target = ReferenceOf(name, tag);
        var image = ImageStore.Find(store.ReadIndex(), target.ToString())
                    ?? throw SkiffException.NotFound($"An image does not exist locally with the tag: {ImageReference.FamiliarName(target.Name)}");
        var credential = CredentialFor(c, target.Registry);
        var endpoint = RegistryEndpoint.Configured(target.Registry);
        var stream = await c.StreamAsync("application/json");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(c.Aborted);
        var progress = new JsonProgress(stream, cts);
        try
        {
            using var client = new RegistryClient(endpoint, credential);
            var digest = await RegistryClient.RunAsync(target.Registry, () => new ImagePush(store, client, progress).PushAsync(image, target, cts.Token));
            long size = store.Content.SizeOf(Digest.Parse(image.Manifest, "manifest"));
            progress.Aux(JsonSerializer.SerializeToElement(new PushResult { Tag = tag, Digest = digest.ToString(), Size = size }, ApiJson.Default.PushResult));
        }
        catch (Exception e) when (DockerApi.Classify(e) is var (_, message))
        {
            progress.Error(message);
        }
    }

    private static Task Tag(ApiContext c, ImageStore store)
    {
        string repo = c.Query.Get("repo") is { Length: > 0 } r ? r : throw SkiffException.Invalid("repo is required: POST /images/{name}/tag?repo=NAME&tag=TAG");
        var target = ReferenceOf(repo, c.Query.Get("tag"));
        store.Tag(c.Route("name"), target);
        return c.StatusAsync(201);
    }

    private static Task Remove(ApiContext c, ImageStore store)
    {
        var lines = store.Remove(c.Route("name"), c.Query.Bool("force"));
        return c.JsonAsync(lines.Select(DeleteItem).ToList(), ApiJson.Default.ListImageDeleteItem);
    }

    /// <summary>The store's "Untagged: x" / "Deleted: sha256:..." lines (any case) as Docker's objects.</summary>
    private static ImageDeleteItem DeleteItem(string line)
    {
        int colon = line.IndexOf(": ", StringComparison.Ordinal);
        string what = colon < 0 ? "" : line[..colon];
        string value = colon < 0 ? line : line[(colon + 2)..];
        return what.Equals("untagged", StringComparison.OrdinalIgnoreCase)
            ? new ImageDeleteItem { Untagged = value }
            : new ImageDeleteItem { Deleted = value };
    }

    private static Task Prune(ApiContext c, ImageStore store)
    {
        var filters = Filters.Parse(c.Query.Get("filters"));
        filters.Allow("dangling");
        // Docker prunes dangling images unless told dangling=false (docker image prune -a).
        bool all = filters.Bool("dangling") == false;
        var (lines, reclaimed) = store.Prune(all);
        var report = new ImagePruneReport
        {
            ImagesDeleted = lines.Count == 0 ? null : lines.Select(DeleteItem).ToList(),
            SpaceReclaimed = reclaimed,
        };
        return c.JsonAsync(report, ApiJson.Default.ImagePruneReport);
    }

    /// <summary>docker save: a Docker archive of the named images, streamed as it is written.</summary>
    private static async Task Save(ApiContext c, ImageStore store, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            throw SkiffException.Invalid("names is required: GET /images/get?names=IMAGE");
        }
        var index = store.ReadIndex();
        foreach (var n in names)
        {
            Find(index, n);
        }
        var stream = await c.StreamAsync("application/x-tar");
        await Task.Run(() =>
        {
            ImageArchiveWriter.Save(store, names, stream, ArchiveFormat.Docker);
            stream.Flush();
        });
    }

    /// <summary>docker load: a Docker or OCI archive in the (chunked) body; one {"stream"} line per image loaded.</summary>
    private static async Task Load(ApiContext c, ImageStore store)
    {
        var body = c.Request.Body;
        List<string> loaded;
        try
        {
            loaded = await Task.Run(() => ImageArchive.Load(store, body, DefaultPlatform));
        }
        catch (Exception e) when (e is not Http.BadHttpRequestException)
        {
            // Read what is still coming so the client gets the answer, not a broken pipe.
            await SkipRestAsync(body);
            throw;
        }
        // The tar reader stops at the archive's end marker; padding may follow it.
        await SkipRestAsync(body);
        var stream = await c.StreamAsync("application/json");
        var progress = new JsonProgress(stream);
        foreach (var line in loaded)
        {
            progress.Stream(line + "\n");
        }
    }

    private static async Task SkipRestAsync(Http.RequestBody body)
    {
        try
        {
            await body.DrainAsync(long.MaxValue, CancellationToken.None);
        }
        catch (IOException)
        {
            // A broken body or a client gone: the connection closes anyway.
        }
    }
}
