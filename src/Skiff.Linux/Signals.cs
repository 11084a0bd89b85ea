using System.Globalization;

namespace Skiff.Linux;

/// <summary>Signal names and numbers (x86_64), as kill(1) and runc read them.</summary>
public static class Signals
{
    private static readonly (string Name, int Number)[] Table =
    [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("IOT", 6), ("BUS", 7), ("FPE", 8),
        ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13), ("ALRM", 14), ("TERM", 15), ("STKFLT", 16),
        ("CHLD", 17), ("CONT", 18), ("STOP", 19), ("TSTP", 20), ("TTIN", 21), ("TTOU", 22), ("URG", 23), ("XCPU", 24),
        ("XFSZ", 25), ("VTALRM", 26), ("PROF", 27), ("WINCH", 28), ("IO", 29), ("POLL", 29), ("PWR", 30), ("SYS", 31),
    ];

    /// <summary>"TERM", "SIGTERM", "15", "RTMIN+3": the number, or an error naming the bad signal.</summary>
    public static int Parse(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            return n is > 0 and <= 64 ? n : throw SkiffException.Invalid($"invalid signal \"{text}\"");
        }
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
        {
            name = name[3..];
        }
        foreach (var (Name, Number) in Table)
        {
            if (Name == name)
            {
                return Number;
            }
        }
        if (name.StartsWith("RTMIN", StringComparison.Ordinal))
        {
            int off = name.Length == 5 ? 0 : int.TryParse(name[5..], CultureInfo.InvariantCulture, out int o) ? o : -1;
            if (off >= 0 && 34 + off <= 64)
            {
                return 34 + off;
            }
        }
        throw SkiffException.Invalid($"invalid signal \"{text}\": use a name such as TERM or KILL, or a number");
    }
}
