namespace Skiff.Oci;

/// <summary>
/// Reads config.json (and `exec --process` files) into the RuntimeSpec models, field for field
/// what OciJson's source-generated contract reads (camelCase names, case-sensitive), without its
/// start-up cost. RuntimeSpecJsonTests holds the two to the same result.
/// </summary>
public static class RuntimeSpecJson
{
    public static RuntimeSpec ReadSpec(ReadOnlySpan<byte> json) => JsonCursor.Read(json, Spec);

    public static Process ReadProcess(ReadOnlySpan<byte> json) => JsonCursor.Read(json, Process);

    public static LinuxSeccomp ReadSeccomp(ReadOnlySpan<byte> json) => JsonCursor.Read(json, Seccomp);

    private static RuntimeSpec Spec(ref JsonCursor r)
    {
        var s = new RuntimeSpec();
        if (!r.StartObject())
        {
            return s;
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "ociVersion": s.OciVersion = r.RequiredString(); break;
                case "process": s.Process = r.IsNull ? null : Process(ref r); break;
                case "root": s.Root = Root(ref r); break;
                case "hostname": s.Hostname = r.String(); break;
                case "domainname": s.Domainname = r.String(); break;
                case "mounts": s.Mounts = r.List(Mount); break;
                case "hooks": s.Hooks = Hooks(ref r); break;
                case "annotations": s.Annotations = r.StringMap(); break;
                case "linux": s.Linux = Linux(ref r); break;
                default: r.Skip(); break;
            }
        }
        return s;
    }

    private static Process Process(ref JsonCursor r)
    {
        var p = new Process();
        if (!r.StartObject())
        {
            return p;
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "terminal": p.Terminal = r.Bool(); break;
                case "consoleSize": p.ConsoleSize = ConsoleSize(ref r); break;
                case "user": p.User = User(ref r)!; break;
                case "args": p.Args = r.StringList(); break;
                case "commandLine": p.CommandLine = r.String(); break;
                case "env": p.Env = r.StringList(); break;
                case "cwd": p.Cwd = r.RequiredString(); break;
                case "capabilities": p.Capabilities = Capabilities(ref r); break;
                case "rlimits": p.Rlimits = r.List(Rlimit); break;
                case "noNewPrivileges": p.NoNewPrivileges = r.Bool(); break;
                case "apparmorProfile": p.ApparmorProfile = r.String(); break;
                case "oomScoreAdj": p.OomScoreAdj = r.NullableInt32(); break;
                case "selinuxLabel": p.SelinuxLabel = r.String(); break;
                default: r.Skip(); break;
            }
        }
        return p;
    }

    private static ConsoleSize? ConsoleSize(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var c = new ConsoleSize();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "height": c.Height = r.UInt32(); break;
                case "width": c.Width = r.UInt32(); break;
                default: r.Skip(); break;
            }
        }
        return c;
    }

    private static User? User(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var u = new User();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "uid": u.Uid = r.UInt32(); break;
                case "gid": u.Gid = r.UInt32(); break;
                case "umask": u.Umask = r.NullableUInt32(); break;
                case "additionalGids": u.AdditionalGids = r.UInt32List(); break;
                case "username": u.Username = r.String(); break;
                default: r.Skip(); break;
            }
        }
        return u;
    }

    private static Capabilities? Capabilities(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var c = new Capabilities();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "bounding": c.Bounding = r.StringList(); break;
                case "effective": c.Effective = r.StringList(); break;
                case "inheritable": c.Inheritable = r.StringList(); break;
                case "permitted": c.Permitted = r.StringList(); break;
                case "ambient": c.Ambient = r.StringList(); break;
                default: r.Skip(); break;
            }
        }
        return c;
    }

    private static Rlimit Rlimit(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var l = new Rlimit();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "type": l.Type = r.RequiredString(); break;
                case "hard": l.Hard = r.UInt64(); break;
                case "soft": l.Soft = r.UInt64(); break;
                default: r.Skip(); break;
            }
        }
        return l;
    }

    private static Root? Root(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var root = new Root();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "path": root.Path = r.RequiredString(); break;
                case "readonly": root.Readonly = r.Bool(); break;
                default: r.Skip(); break;
            }
        }
        return root;
    }

    private static Mount Mount(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var m = new Mount();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "destination": m.Destination = r.RequiredString(); break;
                case "type": m.Type = r.String(); break;
                case "source": m.Source = r.String(); break;
                case "options": m.Options = r.StringList(); break;
                default: r.Skip(); break;
            }
        }
        return m;
    }

    private static Hooks? Hooks(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var h = new Hooks();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "prestart": h.Prestart = r.List(Hook); break;
                case "createRuntime": h.CreateRuntime = r.List(Hook); break;
                case "createContainer": h.CreateContainer = r.List(Hook); break;
                case "startContainer": h.StartContainer = r.List(Hook); break;
                case "poststart": h.Poststart = r.List(Hook); break;
                case "poststop": h.Poststop = r.List(Hook); break;
                default: r.Skip(); break;
            }
        }
        return h;
    }

    private static Hook Hook(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var h = new Hook();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "path": h.Path = r.RequiredString(); break;
                case "args": h.Args = r.StringList(); break;
                case "env": h.Env = r.StringList(); break;
                case "timeout": h.Timeout = r.NullableInt32(); break;
                default: r.Skip(); break;
            }
        }
        return h;
    }

    private static LinuxSpec? Linux(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var l = new LinuxSpec();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "uidMappings": l.UidMappings = r.List(IdMap); break;
                case "gidMappings": l.GidMappings = r.List(IdMap); break;
                case "sysctl": l.Sysctl = r.StringMap(); break;
                case "resources": l.Resources = Resources(ref r); break;
                case "cgroupsPath": l.CgroupsPath = r.String(); break;
                case "namespaces": l.Namespaces = r.List(Namespace); break;
                case "devices": l.Devices = r.List(Device); break;
                case "seccomp": l.Seccomp = r.IsNull ? null : Seccomp(ref r); break;
                case "rootfsPropagation": l.RootfsPropagation = r.String(); break;
                case "maskedPaths": l.MaskedPaths = r.StringList(); break;
                case "readonlyPaths": l.ReadonlyPaths = r.StringList(); break;
                case "mountLabel": l.MountLabel = r.String(); break;
                case "personality": l.Personality = Personality(ref r); break;
                case "timeOffsets": l.TimeOffsets = TimeOffsets(ref r); break;
                default: r.Skip(); break;
            }
        }
        return l;
    }

    private static Dictionary<string, TimeOffset>? TimeOffsets(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var offsets = new Dictionary<string, TimeOffset>(StringComparer.Ordinal);
        while (r.NextProperty(out string clock))
        {
            var offset = new TimeOffset();
            if (r.StartObject())
            {
                while (r.NextProperty(out string name))
                {
                    switch (name)
                    {
                        case "secs": offset.Secs = r.Int64(); break;
                        case "nanosecs": offset.Nanosecs = r.UInt32(); break;
                        default: r.Skip(); break;
                    }
                }
            }
            else
            {
                offset = null!;
            }
            offsets[clock] = offset;
        }
        return offsets;
    }

    private static IdMap IdMap(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var m = new IdMap();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "containerID": m.ContainerId = r.UInt32(); break;
                case "hostID": m.HostId = r.UInt32(); break;
                case "size": m.Size = r.UInt32(); break;
                default: r.Skip(); break;
            }
        }
        return m;
    }

    private static Namespace Namespace(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var n = new Namespace();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "type": n.Type = r.RequiredString(); break;
                case "path": n.Path = r.String(); break;
                default: r.Skip(); break;
            }
        }
        return n;
    }

    private static Device Device(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var d = new Device();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "type": d.Type = r.RequiredString(); break;
                case "path": d.Path = r.RequiredString(); break;
                case "major": d.Major = r.Int64(); break;
                case "minor": d.Minor = r.Int64(); break;
                case "fileMode": d.FileMode = r.NullableUInt32(); break;
                case "uid": d.Uid = r.NullableUInt32(); break;
                case "gid": d.Gid = r.NullableUInt32(); break;
                default: r.Skip(); break;
            }
        }
        return d;
    }

    private static Personality? Personality(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var p = new Personality();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "domain": p.Domain = r.RequiredString(); break;
                case "flags": p.Flags = r.StringList(); break;
                default: r.Skip(); break;
            }
        }
        return p;
    }

    private static Resources? Resources(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var res = new Resources();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "devices": res.Devices = r.List(DeviceCgroup); break;
                case "memory": res.Memory = Memory(ref r); break;
                case "cpu": res.Cpu = Cpu(ref r); break;
                case "pids": res.Pids = Pids(ref r); break;
                case "blockIO": res.BlockIO = BlockIo(ref r); break;
                case "hugepageLimits": res.HugepageLimits = r.List(HugepageLimit); break;
                case "unified": res.Unified = r.StringMap(); break;
                default: r.Skip(); break;
            }
        }
        return res;
    }

    private static DeviceCgroup DeviceCgroup(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var d = new DeviceCgroup();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "allow": d.Allow = r.Bool(); break;
                case "type": d.Type = r.String(); break;
                case "major": d.Major = r.NullableInt64(); break;
                case "minor": d.Minor = r.NullableInt64(); break;
                case "access": d.Access = r.String(); break;
                default: r.Skip(); break;
            }
        }
        return d;
    }

    private static Memory? Memory(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var m = new Memory();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "limit": m.Limit = r.NullableInt64(); break;
                case "reservation": m.Reservation = r.NullableInt64(); break;
                case "swap": m.Swap = r.NullableInt64(); break;
                case "kernel": m.Kernel = r.NullableInt64(); break;
                case "kernelTCP": m.KernelTCP = r.NullableInt64(); break;
                case "swappiness": m.Swappiness = r.NullableUInt64(); break;
                case "disableOOMKiller": m.DisableOOMKiller = r.NullableBool(); break;
                default: r.Skip(); break;
            }
        }
        return m;
    }

    private static Cpu? Cpu(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var c = new Cpu();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "shares": c.Shares = r.NullableUInt64(); break;
                case "quota": c.Quota = r.NullableInt64(); break;
                case "period": c.Period = r.NullableUInt64(); break;
                case "realtimeRuntime": c.RealtimeRuntime = r.NullableInt64(); break;
                case "realtimePeriod": c.RealtimePeriod = r.NullableUInt64(); break;
                case "cpus": c.Cpus = r.String(); break;
                case "mems": c.Mems = r.String(); break;
                case "idle": c.Idle = r.NullableInt64(); break;
                default: r.Skip(); break;
            }
        }
        return c;
    }

    private static Pids? Pids(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var p = new Pids();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "limit": p.Limit = r.Int64(); break;
                default: r.Skip(); break;
            }
        }
        return p;
    }

    private static BlockIo? BlockIo(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null;
        }
        var b = new BlockIo();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "weight": b.Weight = r.NullableUInt16(); break;
                case "leafWeight": b.LeafWeight = r.NullableUInt16(); break;
                case "weightDevice": b.WeightDevice = r.List(WeightDevice); break;
                case "throttleReadBpsDevice": b.ThrottleReadBpsDevice = r.List(ThrottleDevice); break;
                case "throttleWriteBpsDevice": b.ThrottleWriteBpsDevice = r.List(ThrottleDevice); break;
                case "throttleReadIOPSDevice": b.ThrottleReadIOPSDevice = r.List(ThrottleDevice); break;
                case "throttleWriteIOPSDevice": b.ThrottleWriteIOPSDevice = r.List(ThrottleDevice); break;
                default: r.Skip(); break;
            }
        }
        return b;
    }

    private static WeightDevice WeightDevice(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var w = new WeightDevice();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "major": w.Major = r.Int64(); break;
                case "minor": w.Minor = r.Int64(); break;
                case "weight": w.Weight = r.NullableUInt16(); break;
                case "leafWeight": w.LeafWeight = r.NullableUInt16(); break;
                default: r.Skip(); break;
            }
        }
        return w;
    }

    private static ThrottleDevice ThrottleDevice(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var t = new ThrottleDevice();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "major": t.Major = r.Int64(); break;
                case "minor": t.Minor = r.Int64(); break;
                case "rate": t.Rate = r.UInt64(); break;
                default: r.Skip(); break;
            }
        }
        return t;
    }

    private static HugepageLimit HugepageLimit(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var h = new HugepageLimit();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "pageSize": h.PageSize = r.RequiredString(); break;
                case "limit": h.Limit = r.UInt64(); break;
                default: r.Skip(); break;
            }
        }
        return h;
    }

    private static LinuxSeccomp Seccomp(ref JsonCursor r)
    {
        var s = new LinuxSeccomp();
        if (!r.StartObject())
        {
            return s;
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "defaultAction": s.DefaultAction = r.RequiredString(); break;
                case "defaultErrnoRet": s.DefaultErrnoRet = r.NullableUInt32(); break;
                case "architectures": s.Architectures = r.StringList(); break;
                case "flags": s.Flags = r.StringList(); break;
                case "listenerPath": s.ListenerPath = r.String(); break;
                case "listenerMetadata": s.ListenerMetadata = r.String(); break;
                case "syscalls": s.Syscalls = r.List(SeccompSyscall); break;
                default: r.Skip(); break;
            }
        }
        return s;
    }

    private static SeccompSyscall SeccompSyscall(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var s = new SeccompSyscall();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "names": s.Names = r.StringList()!; break;
                case "action": s.Action = r.RequiredString(); break;
                case "errnoRet": s.ErrnoRet = r.NullableUInt32(); break;
                case "args": s.Args = r.List(SeccompArg); break;
                default: r.Skip(); break;
            }
        }
        return s;
    }

    private static SeccompArg SeccompArg(ref JsonCursor r)
    {
        if (!r.StartObject())
        {
            return null!;
        }
        var a = new SeccompArg();
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "index": a.Index = r.UInt32(); break;
                case "value": a.Value = r.UInt64(); break;
                case "valueTwo": a.ValueTwo = r.UInt64(); break;
                case "op": a.Op = r.RequiredString(); break;
                default: r.Skip(); break;
            }
        }
        return a;
    }
}

