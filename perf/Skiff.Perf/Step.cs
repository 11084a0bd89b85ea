namespace Skiff.Perf;

internal enum StepKind
{
    /// <summary>Before the timed steps, not timed (make a directory).</summary>
    Setup,
    /// <summary>Counted in the run's wall time and CPU.</summary>
    Timed,
    /// <summary>After the timed steps, not timed, and run even when a timed step failed (remove what the run made).</summary>
    Cleanup,
}

/// <summary>
/// One command of a system's run. Most systems have a single timed step; detached start-then-remove
/// has two, and pull or unpack need a scratch directory made and removed around the timed part.
/// Arguments may hold {n} (the run's number, for a fresh scratch directory) and {id} (the trimmed
/// stdout of the step that captures it, for `rm -f ID`).
/// </summary>
internal sealed class Step : IDisposable
{
    public const string RunSlot = "{n}", IdSlot = "{id}";

    private readonly NativeCommand? _fixed;

    public Step(StepKind kind, string path, string[] args, bool capturesId = false)
    {
        Kind = kind;
        Path = path;
        Args = args;
        CapturesId = capturesId;
        NeedsId = args.Any(a => a.Contains(IdSlot, StringComparison.Ordinal));
        // Built once when nothing varies, so a measured spawn allocates nothing.
        if (!NeedsId && !args.Any(a => a.Contains(RunSlot, StringComparison.Ordinal)))
            _fixed = new NativeCommand(path, args);
    }

    public StepKind Kind { get; }
    public string Path { get; }
    public string[] Args { get; }
    public bool CapturesId { get; }
    public bool NeedsId { get; }

    public static Step Timed(string path, params string[] args) => new(StepKind.Timed, path, args);
    public static Step TimedCapturingId(string path, params string[] args) => new(StepKind.Timed, path, args, capturesId: true);
    public static Step Setup(string path, params string[] args) => new(StepKind.Setup, path, args);
    public static Step Cleanup(string path, params string[] args) => new(StepKind.Cleanup, path, args);

    public string Display => string.Join(' ', [Path, .. Args]);

    /// <summary>The command for run <paramref name="run"/>; <paramref name="owned"/> is set when the caller must dispose it.</summary>
    public NativeCommand Command(int run, string? id, out NativeCommand? owned)
    {
        if (_fixed is not null)
        {
            owned = null;
            return _fixed;
        }
        string Fill(string a) => a.Replace(RunSlot, run.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace(IdSlot, id ?? "", StringComparison.Ordinal);
        owned = new NativeCommand(Path, [.. Args.Select(Fill)]);
        return owned;
    }

    public void Dispose() => _fixed?.Dispose();
}
