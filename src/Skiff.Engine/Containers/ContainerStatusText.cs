using System.Globalization;

namespace Skiff.Engine.Containers;

/// <summary>
/// Docker's words for a container's state (moby's State.State() and State.String()) and
/// go-units' HumanDuration, so that `ps`, `inspect` and the API say exactly what Docker says.
/// </summary>
public static class ContainerStatusText
{
    /// <summary>created, running, paused, restarting, removing, exited or dead.</summary>
    public static string StateName(ContainerState s) => s.Status switch
    {
        "running" or "paused" or "restarting" or "removing" or "dead" => s.Status,
        // A start that failed before the process ran leaves Docker's container "created".
        "exited" => ContainerState.ParseTime(s.StartedAt) is null ? "created" : "exited",
        _ => "created",
    };

    /// <summary>"Up 3 seconds", "Exited (0) 5 seconds ago", "Created", "Up 2 minutes (Paused)", …</summary>
    public static string Status(ContainerState s, DateTime nowUtc)
    {
        var started = ContainerState.ParseTime(s.StartedAt);
        var finished = ContainerState.ParseTime(s.FinishedAt);
        string code = s.ExitCode.ToString(CultureInfo.InvariantCulture);
        return s.Status switch
        {
            "running" => "Up " + Since(started, nowUtc),
            "paused" => "Up " + Since(started, nowUtc) + " (Paused)",
            "restarting" => $"Restarting ({code}) {Since(finished, nowUtc)} ago",
            "removing" => "Removal In Progress",
            "dead" => "Dead",
            _ when started is null => "Created",
            _ when finished is null => "",
            _ => $"Exited ({code}) {Since(finished, nowUtc)} ago",
        };
    }

    private static string Since(DateTime? t, DateTime nowUtc) => HumanDuration(nowUtc - (t ?? DateTime.MinValue));

    /// <summary>go-units HumanDuration, word for word.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        long seconds = (long)d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }
        if (seconds == 1)
        {
            return "1 second";
        }
        if (seconds < 60)
        {
            return N(seconds) + " seconds";
        }
        long minutes = (long)d.TotalMinutes;
        if (minutes == 1)
        {
            return "About a minute";
        }
        if (minutes < 60)
        {
            return N(minutes) + " minutes";
        }
        long hours = (long)(d.TotalHours + 0.5);
        if (hours == 1)
        {
            return "About an hour";
        }
        if (hours < 48)
        {
            return N(hours) + " hours";
        }
        if (hours < 24 * 7 * 2)
        {
            return N(hours / 24) + " days";
        }
        if (hours < 24 * 30 * 2)
        {
            return N(hours / 24 / 7) + " weeks";
        }
        if (hours < 24 * 365 * 2)
        {
            return N(hours / 24 / 30) + " months";
        }
        return N((long)d.TotalHours / 24 / 365) + " years";
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The command as Docker's list shows it: Path, then Args, an argument with a space in
    /// single quotes ("sh -c 'echo hi'").
    /// </summary>
    public static string Command(ContainerDefinition def)
    {
        if (def.Args.Count == 0)
        {
            return def.Path;
        }
        var sb = new System.Text.StringBuilder(def.Path);
        foreach (var a in def.Args)
        {
            sb.Append(' ');
            if (a.Contains(' '))
            {
                sb.Append('\'').Append(a).Append('\'');
            }
            else
            {
                sb.Append(a);
            }
        }
        return sb.ToString();
    }
}
