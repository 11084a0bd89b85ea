using System.Globalization;
using Skiff.Linux;
using Skiff.Runtime.Supervision;

namespace Skiff.Engine.Containers;

/// <summary>
/// `start`: a supervisor per container (native/supervisor.c) that runs the worker
/// (`skiff __launch ID`), holds the stdio, writes the log and state, and restarts.
/// </summary>
public static class ContainerStart
{
    /// <summary>Starts a created or exited container; returns its pid. A running one is left alone (Docker's 304).</summary>
    public static int Start(ContainerStore store, string id, string skiffPath, string root, bool waitAttach = false, Action? spawned = null)
    {
        var def = store.Load(id);
        // State takes the container's lock itself when it finds a dead supervisor: not under ours.
        var state = store.State(id);
        if (state.Running)
        {
            return state.Pid;
        }
        EnsureKeeper();
        string dir = store.Dir(id).Path;
        // A container frozen when its supervisor died starts thawed.
        File.Delete(Path.Combine(dir, ContainerPause.MarkerFile));
        var host = def.HostConfig;
        var options = new SupervisorOptions
        {
            Tty = def.Config.Tty,
            Stdin = def.Config.OpenStdin,
            StdinOnce = def.Config.StdinOnce,
            LogDriver = host.LogConfig.Type is "" ? "json-file" : host.LogConfig.Type,
            LogMaxSize = LogOptions.MaxSize(host.LogConfig.Config),
            LogMaxFile = LogOptions.MaxFile(host.LogConfig.Config),
            Restart = host.RestartPolicy.Name is "" ? "no" : host.RestartPolicy.Name,
            MaxRetries = host.RestartPolicy.MaximumRetryCount,
            OnExit = host.AutoRemove ? [skiffPath, "--root", root, "rm", "-f", "-v", id] : null,
            WaitAttach = waitAttach,
        };
        return Supervisor.Spawn(dir, options, [skiffPath, "--root", root, "__launch", id], spawned: spawned);
    }

    /// <summary>
    /// Rootless: the supervisor and its worker join the keeper's user namespace in their C
    /// constructor, so the container's files stay reachable by every later command.
    /// </summary>
    private static void EnsureKeeper()
    {
        if (Interop.Libc.geteuid() == 0 || Environment.GetEnvironmentVariable("SKIFF_NO_KEEPER") is not null)
        {
            return;
        }
        var ids = IdMappingResolver.ForCurrentUser();
        UserNamespaceKeeper.Start(LinuxSyscalls.Instance, ids.Mapping);
    }
}

/// <summary>--log-opt values of the json-file driver.</summary>
public static class LogOptions
{
    public static long MaxSize(Dictionary<string, string> opts) =>
        opts.TryGetValue("max-size", out var s) && s.Length > 0 ? ByteSize.Parse(s, "max-size") : 0;

    public static int MaxFile(Dictionary<string, string> opts) =>
        opts.TryGetValue("max-file", out var s) && s.Length > 0
            ? int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n
            : throw SkiffException.Invalid($"invalid value for max-file: {s}")
            : 1;
}

/// <summary>Docker's RAMInBytes: 10, 10k, 10m, 10g (binary units, case-insensitive, optional b).</summary>
public static class ByteSize
{
    public static long Parse(string s, string what)
    {
        string t = s.Trim().ToLowerInvariant();
        if (t.EndsWith('b') && t.Length > 1 && !char.IsDigit(t[^2]))
        {
            t = t[..^1];
        }
        long mult = 1;
        if (t.Length > 0 && t[^1] is 'k' or 'm' or 'g' or 't' or 'b')
        {
            mult = t[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, _ => 1 };
            t = t[..^1];
        }
        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || v < 0)
        {
            throw SkiffException.Invalid($"invalid {what}: invalid size: '{s}'");
        }
        return (long)(v * mult);
    }
}
