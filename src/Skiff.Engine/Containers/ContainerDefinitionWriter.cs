using System.Text.Json;

namespace Skiff.Engine.Containers;

/// <summary>
/// DIR/config.json of a foreground `run --rm`, written by hand: that path writes it once and never
/// reads it, and even a serialization-only contract builds its type metadata (with reflection over
/// attributes and array types) on first use, which cost more than the write. The bytes are
/// ContainerJson's; ContainerDefinitionWriterTests fills every property and holds the two equal.
/// </summary>
public static class ContainerDefinitionWriter
{
    public static byte[] ToUtf8(ContainerDefinition def) => JsonBytes.Write(def, Write);

    private static void Write(Utf8JsonWriter w, ContainerDefinition d)
    {
        w.WriteStartObject();
        w.WriteString("Id", d.Id);
        w.WriteString("Name", d.Name);
        w.WriteString("Created", d.Created);
        w.WriteString("ImageId", d.ImageId);
        w.WriteString("Path", d.Path);
        Strings(w, "Args", d.Args);
        Strings(w, "Layers", d.Layers);
        w.WriteString("Passwd", d.Passwd);
        w.WriteString("Group", d.Group);
        w.WritePropertyName("Config");
        Config(w, d.Config);
        w.WritePropertyName("HostConfig");
        Host(w, d.HostConfig);
        w.WriteBoolean("Rootless", d.Rootless);
        Objects(w, "MountPoints", d.MountPoints, static (w, m) =>
        {
            w.WriteString("Type", m.Type);
            w.WriteString("Name", m.Name);
            w.WriteString("Source", m.Source);
            w.WriteString("Destination", m.Destination);
            w.WriteString("Driver", m.Driver);
            w.WriteString("Mode", m.Mode);
            w.WriteBoolean("RW", m.RW);
            w.WriteString("Propagation", m.Propagation);
            w.WriteString("TmpfsOptions", m.TmpfsOptions);
            w.WriteBoolean("CopyData", m.CopyData);
            w.WriteBoolean("CreateSource", m.CreateSource);
            w.WriteBoolean("Anonymous", m.Anonymous);
        });
        w.WriteEndObject();
    }

    private static void Config(Utf8JsonWriter w, ContainerConfig c)
    {
        w.WriteStartObject();
        w.WriteString("Hostname", c.Hostname);
        w.WriteString("Domainname", c.Domainname);
        w.WriteString("User", c.User);
        w.WriteBoolean("AttachStdin", c.AttachStdin);
        w.WriteBoolean("AttachStdout", c.AttachStdout);
        w.WriteBoolean("AttachStderr", c.AttachStderr);
        EmptyObjects(w, "ExposedPorts", c.ExposedPorts);
        w.WriteBoolean("Tty", c.Tty);
        w.WriteBoolean("OpenStdin", c.OpenStdin);
        w.WriteBoolean("StdinOnce", c.StdinOnce);
        Strings(w, "Env", c.Env);
        Strings(w, "Cmd", c.Cmd);
        w.WriteString("Image", c.Image);
        EmptyObjects(w, "Volumes", c.Volumes);
        w.WriteString("WorkingDir", c.WorkingDir);
        Strings(w, "Entrypoint", c.Entrypoint);
        Map(w, "Labels", c.Labels);
        w.WriteString("StopSignal", c.StopSignal);
        Number(w, "StopTimeout", c.StopTimeout);
        w.WriteEndObject();
    }

