using System.Text.Json;
using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff images: the table Docker prints, or IDs (-q), or one JSON object per line.</summary>
public static class ImagesCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("all", 'a', "Show all images (skiff keeps no intermediate images)"),
        FlagSpec.Bool("quiet", 'q', "Only show image IDs"),
        FlagSpec.Bool("digests", FlagSpec.NoShort, "Show digests"),
        FlagSpec.Bool("no-trunc", FlagSpec.NoShort, "Don't truncate output"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "Format output: table (default) or json"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private sealed record Row(string Repository, string Tag, string Digest, ImageRecord Image);

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff images [OPTIONS] [REPOSITORY[:TAG]]", "List images", Flags));
            return 0;
        }
        if (p.Positionals.Count > 1)
        {
            throw new UsageException("\"skiff images\" accepts at most 1 argument");
        }
        string format = p.Value("format") ?? "table";
        if (format is not ("table" or "json"))
        {
            throw SkiffException.Invalid($"unsupported --format \"{format}\": use table or json");
        }
        var index = ImageStores.ForReading(context).ReadIndex();
        var rows = Rows(index, p.Positionals.Count == 1 ? p.Positionals[0] : null);
        bool noTrunc = p.Bool("no-trunc");
        string Id(ImageRecord i) => noTrunc ? i.Id : i.Id[Images.Digest.Prefix.Length..][..12];
        var now = DateTimeOffset.UtcNow;
        var output = Console.Out;
        if (p.Bool("quiet"))
        {
            foreach (var id in rows.Select(r => Id(r.Image)).Distinct())
            {
                output.WriteLine(id);
            }
            return 0;
        }
        if (format == "json")
        {
            foreach (var r in rows)
            {
                output.WriteLine(Json(r, Id(r.Image), now));
            }
            return 0;
        }
        bool digests = p.Bool("digests");
        var table = new List<string[]>
        {
            digests ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"] : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        };
        foreach (var r in rows)
        {
            string created = ImageFormat.Ago(ImageFormat.ParseTime(r.Image.Created), now);
            string size = ImageFormat.Size(r.Image.Size);
            table.Add(digests ? [r.Repository, r.Tag, r.Digest, Id(r.Image), created, size] : [r.Repository, r.Tag, Id(r.Image), created, size]);
        }
        ImageFormat.Table(output, table);
        return 0;
    }

    private static List<Row> Rows(ImageIndexFile index, string? filter)
    {
        ImageReference? want = null;
        if (filter is not null)
        {
            want = ImageReference.Parse(filter);
        }
        bool filterTag = filter is not null && filter.LastIndexOf(':') > filter.LastIndexOf('/');
        var rows = new List<Row>();
        foreach (var image in index.Images.OrderByDescending(i => ImageFormat.ParseTime(i.Created) ?? i.Added))
        {
            string digest = image.RepoDigests.Count > 0 ? image.RepoDigests[0][(image.RepoDigests[0].IndexOf('@') + 1)..] : "<none>";
            if (image.Names.Count == 0)
            {
                if (want is null)
                {
                    rows.Add(new Row("<none>", "<none>", digest, image));
                }
                continue;
            }
            foreach (var n in image.Names)
            {
                var r = ImageReference.Parse(n);
                if (want is not null && (r.Name != want.Name || filterTag && r.Tag != want.Tag))
                {
                    continue;
                }
                string d = image.RepoDigests.FirstOrDefault(x => x.StartsWith(r.Name + "@", StringComparison.Ordinal)) is { } rd ? rd[(rd.IndexOf('@') + 1)..] : "<none>";
                rows.Add(new Row(ImageReference.FamiliarName(r.Name), r.Tag ?? "<none>", d, image));
            }
        }
        return rows;
    }

    private static string Json(Row r, string id, DateTimeOffset now)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("Containers", "N/A");
            w.WriteString("CreatedAt", ImageFormat.ParseTime(r.Image.Created)?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss '+0000 UTC'", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            w.WriteString("CreatedSince", ImageFormat.Ago(ImageFormat.ParseTime(r.Image.Created), now));
            w.WriteString("Digest", r.Digest);
            w.WriteString("ID", id);
            w.WriteString("Repository", r.Repository);
            w.WriteString("SharedSize", "N/A");
            w.WriteString("Size", ImageFormat.Size(r.Image.Size));
            w.WriteString("Tag", r.Tag);
            w.WriteString("UniqueSize", "N/A");
            w.WriteString("VirtualSize", ImageFormat.Size(r.Image.Size));
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
