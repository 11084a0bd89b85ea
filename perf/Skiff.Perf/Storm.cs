using System.Diagnostics;

namespace Skiff.Perf;

/// <summary>
/// A launch storm: N launches shared out among C client threads, each with its own spawner, all
/// started together. The figure is the round's wall time from the start to the last reap (so
/// launches per second = N / wall), plus each launch's own latency under that load. Systems take
/// turns, one whole round each, in an order rotated every round like the sequential scenarios.
/// </summary>
internal static class Storm
{
    /// <summary>A system whose round takes longer than this gets no further rounds: one round of a slow peer is already many launches.</summary>
    private static readonly TimeSpan SlowRound = TimeSpan.FromSeconds(30);

    public static void Measure(Scenario scenario, Spawner spawner, TimeSpan timeout, int warmupLaunches, int rounds, TextWriter log)
    {
        var (clients, launches) = scenario.Storm;
        scenario.SetOrder($"one round of {launches} launches from {clients} clients per system, rotated round-robin");
        SystemUnderTest[] active = [.. scenario.Systems.Where(s => s.Measurable && s.OnlyTimedStep is not null)];
        foreach (var s in scenario.Systems.Where(s => s.Measurable && s.OnlyTimedStep is null))
            s.MarkUnavailable("a storm launches single commands only");
        Scenario.RunPrepare(spawner, active);

        var spawners = Enumerable.Range(0, clients).Select(_ => new Spawner(timeout)).ToArray();
        try
        {
            // Warm-up: a short storm per system, not recorded (first keeper, page cache, podman's pause process).
            foreach (var system in active)
                Round(system, spawners, warmupLaunches, record: false, log);
            GC.Collect();
            GC.WaitForPendingFinalizers();

            int n = active.Length;
            var done = new HashSet<SystemUnderTest>();
            for (int round = 0; round < rounds; round++)
            {
                for (int k = 0; k < n; k++)
                {
                    var system = active[(round + k) % n];
                    if (done.Contains(system))
                        continue;
                    var (wall, failed) = Round(system, spawners, launches, record: true, log);
                    if (wall > SlowRound.TotalMilliseconds && round + 1 < rounds)
                    {
                        done.Add(system);
                        scenario.Notes.Add($"{system.Name} ran {round + 1} round{(round == 0 ? "" : "s")}, not {rounds}: its round took {wall / 1000:0} s " +
                            $"(over {SlowRound.TotalSeconds:0} s), which keeps the suite's run time in bounds; its figures are from {(round + 1) switch { 1 => "that round", var r => $"those {r} rounds" }}.");
                    }
                    system.Rounds.Add((wall, failed));
                    log.WriteLine($"{scenario.Name}: {system.Name} round {round + 1}/{rounds}: {launches / (wall / 1000):0} launches/s, {failed} failed");
                }
            }
        }
        finally
        {
            foreach (var client in spawners)
                client.Dispose();
        }
    }

    private static (double WallMs, int Failed) Round(SystemUnderTest system, Spawner[] spawners, int launches, bool record, TextWriter log)
    {
        var step = system.OnlyTimedStep!;
        int next = 0, failed = 0;
        using var start = new ManualResetEventSlim();
        var threads = new Thread[spawners.Length];
        for (int c = 0; c < spawners.Length; c++)
        {
            var client = spawners[c];
            threads[c] = new Thread(() =>
            {
                start.Wait();
                int i;
                while ((i = Interlocked.Increment(ref next)) <= launches)
                {
                    var command = step.Command(i, null, out var owned);
                    RunSample sample;
                    try
                    {
                        sample = client.Run(command);
                    }
                    finally
                    {
                        owned?.Dispose();
                    }
                    if (!sample.Succeeded)
                        Interlocked.Increment(ref failed);
                    if (record)
                        system.RecordLaunch(sample, sample.Succeeded ? null : client.LastStderr().Trim(), log);
                }
            }) { IsBackground = true, Name = $"storm client {c}" };
            threads[c].Start();
        }
        long t0 = Stopwatch.GetTimestamp();
        start.Set();
        foreach (var thread in threads)
            thread.Join();
        double wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return (wall, failed);
    }
}
