namespace Skiff.Perf;

/// <summary>Order statistics of one system's wall times (ms); only successful runs go in.</summary>
internal sealed record LatencySummary(
    int Count, double Min, double P5, double P25, double P50, double P75, double P90, double P95, double P99, double Max, double Mean)
{
    public static LatencySummary? Of(IEnumerable<double> values)
    {
        double[] sorted = [.. values];
        if (sorted.Length == 0)
            return null;
        Array.Sort(sorted);
        return new LatencySummary(
            Count: sorted.Length,
            Min: sorted[0],
            P5: Stats.Percentile(sorted, 5),
            P25: Stats.Percentile(sorted, 25),
            P50: Stats.Percentile(sorted, 50),
            P75: Stats.Percentile(sorted, 75),
            P90: Stats.Percentile(sorted, 90),
            P95: Stats.Percentile(sorted, 95),
            P99: Stats.Percentile(sorted, 99),
            Max: sorted[^1],
            Mean: sorted.Average());
    }
}

internal static class Stats
{
    /// <summary>
    /// Linear interpolation between closest ranks (numpy's default, R type 7), so p50 of an even
    /// count is the mean of the middle two and small samples do not jump between neighbours.
    /// </summary>
    public static double Percentile(double[] sorted, double percent)
    {
        double rank = percent / 100.0 * (sorted.Length - 1);
        int lower = (int)Math.Floor(rank);
        int upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
    }
}
