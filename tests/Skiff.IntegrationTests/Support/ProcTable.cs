using System.Diagnostics;

namespace Skiff.IntegrationTests.Support;

/// <summary>One process as /proc shows it from the host.</summary>
public sealed record HostProcessEntry(int Pid, int ParentPid, string Name, IReadOnlyList<string> Argv);

/// <summary>Reads the host's process table, to find a container's processes from outside.</summary>
public static class ProcTable
{
    public static IReadOnlyList<HostProcessEntry> Snapshot()
    {
        var entries = new List<HostProcessEntry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid) && Read(pid) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    public static HostProcessEntry? Read(int pid)
    {
        try
        {
            // "pid (name) state ppid ...": the name may hold spaces and parentheses.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int open = stat.IndexOf('(');
            int close = stat.LastIndexOf(')');
            string[] rest = stat[(close + 2)..].Split(' ');
            string cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            string[] argv = cmdline.Length == 0 ? [] : cmdline.TrimEnd('\0').Split('\0');
            return new HostProcessEntry(pid, int.Parse(rest[1]), stat[(open + 1)..close], argv);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // It exited while we looked.
        }
    }

    /// <summary>Polls the table until a process matches, failing after the timeout.</summary>
    public static async Task<HostProcessEntry> WaitForAsync(string what, Func<HostProcessEntry, bool> match, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Snapshot().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            if (clock.Elapsed > limit)
            {
                Assert.Fail($"no process {what} after {limit.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }
}
