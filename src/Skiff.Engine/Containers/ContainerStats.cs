using System.Globalization;
using Skiff.Runtime.Cgroups;

namespace Skiff.Engine.Containers;

/// <summary>
/// docker stats: Docker's stats object for a container, from its cgroup when it has one
/// (v1 cpuacct, memory, pids, blkio; v2 cpu.stat, memory.*, pids.*, io.stat), else from
/// /proc of its processes (CPU time, RSS, I/O bytes, threads). The network is its own
/// namespace's /proc/PID/net/dev. CPU % needs two samples: Collect takes them an interval
/// apart, as dockerd's one-shot-less stream=false does.
/// </summary>
public static class ContainerStats
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(200);

    private const ulong NanosPerTick = 1_000_000_000 / 100; // USER_HZ is 100

    /// <summary>
    /// Stats of each container, with precpu_stats from a first sample interval earlier
    /// (zero: one sample, precpu empty, Docker's one-shot). Missing containers throw before any sampling.
    /// </summary>
    public static List<ContainerStatsJson> Collect(ContainerStore store, IReadOnlyList<string> references, TimeSpan interval)
    {
        var targets = new List<(ContainerDefinition Def, string Id)>(references.Count);
        foreach (var r in references)
        {
            string id = store.Resolve(r);
            targets.Add((store.Load(id), id));
        }
        var first = interval > TimeSpan.Zero ? targets.Select(t => Sample(store, t.Def)).ToList() : null;
        if (first is not null)
        {
            Thread.Sleep(interval);
        }
        var result = new List<ContainerStatsJson>(targets.Count);
        for (int i = 0; i < targets.Count; i++)
        {
            var now = Sample(store, targets[i].Def);
            if (first is not null && first[i].Read != ContainerState.ZeroTime && now.Read != ContainerState.ZeroTime)
            {
                now.PreCpuStats = first[i].CpuStats;
                now.PreRead = first[i].Read;
            }
            result.Add(now);
        }
        return result;
    }

    /// <summary>One sample; all zeros (but the name and id) for a container that does not run.</summary>
    public static ContainerStatsJson Sample(ContainerStore store, ContainerDefinition def)
    {
        var stats = new ContainerStatsJson { Name = "/" + def.Name, Id = def.Id };
        var state = store.State(def.Id);
        if (!state.Running || !ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            return stats;
        }
        stats.Read = ContainerState.Now();
        var host = HostCpu.Read();
        stats.CpuStats.SystemCpuUsage = host.SystemUsage;
        stats.CpuStats.OnlineCpus = host.OnlineCpus;
        ulong hostMemory = HostMemory();
        var cgroup = RunningCgroup.Find(def, state, out _);
        var procs = ContainerProcesses.Of(state, cgroup).Select(ProcStat.Read).OfType<ProcStat>().ToList();
        if (cgroup is not null)
        {
            if (cgroup is CgroupV2)
            {
                FromV2(stats, RunningCgroup.Directory(cgroup, "")!);
            }
            else
            {
                FromV1(stats, cgroup);
            }
        }
        else
        {
            FromProcesses(stats, procs);
        }
        if (stats.PidsStats.Current == 0)
        {
            stats.PidsStats.Current = procs.Sum(p => (long)p.Threads);
        }
        if (stats.MemoryStats.Limit == 0 || stats.MemoryStats.Limit > hostMemory)
        {
            stats.MemoryStats.Limit = hostMemory;
        }
        stats.Networks = Networks(state.Pid);
        return stats;
    }

    private static void FromV1(ContainerStatsJson stats, ICgroup cgroup)
    {
        string? cpu = RunningCgroup.Directory(cgroup, "cpuacct");
        if (cpu is not null)
        {
            stats.CpuStats.CpuUsage.TotalUsage = ReadULong(Path.Combine(cpu, "cpuacct.usage"));
            stats.CpuStats.CpuUsage.PercpuUsage = ReadText(Path.Combine(cpu, "cpuacct.usage_percpu"))?
                .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => ParseULong(s)).ToList();
            var times = KeyValues(Path.Combine(cpu, "cpuacct.stat"));
            stats.CpuStats.CpuUsage.UsageInUsermode = times.GetValueOrDefault("user") * NanosPerTick;
            stats.CpuStats.CpuUsage.UsageInKernelmode = times.GetValueOrDefault("system") * NanosPerTick;
        }
        if (RunningCgroup.Directory(cgroup, "cpu") is { } cpuDir)
        {
            var t = KeyValues(Path.Combine(cpuDir, "cpu.stat"));
            stats.CpuStats.ThrottlingData = new ThrottlingData
            {
                Periods = t.GetValueOrDefault("nr_periods"),
                ThrottledPeriods = t.GetValueOrDefault("nr_throttled"),
                ThrottledTime = t.GetValueOrDefault("throttled_time"),
            };
        }
        if (RunningCgroup.Directory(cgroup, "memory") is { } memory)
        {
            stats.MemoryStats.Usage = ReadULong(Path.Combine(memory, "memory.usage_in_bytes"));
            stats.MemoryStats.MaxUsage = ReadULong(Path.Combine(memory, "memory.max_usage_in_bytes"));
            stats.MemoryStats.Failcnt = ReadULong(Path.Combine(memory, "memory.failcnt"));
            stats.MemoryStats.Limit = ReadULong(Path.Combine(memory, "memory.limit_in_bytes"));
            stats.MemoryStats.Stats = KeyValues(Path.Combine(memory, "memory.stat"));
        }
        if (RunningCgroup.Directory(cgroup, "pids") is { } pids)
        {
            stats.PidsStats.Current = (long)ReadULong(Path.Combine(pids, "pids.current"));
            stats.PidsStats.Limit = (long)ReadULong(Path.Combine(pids, "pids.max"));
        }
        if (RunningCgroup.Directory(cgroup, "blkio") is { } blkio)
        {
            // CFQ's file when the scheduler keeps it, else the throttle layer's (what every kernel has).
            var entries = BlkioV1(Path.Combine(blkio, "blkio.io_service_bytes_recursive"));
            if (entries.Count == 0)
            {
                entries = BlkioV1(Path.Combine(blkio, "blkio.throttle.io_service_bytes_recursive"));
            }
            stats.BlkioStats.IoServiceBytesRecursive = entries;
            var serviced = BlkioV1(Path.Combine(blkio, "blkio.io_serviced_recursive"));
            stats.BlkioStats.IoServicedRecursive = serviced.Count > 0 ? serviced : BlkioV1(Path.Combine(blkio, "blkio.throttle.io_serviced_recursive"));
        }
    }

    /// <summary>"8:0 Read 4096" lines; the "Total" line left out.</summary>
    private static List<BlkioEntry> BlkioV1(string file)
    {
        var entries = new List<BlkioEntry>();
        foreach (var line in Lines(file))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3)
            {
                continue;
            }
            var dev = f[0].Split(':');
            if (dev.Length == 2)
            {
                entries.Add(new BlkioEntry { Major = (long)ParseULong(dev[0]), Minor = (long)ParseULong(dev[1]), Op = f[1], Value = (long)ParseULong(f[2]) });
            }
        }
        return entries;
    }

    private static void FromV2(ContainerStatsJson stats, string dir)
    {
        var cpu = KeyValues(Path.Combine(dir, "cpu.stat"));
        stats.CpuStats.CpuUsage.TotalUsage = cpu.GetValueOrDefault("usage_usec") * 1000;
        stats.CpuStats.CpuUsage.UsageInUsermode = cpu.GetValueOrDefault("user_usec") * 1000;
        stats.CpuStats.CpuUsage.UsageInKernelmode = cpu.GetValueOrDefault("system_usec") * 1000;
        stats.CpuStats.ThrottlingData = new ThrottlingData
        {
            Periods = cpu.GetValueOrDefault("nr_periods"),
            ThrottledPeriods = cpu.GetValueOrDefault("nr_throttled"),
            ThrottledTime = cpu.GetValueOrDefault("throttled_usec") * 1000,
        };
        stats.MemoryStats.Usage = ReadULong(Path.Combine(dir, "memory.current"));
        stats.MemoryStats.Limit = ReadULong(Path.Combine(dir, "memory.max"));
        stats.MemoryStats.Stats = KeyValues(Path.Combine(dir, "memory.stat"));
        stats.PidsStats.Current = (long)ReadULong(Path.Combine(dir, "pids.current"));
        stats.PidsStats.Limit = (long)ReadULong(Path.Combine(dir, "pids.max"));
        var io = new List<BlkioEntry>();
        foreach (var line in Lines(Path.Combine(dir, "io.stat")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var dev = f.Length > 0 ? f[0].Split(':') : [];
            if (dev.Length != 2)
            {
                continue;
            }
            foreach (var kv in f.Skip(1))
            {
                var (key, value) = (kv.Split('=')[0], kv.Split('=').ElementAtOrDefault(1) ?? "0");
                string? op = key switch { "rbytes" => "read", "wbytes" => "write", _ => null };
                if (op is not null)
                {
                    io.Add(new BlkioEntry { Major = (long)ParseULong(dev[0]), Minor = (long)ParseULong(dev[1]), Op = op, Value = (long)ParseULong(value) });
                }
            }
        }
        stats.BlkioStats.IoServiceBytesRecursive = io;
    }

    /// <summary>Without a cgroup: the sums over the container's processes.</summary>
    private static void FromProcesses(ContainerStatsJson stats, List<ProcStat> procs)
    {
        ulong user = 0, system = 0, rss = 0, read = 0, written = 0;
        long page = Environment.SystemPageSize;
        foreach (var p in procs)
        {
            user += p.UTime;
            system += p.STime;
            rss += (ulong)Math.Max(0, p.RssPages * page);
            var io = KeyValues($"/proc/{p.Pid}/io", ':');
            read += io.GetValueOrDefault("read_bytes");
            written += io.GetValueOrDefault("write_bytes");
        }
        stats.CpuStats.CpuUsage.TotalUsage = (user + system) * NanosPerTick;
        stats.CpuStats.CpuUsage.UsageInUsermode = user * NanosPerTick;
        stats.CpuStats.CpuUsage.UsageInKernelmode = system * NanosPerTick;
        stats.MemoryStats.Usage = rss;
        stats.MemoryStats.Stats = new Dictionary<string, ulong> { ["rss"] = rss };
        stats.BlkioStats.IoServiceBytesRecursive =
        [
            new BlkioEntry { Op = "read", Value = (long)read },
            new BlkioEntry { Op = "write", Value = (long)written },
        ];
    }

    /// <summary>The interfaces of the container's own network namespace, loopback left out; null when it shares the host's.</summary>
    public static Dictionary<string, NetworkStats>? Networks(int pid)
    {
        string? ns = ContainerProcesses.Namespace(pid, "net");
        if (ns is null || ns == ContainerProcesses.Namespace(Environment.ProcessId, "net"))
        {
            return null;
        }
        var result = new Dictionary<string, NetworkStats>(StringComparer.Ordinal);
        foreach (var line in Lines($"/proc/{pid}/net/dev").Skip(2))
        {
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }
            string name = line[..colon].Trim();
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => ParseULong(s)).ToArray();
            if (name == "lo" || f.Length < 12)
            {
                continue;
            }
            result[name] = new NetworkStats
            {
                RxBytes = f[0], RxPackets = f[1], RxErrors = f[2], RxDropped = f[3],
                TxBytes = f[8], TxPackets = f[9], TxErrors = f[10], TxDropped = f[11],
            };
        }
        return result.Count == 0 ? null : result;
    }

    /// <summary>The host's CPU time in nanoseconds (dockerd's getSystemCPUUsage: the first seven fields of /proc/stat's cpu line) and its CPUs.</summary>
    private readonly record struct HostCpu(ulong SystemUsage, uint OnlineCpus)
    {
        public static HostCpu Read()
        {
            ulong ticks = 0;
            uint cpus = 0;
            foreach (var line in Lines("/proc/stat"))
            {
                if (line.StartsWith("cpu ", StringComparison.Ordinal))
                {
                    foreach (var f in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(7))
                    {
                        ticks += ParseULong(f);
                    }
                }
                else if (line.StartsWith("cpu", StringComparison.Ordinal) && line.Length > 3 && char.IsAsciiDigit(line[3]))
                {
                    cpus++;
                }
            }
            return new HostCpu(ticks * NanosPerTick, cpus);
        }
    }

    private static ulong HostMemory()
    {
        foreach (var line in Lines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return f.Length > 1 ? ParseULong(f[1]) * 1024 : 0;
            }
        }
        return 0;
    }

    private static Dictionary<string, ulong> KeyValues(string file, char separator = ' ')
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in Lines(file))
        {
            int at = line.IndexOf(separator);
            if (at > 0)
            {
                result[line[..at].Trim()] = ParseULong(line[(at + 1)..].Trim());
            }
        }
        return result;
    }

    private static ulong ReadULong(string file) => ParseULong(ReadText(file)?.Trim() ?? "");

    /// <summary>A number, "max" (no limit) as 0.</summary>
    private static ulong ParseULong(string s) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : 0;

    private static string? ReadText(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] Lines(string file) => ReadText(file)?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];
}
