using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Skiff.Perf.Micro;

/// <summary>
/// Managed memory of a long-running .NET process from its EventPipe runtime counters (System.Runtime:
/// GC heap size, allocation rate, gen 0/1/2 collections, working set), sampled every second through the
/// diagnostics IPC channel. Meant for `skiff serve` during a launch storm; the Native AOT skiff is built
/// without EventSource (and so without these counters), so it is measured as a framework-dependent build.
/// Until `skiff serve` exists, `--demo` attaches to a small allocating child so the collector is exercised.
/// </summary>
internal static class Counters
{
    private static readonly string[] Wanted =
        ["gc-heap-size", "alloc-rate", "gen-0-gc-count", "gen-1-gc-count", "gen-2-gc-count", "working-set", "gc-committed", "time-in-gc", "cpu-usage"];

    public static int Run(string[] args)
    {
        int? pid = null;
        int seconds = 10;
        bool demo = false;
        string? outFile = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--pid": pid = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--demo": demo = true; break;
                case "--out": outFile = args[++i]; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        Process? child = null;
        if (demo)
        {
            // Ourselves, allocating: a stand-in for skiff serve under load.
            string self = Path.Combine(AppContext.BaseDirectory, "Skiff.Perf.Micro");
            child = Process.Start(new ProcessStartInfo(self, ["workload", (seconds + 5).ToString(CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
            }) ?? throw new InvalidOperationException("cannot start the demo workload");
            pid = child.Id;
            WaitForDiagnosticsPort(child.Id);
        }
        if (pid is null)
            throw new ArgumentException("--pid PID or --demo");
        try
        {
            var samples = Collect(pid.Value, TimeSpan.FromSeconds(seconds));
            string report = Markdown(pid.Value, demo, seconds, samples);
            Console.Out.Write(report);
            if (outFile is not null)
                File.WriteAllText(outFile, report);
            return samples.Count == 0 ? 1 : 0;
        }
        finally
        {
            if (child is { HasExited: false })
                child.Kill();
            child?.Dispose();
        }
    }

    /// <summary>Every value each counter reported, in order (mean for gauges, increment per interval for rates).</summary>
    public static Dictionary<string, List<double>> Collect(int pid, TimeSpan duration)
    {
        var client = new DiagnosticsClient(pid);
        EventPipeProvider[] providers =
        [
            new("System.Runtime", EventLevel.Informational, (long)EventKeywords.None,
                new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" }),
        ];
        var samples = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        using var session = client.StartEventPipeSession(providers, requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        source.Dynamic.All += e =>
        {
            if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer
                || outer.TryGetValue("Payload", out var inner) is false || inner is not IDictionary<string, object> payload)
                return;
            string name = payload.TryGetValue("Name", out var n) ? n?.ToString() ?? "" : "";
            object? value = payload.TryGetValue("Mean", out var mean) ? mean : payload.TryGetValue("Increment", out var inc) ? inc : null;
            if (!Wanted.Contains(name) || value is null)
                return;
            lock (samples)
            {
                if (!samples.TryGetValue(name, out var list))
                    samples[name] = list = [];
                list.Add(Convert.ToDouble(value, CultureInfo.InvariantCulture));
            }
        };
        var reader = Task.Run(source.Process);
        Thread.Sleep(duration);
        try
        {
            session.Stop();
        }
        catch (ServerNotAvailableException)
        {
            // The process ended first: what it sent until then is all there is.
        }
        reader.Wait(TimeSpan.FromSeconds(10));
        return samples;
    }

    private static string Markdown(int pid, bool demo, int seconds, Dictionary<string, List<double>> samples)
    {
        var md = new System.Text.StringBuilder();
        md.AppendLine($"# EventPipe runtime counters, pid {pid}{(demo ? " (demo workload: the collector's own allocating child, not skiff)" : "")}");
        md.AppendLine();
        md.AppendLine($"{seconds} s, one sample a second from System.Runtime. Sizes in MB as the runtime reports them; counts are collections per second; time-in-gc in %.");
        md.AppendLine();
        md.AppendLine("| counter | samples | min | mean | max | last |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var name in Wanted)
        {
            if (!samples.TryGetValue(name, out var v) || v.Count == 0)
            {
                md.AppendLine($"| {name} | 0 | | | | |");
                continue;
            }
            // alloc-rate comes in bytes per interval; MiB reads better beside the sizes.
            double scale = name == "alloc-rate" ? 1.0 / 1048576 : 1;
            string label = name == "alloc-rate" ? "alloc-rate (MiB/s)" : name;
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {v.Count} | {v.Min() * scale:0.##} | {v.Average() * scale:0.##} | {v.Max() * scale:0.##} | {v[^1] * scale:0.##} |"));
        }
        return md.ToString();
    }

    /// <summary>The runtime opens its diagnostics socket a moment after start: wait for dotnet-diagnostic-PID-* in the temp dir.</summary>
    private static void WaitForDiagnosticsPort(int pid)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{pid}-*").Any())
                return;
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"process {pid} opened no diagnostics port (DOTNET_EnableDiagnostics=0?)");
    }

    /// <summary>The demo's workload: allocate and drop a few MB a second, keeping ~20 MB alive, for N seconds.</summary>
    public static int Workload(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        var keep = new byte[64][];
        var random = new Random(1);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < 20; i++)
                keep[random.Next(keep.Length)] = new byte[random.Next(1024, 640 * 1024)];
            Thread.Sleep(20);
        }
        return keep.Length;
    }
}
