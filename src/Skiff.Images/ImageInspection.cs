using System.Text.Json;

namespace Skiff.Images;

/// <summary>
/// Docker's image inspect object (ImageInspect of the Engine API), written straight to a
/// JSON writer: `skiff image inspect` and `GET /images/{name}/json` print the same thing.
/// </summary>
public static class ImageInspection
{
    public static void Write(Utf8JsonWriter w, ImageStore store, ImageRecord image)
    {
        var config = store.ReadConfig(image);
        var c = config.Config ?? new ContainerConfig();
        w.WriteStartObject();
        w.WriteString("Id", image.Id);
        Strings(w, "RepoTags", image.Names.Select(n => ImageReference.Parse(n).Familiar));
        Strings(w, "RepoDigests", image.RepoDigests.Select(ImageReference.FamiliarName));
        w.WriteString("Parent", "");
        w.WriteString("Comment", config.Comment ?? config.History?.LastOrDefault()?.Comment ?? "");
        w.WriteString("Created", config.Created ?? "");
        w.WriteString("DockerVersion", "");
        w.WriteString("Author", config.Author ?? "");
        w.WriteStartObject("Config");
        w.WriteString("Hostname", "");
        w.WriteString("Domainname", "");
        w.WriteString("User", c.User ?? "");
        w.WriteBoolean("AttachStdin", false);
        w.WriteBoolean("AttachStdout", false);
        w.WriteBoolean("AttachStderr", false);
        if (c.ExposedPorts is { Count: > 0 })
        {
            w.WriteStartObject("ExposedPorts");
            foreach (var port in c.ExposedPorts.Keys)
            {
                w.WriteStartObject(port);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteBoolean("Tty", false);
        w.WriteBoolean("OpenStdin", false);
        w.WriteBoolean("StdinOnce", false);
        NullableStrings(w, "Env", c.Env);
        NullableStrings(w, "Cmd", c.Cmd);
        w.WriteString("Image", "");
        w.WriteNull("Volumes");
        w.WriteString("WorkingDir", c.WorkingDir ?? "");
        NullableStrings(w, "Entrypoint", c.Entrypoint);
        w.WriteNull("OnBuild");
        if (c.Labels is null)
        {
            w.WriteNull("Labels");
        }
        else
        {
            w.WriteStartObject("Labels");
            foreach (var (k, v) in c.Labels)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
        }
        if (c.StopSignal is not null)
        {
            w.WriteString("StopSignal", c.StopSignal);
        }
        w.WriteEndObject();
        w.WriteString("Architecture", config.Architecture);
        if (config.Variant is not null)
        {
            w.WriteString("Variant", config.Variant);
        }
        w.WriteString("Os", config.Os);
        w.WriteNumber("Size", image.Size);
        w.WriteStartObject("GraphDriver");
        w.WriteStartObject("Data");
        var layers = store.ReadLaunch(image).Layers;
        w.WriteString("LowerDir", string.Join(':', layers.Skip(1)));
        w.WriteString("UpperDir", layers.Count > 0 ? layers[0] : "");
        w.WriteEndObject();
        w.WriteString("Name", "overlay");
        w.WriteEndObject();
        w.WriteStartObject("RootFS");
        w.WriteString("Type", config.RootFs.Type);
        Strings(w, "Layers", config.RootFs.DiffIds);
        w.WriteEndObject();
        w.WriteStartObject("Metadata");
        w.WriteString("LastTagTime", image.Added.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    private static void NullableStrings(Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
        }
        else
        {
            Strings(w, name, values);
        }
    }
}
