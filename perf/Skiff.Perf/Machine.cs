namespace Skiff.Perf;

/// <summary>The host, written beside every figure: numbers from different machines are not comparable.</summary>
internal sealed record MachineInfo(
    int Cores, string CpuModel, string Kernel, string Cgroup, string MeasuredCgroup, string Os, double MemoryGiB, string User, uint Uid)
{
    public static MachineInfo Describe() => new(
        Cores: Environment.ProcessorCount,
        CpuModel: ProcField("/proc/cpuinfo", "model name") ?? "unknown",
        Kernel: Read("/proc/sys/kernel/osrelease")?.Trim() ?? "unknown",
        // The host's layout from init's mounts; the harness may run in a namespace of its own (see perf/run.sh).
        Cgroup: CgroupLayout(File.Exists("/proc/1/mountinfo") ? "/proc/1/mountinfo" : "/proc/self/mountinfo"),
        MeasuredCgroup: CgroupLayout("/proc/self/mountinfo"),
        Os: OsName(),
        MemoryGiB: Math.Round(ParseKiB(ProcField("/proc/meminfo", "MemTotal")) / 1024.0 / 1024.0, 1),
        User: Environment.UserName,
        Uid: Interop.GetEUid());

    public override string ToString() =>
        $"{Cores} cores, {CpuModel}, {MemoryGiB} GiB, kernel {Kernel}, cgroup {Cgroup}, {Os}";

    /// <summary>Who measured, and in what cgroup view when it differs from the host's.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string MeasuredAs => $"{User} (uid {Uid})";

    [System.Text.Json.Serialization.JsonIgnore]
    public string? CgroupNote => MeasuredCgroup == Cgroup ? null
        : $"in a private mount namespace where /sys/fs/cgroup is cgroup {MeasuredCgroup} (the host's is {Cgroup}; PERF.md's crun workaround)";

    /// <summary>
    /// v2: cgroup2 mounted at /sys/fs/cgroup. hybrid: v1 controllers there plus cgroup2 at
    /// /sys/fs/cgroup/unified (where crun refuses to start). v1: controllers only.
    /// </summary>
    private static string CgroupLayout(string mountinfo)
    {
        bool v1 = false, unified = false;
        IEnumerable<string> lines;
        try
        {
            lines = File.ReadAllLines(mountinfo);
        }
        catch (UnauthorizedAccessException)
        {
            lines = File.ReadAllLines("/proc/self/mountinfo");
        }
        foreach (var line in lines)
        {
            // "id parent dev root mountpoint opts [optional...] - fstype source superopts"
            var fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (dash < 0 || dash + 1 >= fields.Length)
                continue;
            string mountPoint = fields[4], type = fields[dash + 1];
            if (type == "cgroup2" && mountPoint == "/sys/fs/cgroup")
                return "v2";
            if (type == "cgroup2" && mountPoint.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal))
                unified = true;
            if (type == "cgroup" && mountPoint.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal))
                v1 = true;
        }
        return (v1, unified) switch
        {
            (true, true) => "hybrid",
            (true, false) => "v1",
            (false, true) => "v2 (not at /sys/fs/cgroup)",
            _ => "none",
        };
    }

    private static string OsName()
    {
        foreach (var line in File.Exists("/etc/os-release") ? File.ReadLines("/etc/os-release") : [])
            if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                return line["PRETTY_NAME=".Length..].Trim('"');
        return "unknown";
    }

    /// <summary>The value of the first "key : value" line in a /proc file.</summary>
    private static string? ProcField(string path, string key)
    {
        foreach (var line in File.Exists(path) ? File.ReadLines(path) : [])
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim() == key)
                return line[(colon + 1)..].Trim();
        }
        return null;
    }

    private static double ParseKiB(string? value) =>
        value is not null && double.TryParse(value.Split(' ')[0], out double kib) ? kib : 0;

    private static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path) : null;
}