/// <summary>
/// The runtime-spec state document as `state`, `list --format json` and hooks print it: the same
/// bytes OciJson's source-generated contract writes (indented, camelCase, nulls left out), without its
/// start-up cost.
/// </summary>
public static class ContainerStateJson
{
    public static byte[] ToUtf8(ContainerState state) => JsonBytes.Write(state, Write, indented: true);

    public static string ToText(ContainerState state) => System.Text.Encoding.UTF8.GetString(ToUtf8(state));

    public static string ToText(IEnumerable<ContainerState> states) =>
        System.Text.Encoding.UTF8.GetString(JsonBytes.Write(states, static (w, list) =>
        {
            w.WriteStartArray();
            foreach (var state in list)
            {
                Write(w, state);
            }
            w.WriteEndArray();
        }, indented: true));

    public static void Write(System.Text.Json.Utf8JsonWriter w, ContainerState s)
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", s.OciVersion);
        w.WriteString("id", s.Id);
        w.WriteString("status", s.Status);
        w.WriteNumber("pid", s.Pid);
        w.WriteString("bundle", s.Bundle);
        if (s.Annotations is { } annotations)
        {
            w.WriteStartObject("annotations");
            foreach (var (k, v) in annotations)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
        }
        if (s.Rootfs is not null)
        {
            w.WriteString("rootfs", s.Rootfs);
        }
        if (s.Created is not null)
        {
            w.WriteString("created", s.Created);
        }
        if (s.Owner is not null)
        {
            w.WriteString("owner", s.Owner);
        }
        w.WriteEndObject();
    }
}
