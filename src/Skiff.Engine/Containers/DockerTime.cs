using System.Globalization;

namespace Skiff.Engine.Containers;

/// <summary>
/// Docker's timetypes.GetTimestamp: what --since, --until and until= filters accept. A Go
/// duration ("10m", "1h30m") counts back from now; a value with dashes is an RFC 3339
/// date or time (local time when it has no zone); anything else is unix seconds, with an
/// optional fraction ("1136073600.000000001").
/// </summary>
public static class DockerTime
{
    private static readonly string[] Layouts =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HHK", "yyyy-MM-ddK",
    ];

    public static DateTime Parse(string value, DateTime nowUtc) =>
        TryParse(value, nowUtc, out var t) ? t : throw SkiffException.Invalid($"failed to parse value as time or duration: \"{value}\"");

    public static bool TryParse(string value, DateTime nowUtc, out DateTime utc)
    {
        utc = default;
        if (value != "0" && TryParseDuration(value, out var d))
        {
            utc = nowUtc - d;
            return true;
        }
        if (value.Contains('-'))
        {
            // .NET reads seven fractional digits at most; Go writes nine.
            string v = value;
            int dot = v.IndexOf('.');
            if (dot > 0)
            {
                int end = dot + 1;
                while (end < v.Length && char.IsAsciiDigit(v[end]))
                {
                    end++;
                }
                if (end - dot - 1 > 7)
                {
                    v = v[..(dot + 8)] + v[end..];
                }
            }
            if (DateTimeOffset.TryParseExact(v, Layouts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t))
            {
                utc = t.UtcDateTime;
                return true;
            }
            return false;
        }
        return TryParseUnix(value, out utc);
    }

    /// <summary>"1136073600" or "1136073600.000000001".</summary>
    public static bool TryParseUnix(string value, out DateTime utc)
    {
        utc = default;
        string secs = value, frac = "";
        int dot = value.IndexOf('.');
        if (dot >= 0)
        {
            secs = value[..dot];
            frac = value[(dot + 1)..];
        }
        if (!long.TryParse(secs, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long s)
            || frac.Length > 0 && !frac.All(char.IsAsciiDigit)
            || s < -62135596800L || s > 253402300799L)
        {
            return false;
        }
        long ticks = 0;
        if (frac.Length > 0)
        {
            string f7 = (frac.Length > 7 ? frac[..7] : frac).PadRight(7, '0');
            ticks = long.Parse(f7, CultureInfo.InvariantCulture);
        }
        utc = DateTime.UnixEpoch.AddSeconds(s).AddTicks(ticks);
        return true;
    }

    /// <summary>Go's time.ParseDuration: [-+]?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+, or "0".</summary>
    public static bool TryParseDuration(string s, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (s.Length == 0)
        {
            return false;
        }
        int i = 0;
        bool negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            i++;
        }
        if (s[i..] == "0")
        {
            return true;
        }
        if (i == s.Length)
        {
            return false;
        }
        double ticks = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            {
                return false;
            }
            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }
            double perUnit = s[unitStart..i] switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (perUnit < 0)
            {
                return false;
            }
            ticks += n * perUnit;
        }
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }
        duration = TimeSpan.FromTicks((long)(negative ? -ticks : ticks));
        return true;
    }
}
