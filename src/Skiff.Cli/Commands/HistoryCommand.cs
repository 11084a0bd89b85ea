using System.Text.Json;
using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff history: the image config's history entries as Docker shows them, newest first.</summary>
public static class HistoryCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("no-trunc", FlagSpec.NoShort, "Don't truncate output"),
        FlagSpec.Bool("quiet", 'q', "Only show image IDs"),
        FlagSpec.Bool("human", 'H', "Print sizes and dates in human readable format (always on)"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "Format output: table (default) or json"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff history [OPTIONS] IMAGE", "Show the history of an image", Flags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff history\" requires exactly 1 argument");
        }
        string format = p.Value("format") ?? "table";
        if (format is not ("table" or "json"))
        {
            throw SkiffException.Invalid($"unsupported --format \"{format}\": use table or json");
        }
        var store = ImageStores.ForReading(context);
        var image = store.Resolve(p.Positionals[0]);
        var rows = store.History(image);
        bool noTrunc = p.Bool("no-trunc");
        string Id(HistoryRow r) => noTrunc || !r.Id.StartsWith(Digest.Prefix, StringComparison.Ordinal) ? r.Id : r.Id[Digest.Prefix.Length..][..12];
        var now = DateTimeOffset.UtcNow;
        var output = Console.Out;
        if (p.Bool("quiet"))
        {
            foreach (var r in rows)
            {
                output.WriteLine(Id(r));
            }
            return 0;
        }
        if (format == "json")
        {
            foreach (var r in rows)
            {
                output.WriteLine(Json(r, Id(r), noTrunc, now));
            }
            return 0;
        }
        var table = new List<string[]> { new[] { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" } };
        foreach (var r in rows)
        {
            table.Add([Id(r), ImageFormat.Ago(ImageFormat.ParseTime(r.Created), now), CreatedBy(r.CreatedBy, noTrunc), ImageFormat.Size(r.Size), r.Comment]);
        }
        ImageFormat.Table(output, table);
        return 0;
    }

    /// <summary>Docker's CREATED BY: tabs as spaces, cut to 45 characters with an ellipsis unless --no-trunc.</summary>
    public static string CreatedBy(string createdBy, bool noTrunc)
    {
        string s = createdBy.Replace('\t', ' ');
        if (noTrunc || s.Length <= 45)
        {
            return s;
        }
        return s[..44] + "…";
    }

    private static string Json(HistoryRow r, string id, bool noTrunc, DateTimeOffset now)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("Comment", r.Comment);
            w.WriteString("CreatedAt", ImageFormat.ParseTime(r.Created)?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            w.WriteString("CreatedBy", CreatedBy(r.CreatedBy, noTrunc));
            w.WriteString("CreatedSince", ImageFormat.Ago(ImageFormat.ParseTime(r.Created), now));
            w.WriteString("ID", id);
            w.WriteString("Size", ImageFormat.Size(r.Size));
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
