using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Skiff.Linux;

namespace Skiff.Engine.Containers;

/// <summary>Docker's ContainerTopOKBody: ps's column titles and one row of cells per process.</summary>
public sealed class ContainerTopResult
{
    public List<string> Titles { get; set; } = [];
    public List<List<string>> Processes { get; set; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerTopResult))]
public sealed partial class ContainerTopJson : JsonSerializerContext;

/// <summary>
/// docker top: the processes of a running container with host pids. The default ("-ef")
/// is read from /proc and laid out as procps's ps -ef lays it out; other ps options run the
/// host's ps and keep the rows of the container's pids, as dockerd does.
/// </summary>
public static partial class ContainerTop
{
    public const string DefaultArgs = "-ef";

    public static readonly string[] DefaultTitles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];

    public static ContainerTopResult List(ContainerStore store, string reference, string? psArgs = null)
    {
        psArgs = string.IsNullOrWhiteSpace(psArgs) ? DefaultArgs : psArgs;
        ValidatePsArgs(psArgs);
        string id = store.Resolve(reference);
        var def = store.Load(id);
        var state = store.State(id);
        if (state.Status == "restarting")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is restarting, wait until the container is running");
        }
        if (!state.Running || !ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container {id} is not running");
        }
        var pids = ContainerProcesses.Of(def, state);
        return psArgs == DefaultArgs ? FromProc(pids) : FromPs(psArgs, pids);
    }

    /// <summary>dockerd refuses a -o field renamed to something that would pass for the PID column.</summary>
    public static void ValidatePsArgs(string psArgs)
    {
        foreach (Match m in RenamedPid().Matches(psArgs))
        {
            if (m.Groups[1].Value != "pid")
            {
                throw SkiffException.Invalid($"specifying \"{m.Groups[1].Value}={m.Groups[2].Value}\" is not allowed");
            }
        }
    }

    [GeneratedRegex(@"\s+([^\s]*)=\s*(PID[^\s]*)")]
    private static partial Regex RenamedPid();

    /// <summary>ps -ef's columns for these pids, from /proc.</summary>
    public static ContainerTopResult FromProc(IEnumerable<int> pids)
    {
        var result = new ContainerTopResult { Titles = [.. DefaultTitles] };
        var clock = ProcClock.Read();
        string? passwd = ReadOrNull("/etc/passwd");
        var names = new Dictionary<uint, string>();
        foreach (var pid in pids.Order())
        {
            if (ProcStat.Read(pid) is not { } stat || EffectiveUid(pid) is not { } uid)
            {
                continue; // gone meanwhile
            }
            if (!names.TryGetValue(uid, out var user))
            {
                user = UserColumn(PasswdFile.NameOf(passwd, uid), uid);
                names[uid] = user;
            }
            result.Processes.Add(
            [
                user,
                pid.ToString(CultureInfo.InvariantCulture),
                stat.PPid.ToString(CultureInfo.InvariantCulture),
                clock.CpuPercent(stat).ToString(CultureInfo.InvariantCulture),
                clock.StartTime(stat),
                Tty(stat.TtyNr),
                CpuTime((stat.UTime + stat.STime) / clock.Hertz),
                Command(pid, stat),
            ]);
        }
        return result;
    }

    /// <summary>procps shows a name wider than its 8 columns cut, with a "+".</summary>
    public static string UserColumn(string? name, uint uid) =>
        name is null ? uid.ToString(CultureInfo.InvariantCulture) : name.Length > 8 ? name[..7] + "+" : name;

    /// <summary>The effective uid, as seen from skiff's user namespace.</summary>
    private static uint? EffectiveUid(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var f = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                    return f.Length > 2 && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint euid) ? euid : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>The terminal as ps names it: "?" for none, pts/N, ttyN, ttySN.</summary>
    public static string Tty(int ttyNr)
    {
        if (ttyNr == 0)
        {
            return "?";
        }
        uint dev = (uint)ttyNr;
        uint major = (dev >> 8) & 0xfff;
        uint minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
        return major switch
        {
            >= 136 and <= 143 => "pts/" + (minor + (major - 136) * 256).ToString(CultureInfo.InvariantCulture),
            4 when minor < 64 => "tty" + minor.ToString(CultureInfo.InvariantCulture),
            4 => "ttyS" + (minor - 64).ToString(CultureInfo.InvariantCulture),
            5 when minor == 0 => "tty",
            5 when minor == 1 => "console",
            _ => "?",
        };
    }

    /// <summary>procps's TIME: [DD-]HH:MM:SS of CPU.</summary>
    public static string CpuTime(ulong seconds)
    {
        ulong days = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
        string hms = string.Create(CultureInfo.InvariantCulture, $"{h:00}:{m:00}:{s:00}");
        return days > 0 ? days.ToString(CultureInfo.InvariantCulture) + "-" + hms : hms;
    }

    /// <summary>The command line; a process without one (a kernel thread, a zombie) as [comm].</summary>
    private static string Command(int pid, ProcStat stat)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            raw = [];
        }
        catch (UnauthorizedAccessException)
        {
            raw = [];
        }
        int end = raw.Length;
        while (end > 0 && raw[end - 1] == 0)
        {
            end--;
        }
        if (end == 0)
        {
            return "[" + stat.Comm + "]" + (stat.State == 'Z' ? " <defunct>" : "");
        }
        var text = Encoding.UTF8.GetString(raw, 0, end).ToCharArray();
        for (int i = 0; i < text.Length; i++)
        {
            // procps prints the separating NULs as spaces and other control characters as '?'.
            text[i] = text[i] == '\0' ? ' ' : char.IsControl(text[i]) ? '?' : text[i];
        }
        return new string(text);
    }

    /// <summary>dockerd's way for any other ps options: the host's ps, its rows of these pids kept.</summary>
    public static ContainerTopResult FromPs(string psArgs, IReadOnlyList<int> pids)
    {
        var args = psArgs.Split(' ');
        string pidList = "-q" + string.Join(',', pids);
        // Some ps options (f) refuse -q: then all of ps's output, filtered.
        string output = RunPs([.. args, pidList], out string error) ?? RunPs(args, out error)
            ?? throw SkiffException.Internal("ps: " + error);
        return ParsePsOutput(output, pids);
    }

    private static string? RunPs(IReadOnlyList<string> args, out string error)
    {
        var start = new ProcessStartInfo("ps") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        try
        {
            using var ps = Process.Start(start) ?? throw new InvalidOperationException();
            var stderr = ps.StandardError.ReadToEndAsync();
            string stdout = ps.StandardOutput.ReadToEnd();
            ps.WaitForExit();
            string err = stderr.Result;
            int nl = err.IndexOf('\n');
            error = nl >= 0 ? err[..nl] : err;
            if (error.Length == 0)
            {
                error = $"exit status {ps.ExitCode}";
            }
            return ps.ExitCode == 0 ? stdout : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            error = "exec: \"ps\": executable file not found in $PATH";
            return null;
        }
    }

    /// <summary>moby's parsePSOutput: the PID column found by title, overhanging fields merged into the last.</summary>
    public static ContainerTopResult ParsePsOutput(string output, IReadOnlyList<int> pids)
    {
        var lines = output.Split('\n');
        var result = new ContainerTopResult { Titles = Fields(lines[0]) };
        int pidIndex = result.Titles.IndexOf("PID");
        if (pidIndex < 0)
        {
            throw SkiffException.Internal("Couldn't find PID field in ps output");
        }
        var wanted = new HashSet<int>(pids);
        bool previousKept = false;
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }
            var fields = Fields(line);
            if (fields.Count <= pidIndex)
            {
                continue;
            }
            if (fields[pidIndex] == "-")
            {
                // A thread line (ps m) belongs to the process above it.
                if (previousKept)
                {
                    result.Processes.Add(Merge(fields, result.Titles.Count));
                }
                continue;
            }
            if (!int.TryParse(fields[pidIndex], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                throw SkiffException.Internal($"Unexpected pid '{fields[pidIndex]}'");
            }
            previousKept = wanted.Contains(pid);
            if (previousKept)
            {
                result.Processes.Add(Merge(fields, result.Titles.Count));
            }
        }
        return result;
    }

    private static List<string> Fields(string line) =>
        [.. line.Split((char[])[' ', '\t', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries)];

    private static List<string> Merge(List<string> fields, int columns)
    {
        if (fields.Count <= columns)
        {
            return fields;
        }
        var row = fields.Take(columns - 1).ToList();
        row.Add(string.Join(' ', fields.Skip(columns - 1)));
        return row;
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
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
}

/// <summary>The clocks ps's C and STIME columns are computed from: clock ticks, boot time and uptime.</summary>
internal sealed class ProcClock
{
    public ulong Hertz { get; private init; } = 100;
    public long BootTime { get; private init; }
    public double Uptime { get; private init; }
    public DateTimeOffset Now { get; private init; }

    public static ProcClock Read()
    {
        long boot = 0;
        foreach (var line in File.ReadLines("/proc/stat"))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal))
            {
                long.TryParse(line.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out boot);
                break;
            }
        }
        string up = File.ReadAllText("/proc/uptime");
        double.TryParse(up.AsSpan(0, up.IndexOf(' ')), NumberStyles.Float, CultureInfo.InvariantCulture, out double uptime);
        // sysconf(_SC_CLK_TCK) is 100 on every Linux that skiff runs on (USER_HZ is fixed by the ABI).
        return new ProcClock { Hertz = 100, BootTime = boot, Uptime = uptime, Now = DateTimeOffset.Now };
    }

    /// <summary>procps's C: CPU time over lifetime, in percent, capped at 99.</summary>
    public int CpuPercent(ProcStat stat)
    {
        long seconds = (long)Uptime - (long)(stat.StartTime / Hertz);
        if (seconds <= 0)
        {
            return 0;
        }
        ulong pcpu = (stat.UTime + stat.STime) * 100UL / Hertz / (ulong)seconds;
        return (int)Math.Min(pcpu, 99UL);
    }

    /// <summary>procps's STIME: HH:MM today, MonDD this year, else the year; local time.</summary>
    public string StartTime(ProcStat stat)
    {
        var started = DateTimeOffset.FromUnixTimeSeconds(BootTime + (long)(stat.StartTime / Hertz)).ToLocalTime();
        string format = started.Year != Now.Year ? "yyyy" : started.DayOfYear != Now.DayOfYear ? "MMMdd" : "HH:mm";
        return started.ToString(format, CultureInfo.InvariantCulture);
    }
}
