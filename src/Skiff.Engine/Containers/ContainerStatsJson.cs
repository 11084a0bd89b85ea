using System.Text.Json.Serialization;

namespace Skiff.Engine.Containers;

// Docker's container stats object (GET /containers/{id}/stats), field for field as the
// docker CLI reads it. Zero values for a container that does not run, as dockerd sends.

public sealed class ContainerStatsJson
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";
    [JsonPropertyName("id")]
    public string Id { get; set; } = "";
    [JsonPropertyName("read")]
    public string Read { get; set; } = ContainerState.ZeroTime;
    [JsonPropertyName("preread")]
    public string PreRead { get; set; } = ContainerState.ZeroTime;
    [JsonPropertyName("pids_stats")]
    public PidsStats PidsStats { get; set; } = new();
    [JsonPropertyName("blkio_stats")]
    public BlkioStats BlkioStats { get; set; } = new();
    [JsonPropertyName("num_procs")]
    public int NumProcs { get; set; }
    [JsonPropertyName("storage_stats")]
    public Dictionary<string, long> StorageStats { get; set; } = [];
    [JsonPropertyName("cpu_stats")]
    public CpuStats CpuStats { get; set; } = new();
    [JsonPropertyName("precpu_stats")]
    public CpuStats PreCpuStats { get; set; } = new();
    [JsonPropertyName("memory_stats")]
    public MemoryStats MemoryStats { get; set; } = new();
    /// <summary>By interface name; absent when the container has no network of its own.</summary>
    [JsonPropertyName("networks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, NetworkStats>? Networks { get; set; }
}

public sealed class PidsStats
{
    [JsonPropertyName("current")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Current { get; set; }
    [JsonPropertyName("limit")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Limit { get; set; }
}

public sealed class BlkioEntry
{
    [JsonPropertyName("major")]
    public long Major { get; set; }
    [JsonPropertyName("minor")]
    public long Minor { get; set; }
    [JsonPropertyName("op")]
    public string Op { get; set; } = "";
    [JsonPropertyName("value")]
    public long Value { get; set; }
}

public sealed class BlkioStats
{
    [JsonPropertyName("io_service_bytes_recursive")]
    public List<BlkioEntry>? IoServiceBytesRecursive { get; set; }
    [JsonPropertyName("io_serviced_recursive")]
    public List<BlkioEntry>? IoServicedRecursive { get; set; }
    [JsonPropertyName("io_queue_recursive")]
    public List<BlkioEntry>? IoQueueRecursive { get; set; }
    [JsonPropertyName("io_service_time_recursive")]
    public List<BlkioEntry>? IoServiceTimeRecursive { get; set; }
    [JsonPropertyName("io_wait_time_recursive")]
    public List<BlkioEntry>? IoWaitTimeRecursive { get; set; }
    [JsonPropertyName("io_merged_recursive")]
    public List<BlkioEntry>? IoMergedRecursive { get; set; }
    [JsonPropertyName("io_time_recursive")]
    public List<BlkioEntry>? IoTimeRecursive { get; set; }
    [JsonPropertyName("sectors_recursive")]
    public List<BlkioEntry>? SectorsRecursive { get; set; }
}

public sealed class CpuUsage
{
    /// <summary>Nanoseconds of CPU the container used.</summary>
    [JsonPropertyName("total_usage")]
    public ulong TotalUsage { get; set; }
    [JsonPropertyName("percpu_usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<ulong>? PercpuUsage { get; set; }
    [JsonPropertyName("usage_in_kernelmode")]
    public ulong UsageInKernelmode { get; set; }
    [JsonPropertyName("usage_in_usermode")]
    public ulong UsageInUsermode { get; set; }
}

public sealed class ThrottlingData
{
    [JsonPropertyName("periods")]
    public ulong Periods { get; set; }
    [JsonPropertyName("throttled_periods")]
    public ulong ThrottledPeriods { get; set; }
    [JsonPropertyName("throttled_time")]
    public ulong ThrottledTime { get; set; }
}

public sealed class CpuStats
{
    [JsonPropertyName("cpu_usage")]
    public CpuUsage CpuUsage { get; set; } = new();
    /// <summary>Nanoseconds of CPU the whole host used since boot.</summary>
    [JsonPropertyName("system_cpu_usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong SystemCpuUsage { get; set; }
    [JsonPropertyName("online_cpus")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public uint OnlineCpus { get; set; }
    [JsonPropertyName("throttling_data")]
    public ThrottlingData ThrottlingData { get; set; } = new();
}

public sealed class MemoryStats
{
    [JsonPropertyName("usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong Usage { get; set; }
    [JsonPropertyName("max_usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong MaxUsage { get; set; }
    [JsonPropertyName("stats")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, ulong>? Stats { get; set; }
    [JsonPropertyName("failcnt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong Failcnt { get; set; }
    [JsonPropertyName("limit")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong Limit { get; set; }
}

public sealed class NetworkStats
{
    [JsonPropertyName("rx_bytes")]
    public ulong RxBytes { get; set; }
    [JsonPropertyName("rx_packets")]
    public ulong RxPackets { get; set; }
    [JsonPropertyName("rx_errors")]
    public ulong RxErrors { get; set; }
    [JsonPropertyName("rx_dropped")]
    public ulong RxDropped { get; set; }
    [JsonPropertyName("tx_bytes")]
    public ulong TxBytes { get; set; }
    [JsonPropertyName("tx_packets")]
    public ulong TxPackets { get; set; }
    [JsonPropertyName("tx_errors")]
    public ulong TxErrors { get; set; }
    [JsonPropertyName("tx_dropped")]
    public ulong TxDropped { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerStatsJson))]
[JsonSerializable(typeof(List<ContainerStatsJson>))]
public sealed partial class ContainerStatsJsonContext : JsonSerializerContext;
