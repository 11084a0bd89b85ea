namespace Skiff.Perf;

/// <summary>
/// What the skiff under test can do, read from its own help rather than assumed: the verbs `skiff --help`
/// lists, the flags `skiff run --help` lists, the default network it names, and whether the `skiff-runc`
/// face answers `--version`. A scenario names what it needs; when skiff grows it, the scenario is
/// measured on the next run, with no change to the harness.
/// </summary>
internal sealed class SkiffCapabilities
{
    private readonly HashSet<string> _verbs;
    private readonly HashSet<string> _runFlags;
    private readonly string? _networkHelp;
    private readonly bool _runsImages;

    private SkiffCapabilities(string? problem, HashSet<string> verbs, HashSet<string> runFlags, string? networkHelp, string? runcProblem,
        bool runsImages = false)
    {
        _runsImages = runsImages;
        Problem = problem;
        _verbs = verbs;
        _runFlags = runFlags;
        _networkHelp = networkHelp;
        RuncProblem = runcProblem;
    }

    /// <summary>Why nothing of skiff can be measured (not built), or null.</summary>
    public string? Problem { get; }
    /// <summary>Why the skiff-runc face cannot be measured, or null when `skiff-runc --version` succeeds.</summary>
    public string? RuncProblem { get; }
    public IReadOnlyCollection<string> Verbs => _verbs;

    public static SkiffCapabilities Probe(Spawner spawner, string skiff, string skiffRunc, string missing)
    {
        if (!File.Exists(skiff))
            return new SkiffCapabilities(missing, [], [], null, missing);
        var (top, topOut, _) = spawner.Capture(skiff, "--help");
        var (run, runOut, _) = spawner.Capture(skiff, "run", "--help");
        if (!top.Succeeded)
            return new SkiffCapabilities($"`skiff --help` failed ({top.Outcome})", [], [], null, "skiff does not start");
        var verbs = Section(topOut, "Commands:")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "")
            .Where(v => v.Length > 0 && char.IsAsciiLetterLower(v[0]))
            .ToHashSet(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string? networkHelp = null;
        if (run.Succeeded)
        {
            foreach (var line in Section(runOut, "Options:"))
            {
                foreach (var word in line.Split(' ', ',', '\t').Where(w => w.StartsWith("--", StringComparison.Ordinal)))
                    flags.Add(word);
                foreach (var word in line.Split(' ', ',', '\t').Where(w => w.Length == 2 && w[0] == '-' && w[1] != '-'))
                    flags.Add(word);
                // The line that defines --network, not one that mentions it ("--net network  Same as --network").
                if (line.Split(' ', ',', '\t').FirstOrDefault(w => w.StartsWith("--", StringComparison.Ordinal)) == "--network")
                    networkHelp = line.Trim();
            }
        }
        string? runcProblem;
        if (!File.Exists(skiffRunc))
            runcProblem = $"{skiffRunc} not found";
        else
        {
            var (v, _, err) = spawner.Capture(skiffRunc, "--version");
            runcProblem = v.Succeeded ? null : $"`skiff-runc --version` {v.Outcome}: {FirstLine(err)}";
        }
        // "Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]": run takes an image, not only --rootfs.
        bool runsImages = run.Succeeded && runOut.Split('\n').Any(l => l.Contains("skiff run", StringComparison.Ordinal) && l.Contains(" IMAGE", StringComparison.Ordinal));
        return new SkiffCapabilities(null, verbs, flags, networkHelp, runcProblem, runsImages);
    }

    /// <summary>Null when skiff has the verb, else why not (for the report).</summary>
    public string? Verb(string verb) =>
        Problem ?? (_verbs.Contains(verb) ? null : $"`skiff --help` lists no `{verb}` command");

    public string? RunFlag(string flag) =>
        Verb("run") ?? (_runFlags.Contains(flag) ? null : $"`skiff run --help` lists no `{flag}`");

    /// <summary>
    /// The default network `skiff run --help` names on its --network line ("none (default) or host"),
    /// or null when the line does not say.
    /// </summary>
    public string? DefaultNetwork
    {
        get
        {
            if (_networkHelp is null)
                return null;
            int at = _networkHelp.IndexOf("(default)", StringComparison.Ordinal);
            if (at < 0)
                return null;
            var before = _networkHelp[..at].Split([' ', ',', ':', '|', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return before.Length > 0 ? before[^1] : null;
        }
    }

    /// <summary>Null when skiff's default network is a private one with outbound access (not none, not host).</summary>
    public string? PrivateDefaultNetwork()
    {
        if (Verb("run") is { } missing)
            return missing;
        return DefaultNetwork switch
        {
            null => "`skiff run --help` names no default network",
            "none" or "host" => $"the default network of `skiff run` is {DefaultNetwork}, not a private one",
            _ => null,
        };
    }

    public string? RuncFace() => Problem ?? RuncProblem;

    /// <summary>Null when `skiff run IMAGE` is in run's usage line.</summary>
    public string? RunImage() => Verb("run") ?? (_runsImages ? null : "`skiff run --help` takes no IMAGE");

    public static string? All(params string?[] reasons) => reasons.FirstOrDefault(r => r is not null);

    private static IEnumerable<string> Section(string help, string header)
    {
        bool inside = false;
        foreach (var line in help.Split('\n'))
        {
            if (line.Trim() == header)
            {
                inside = true;
                continue;
            }
            if (!inside)
                continue;
            if (line.Trim().Length == 0)
                yield break;
            yield return line;
        }
    }

    private static string FirstLine(string text) => text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}
