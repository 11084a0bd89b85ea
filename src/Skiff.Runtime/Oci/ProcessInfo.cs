using System.Globalization;

namespace Skiff.Runtime.Oci;

/// <summary>/proc/PID/stat, read as skiff-runc needs it: alive, a zombie, and since when.</summary>
public readonly record struct ProcessInfo(char State, ulong StartTime)
{
    public bool Gone => State is 'Z' or 'X';

    public static ProcessInfo? Read(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }
        string? text = ProcFile.TryReadAllText($"/proc/{pid}/stat");
        if (text is null)
        {
            return null;
        }
        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19]
        if (fields.Length < 20 || !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return null;
        }
        return new ProcessInfo(fields[0][0], start);
    }

    /// <summary>Alive and the same process that was recorded (not a reused pid).</summary>
    public static bool IsAlive(int pid, ulong startTime) =>
        Read(pid) is { } p && !p.Gone && (startTime == 0 || p.StartTime == startTime);
}