    private static void Host(Utf8JsonWriter w, HostConfig h)
    {
        w.WriteStartObject();
        Strings(w, "Binds", h.Binds);
        w.WriteStartObject("LogConfig");
        w.WriteString("Type", h.LogConfig.Type);
        Map(w, "Config", h.LogConfig.Config);
        w.WriteEndObject();
        w.WriteString("NetworkMode", h.NetworkMode);
        Object(w, "PortBindings", h.PortBindings, static (w, ports) =>
        {
            foreach (var (port, bindings) in ports)
            {
                Objects(w, port, bindings, static (w, b) =>
                {
                    w.WriteString("HostIp", b.HostIp);
                    w.WriteString("HostPort", b.HostPort);
                });
            }
        });
        w.WriteStartObject("RestartPolicy");
        w.WriteString("Name", h.RestartPolicy.Name);
        w.WriteNumber("MaximumRetryCount", h.RestartPolicy.MaximumRetryCount);
        w.WriteEndObject();
        w.WriteBoolean("AutoRemove", h.AutoRemove);
        Strings(w, "CapAdd", h.CapAdd);
        Strings(w, "CapDrop", h.CapDrop);
        Strings(w, "Dns", h.Dns);
        Strings(w, "DnsOptions", h.DnsOptions);
        Strings(w, "DnsSearch", h.DnsSearch);
        Strings(w, "ExtraHosts", h.ExtraHosts);
        w.WriteBoolean("Privileged", h.Privileged);
        w.WriteBoolean("ReadonlyRootfs", h.ReadonlyRootfs);
        Strings(w, "SecurityOpt", h.SecurityOpt);
        Map(w, "Tmpfs", h.Tmpfs);
        if (h.ConsoleSize is null)
        {
            w.WriteNull("ConsoleSize");
        }
        else
        {
            w.WriteStartArray("ConsoleSize");
            foreach (ushort n in h.ConsoleSize)
            {
                w.WriteNumberValue(n);
            }
            w.WriteEndArray();
        }
        w.WriteNumber("Memory", h.Memory);
        w.WriteNumber("MemorySwap", h.MemorySwap);
        w.WriteNumber("NanoCpus", h.NanoCpus);
        Number(w, "PidsLimit", h.PidsLimit);
        Objects(w, "Ulimits", h.Ulimits, static (w, u) =>
        {
            w.WriteString("Name", u.Name);
            w.WriteNumber("Soft", u.Soft);
            w.WriteNumber("Hard", u.Hard);
        });
        if (h.Init is { } init)
        {
            w.WriteBoolean("Init", init);
        }
        else
        {
            w.WriteNull("Init");
        }
        Objects(w, "Mounts", h.Mounts, MountSpec);
        w.WriteEndObject();
    }

    /// <summary>A MountSpec's members (Objects writes the braces).</summary>
    private static void MountSpec(Utf8JsonWriter w, MountSpec m)
    {
        w.WriteString("Type", m.Type);
        w.WriteString("Source", m.Source);
        w.WriteString("Target", m.Target);
        w.WriteBoolean("ReadOnly", m.ReadOnly);
        Object(w, "BindOptions", m.BindOptions, static (w, o) => w.WriteString("Propagation", o.Propagation));
        Object(w, "VolumeOptions", m.VolumeOptions, static (w, o) =>
        {
            w.WriteBoolean("NoCopy", o.NoCopy);
            Map(w, "Labels", o.Labels);
        });
        Object(w, "TmpfsOptions", m.TmpfsOptions, static (w, o) =>
        {
            w.WriteNumber("SizeBytes", o.SizeBytes);
            w.WriteNumber("Mode", o.Mode);
        });
    }

    /// <summary>null, or an object whose members <paramref name="members"/> writes.</summary>
    private static void Object<T>(Utf8JsonWriter w, string name, T? value, Action<Utf8JsonWriter, T> members) where T : class
    {
        if (value is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        members(w, value);
        w.WriteEndObject();
    }

    /// <summary>null, or an array of objects, each one's members written by <paramref name="members"/>.</summary>
    private static void Objects<T>(Utf8JsonWriter w, string name, List<T>? list, Action<Utf8JsonWriter, T> members)
    {
        if (list is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var item in list)
        {
            w.WriteStartObject();
            members(w, item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, List<string>? list)
    {
        if (list is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (string s in list)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
    }

    private static void Map(Utf8JsonWriter w, string name, Dictionary<string, string>? map)
    {
        if (map is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static void EmptyObjects(Utf8JsonWriter w, string name, Dictionary<string, EmptyObject>? map)
    {
        if (map is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            if (v is null)
            {
                w.WriteNull(k);
            }
            else
            {
                w.WriteStartObject(k);
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
