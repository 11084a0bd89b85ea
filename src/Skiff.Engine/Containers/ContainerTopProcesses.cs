using System.Globalization;

namespace Skiff.Engine.Containers;

/// <summary>/proc/PID/stat, the fields top and stats read (numbered as proc(5) numbers them).</summary>
public sealed record ProcStat(int Pid, string Comm, char State, int PPid, int TtyNr, ulong UTime, ulong STime, int Threads, ulong StartTime, long RssPages)
{
    public static ProcStat? Read(int pid)
    {
        string text;
        try
        {
            text = ProcFile.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(pid, text);
    }

    public static ProcStat? Parse(int pid, string text)
    {
        int open = text.IndexOf('(');
        int close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }
        // fields[0] is field 3 (state): field N is fields[N - 3].
        var f = text[(close + 2)..].Split(' ');
        if (f.Length < 22)
        {
            return null;
        }
        static long L(string s) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : 0;
        return new ProcStat(pid, text[(open + 1)..close], f[0].Length > 0 ? f[0][0] : '?', (int)L(f[1]), (int)L(f[4]),
            (ulong)L(f[11]), (ulong)L(f[12]), (int)L(f[17]), (ulong)L(f[19]), L(f[21]));
    }
}

/// <summary>
/// Which host processes belong to a running container: those of its cgroup when it has one
/// of its own, and every process in its main process's pid namespace (what exec starts
/// there too, with or without a cgroup). Host pids, ascending.
/// </summary>
public static class ContainerProcesses
{
    public static List<int> Of(ContainerDefinition def, ContainerState state) => Of(state, RunningCgroup.Find(def, state, out _));

    /// <summary>With the container's cgroup already found (or null: it has none).</summary>
    public static List<int> Of(ContainerState state, Runtime.Cgroups.ICgroup? cgroup)
    {
        var pids = new SortedSet<int>();
        if (cgroup is not null)
        {
            foreach (var pid in cgroup.Processes())
            {
                pids.Add(pid);
            }
        }
        foreach (var pid in InPidNamespaceOf(state.Pid))
        {
            pids.Add(pid);
        }
        return [.. pids];
    }

    /// <summary>Every process whose pid namespace is that of pid (pid itself included, when alive).</summary>
    public static List<int> InPidNamespaceOf(int pid)
    {
        var result = new List<int>();
        string? ns = Namespace(pid, "pid");
        if (ns is null)
        {
            return result;
        }
        // The host's own pid namespace is not a container's: that would be every process.
        if (ns == Namespace(1, "pid") || ns == Namespace(Environment.ProcessId, "pid"))
        {
            result.Add(pid);
            return result;
        }
        foreach (var p in AllPids())
        {
            if (Namespace(p, "pid") == ns)
            {
                result.Add(p);
            }
        }
        result.Sort();
        return result;
    }

    /// <summary>"pid:[4026531836]", or null when the process is gone or not ours to see.</summary>
    public static string? Namespace(int pid, string kind)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/{kind}").LinkTarget;
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

    public static IEnumerable<int> AllPids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                yield return pid;
            }
        }
    }
}
