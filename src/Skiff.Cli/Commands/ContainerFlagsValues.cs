using System.Globalization;
using System.Net;
using System.Text;
using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>
/// The value parsers behind create/run flags, each with the docker CLI's (or daemon's)
/// message: go-units sizes, big.Rat CPUs, ulimits, restart policies, add-host, DNS,
/// labels and Docker's env/label file format.
/// </summary>
public static class ContainerFlagValues
{
    /// <summary>pflag's wording for a value a flag refused: invalid argument "V" for "-m, --memory" flag: WHY.</summary>
    public static UsageException FlagError(string flag, string value, string why)
    {
        var spec = ContainerFlags.RunTable.FirstOrDefault(f => f.Name == flag);
        string shown = spec is { Short: not FlagSpec.NoShort } ? $"-{spec.Short}, --{flag}" : "--" + flag;
        return new UsageException($"invalid argument \"{value}\" for \"{shown}\" flag: {why}");
    }

    /// <summary>go-units RAMInBytes: 1024-based k, m, g, t, p with an optional b / ib; "invalid size: 'abc'".</summary>
    public static long RamInBytes(string text) => ParseSize(text, 1024);

    /// <summary>go-units FromHumanSize: the same grammar, 1000-based.</summary>
    public static long FromHumanSize(string text) => ParseSize(text, 1000);

    private static long ParseSize(string text, long unit)
    {
        int sep = text.LastIndexOfAny("0123456789. ".ToCharArray());
        if (sep < 0)
        {
            throw new FormatException($"invalid size: '{text}'");
        }
        string num = text[sep] == ' ' ? text[..sep] : text[..(sep + 1)];
        string suffix = text[(sep + 1)..];
        if (!double.TryParse(num, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double size)
            || num.Length == 0 || num.Contains(' '))
        {
            throw new FormatException($"strconv.ParseFloat: parsing \"{num}\": invalid syntax");
        }
        if (size < 0)
        {
            throw new FormatException($"invalid size: '{text}'");
        }
        if (suffix.Length == 0)
        {
            return (long)size;
        }
        string sfx = suffix.ToLowerInvariant();
        if (sfx.Length > 3)
        {
            throw new FormatException($"invalid suffix: '{sfx}'");
        }
        if (sfx[0] == 'b')
        {
            return sfx.Length == 1 ? (long)size : throw new FormatException($"invalid suffix: '{sfx}'");
        }
        int power = "kmgtp".IndexOf(sfx[0]);
        if (power < 0 || (sfx.Length == 2 && sfx[1] != 'b') || (sfx.Length == 3 && sfx[1..] != "ib"))
        {
            throw new FormatException($"invalid suffix: '{sfx}'");
        }
        return (long)(size * Math.Pow(unit, power + 1));
    }

    /// <summary>--cpus as big.Rat reads it ("1.5", "3/2"), times 1e9; "value is too precise" past nanos.</summary>
    public static long NanoCpus(string text)
    {
        if (!TryRational(text, out decimal value))
        {
            throw new FormatException($"failed to parse {text} as a rational number");
        }
        decimal nano = value * 1_000_000_000m;
        if (nano != decimal.Truncate(nano))
        {
            throw new FormatException("value is too precise");
        }
        return (long)nano;
    }

    private static bool TryRational(string text, out decimal value)
    {
        value = 0;
        const NumberStyles style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        int slash = text.IndexOf('/');
        if (slash < 0)
        {
            return text.Length > 0 && !text.Contains(' ') && decimal.TryParse(text, style, CultureInfo.InvariantCulture, out value);
        }
        if (!long.TryParse(text.AsSpan(0, slash), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)
            || !long.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long d) || d == 0)
        {
            return false;
        }
        value = (decimal)n / d;
        return true;
    }

    /// <summary>Go's strconv.ParseInt(s, 10, 64), with its message.</summary>
    public static long ParseInt(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new FormatException($"strconv.ParseInt: parsing \"{text}\": invalid syntax");

    private static readonly HashSet<string> UlimitNames =
    [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
    ];

    /// <summary>go-units ParseUlimit: name=soft[:hard], hard defaulting to soft, -1 for unlimited.</summary>
    public static Skiff.Engine.Containers.Ulimit Ulimit(string text)
    {
        int eq = text.IndexOf('=');
        if (eq < 0)
        {
            throw new FormatException($"invalid ulimit argument: {text}");
        }
        string name = text[..eq], limits = text[(eq + 1)..];
        if (!UlimitNames.Contains(name))
        {
            throw new FormatException($"invalid ulimit type: {name}");
        }
        string[] parts = limits.Split(':');
        if (parts.Length > 2)
        {
            throw new FormatException($"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`");
        }
        long hard = parts.Length == 2 ? ParseInt(parts[1]) : 0;
        long soft = ParseInt(parts[0]);
        if (parts.Length == 1)
        {
            hard = soft;
        }
        if (hard != -1)
        {
            if (soft == -1)
            {
                throw new FormatException($"ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}");
            }
            if (soft > hard)
            {
                throw new FormatException($"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
            }
        }
        return new Skiff.Engine.Containers.Ulimit { Name = name, Soft = soft, Hard = hard };
    }

    /// <summary>
    /// --restart: the CLI's format check (UsageException), then the daemon's policy check
    /// (Invalid), as Docker splits them.
    /// </summary>
    public static Skiff.Engine.Containers.RestartPolicy Restart(string? text)
    {
        var policy = new Skiff.Engine.Containers.RestartPolicy();
        if (string.IsNullOrEmpty(text))
        {
            return policy;
        }
        int colon = text.IndexOf(':');
        string name = colon < 0 ? text : text[..colon];
        string count = colon < 0 ? "" : text[(colon + 1)..];
        if (colon >= 0 && name.Length == 0)
        {
            throw new UsageException("invalid restart policy format: no policy provided before colon");
        }
        if (count.Length > 0)
        {
            policy.MaximumRetryCount = int.TryParse(count, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
                ? n
                : throw new UsageException("invalid restart policy format: maximum retry count must be an integer");
        }
        policy.Name = name;
        switch (name)
        {
            case "always" or "unless-stopped" or "no":
                if (policy.MaximumRetryCount != 0)
                {
                    throw SkiffException.Invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'" +
                                                 (policy.MaximumRetryCount < 0 ? " and cannot be negative" : ""));
                }
                break;
            case "on-failure":
                if (policy.MaximumRetryCount < 0)
                {
                    throw SkiffException.Invalid("invalid restart policy: maximum retry count cannot be negative");
                }
                break;
            default:
                throw SkiffException.Invalid($"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
        }
        return policy;
    }

    /// <summary>
    /// --add-host host:ip or host=ip, ip possibly [bracketed] or host-gateway; what the API
    /// gets is always host:ip (the daemon takes no '=' and no brackets).
    /// </summary>
    public static string ExtraHost(string text)
    {
        int eq = text.IndexOf('=');
        int at = eq >= 0 ? eq : text.IndexOf(':');
        string host = at < 0 ? "" : text[..at];
        string ip = at < 0 ? "" : text[(at + 1)..];
        if (at < 0 || host.Length == 0 || host.Contains(':'))
        {
            throw new FormatException($"bad format for add-host: \"{text}\"");
        }
        if (ip != "host-gateway")
        {
            if (ip.Length > 2 && ip[0] == '[' && ip[^1] == ']')
            {
                ip = ip[1..^1];
            }
            if (NormalizeIp(ip) is null)
            {
                throw new FormatException($"invalid IP address in add-host: \"{ip}\"");
            }
        }
        return host + ":" + ip;
    }

    /// <summary>Go's net.ParseIP(strings.TrimSpace(s)).String(): dotted quads and IPv6 without a zone; else null.</summary>
    public static string? NormalizeIp(string text)
    {
        string s = text.Trim();
        if (s.Contains(':'))
        {
            return !s.Contains('%') && !s.Contains('[') && IPAddress.TryParse(s, out var v6) ? v6.ToString() : null;
        }
        string[] parts = s.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }
        var octets = new byte[4];
        for (int i = 0; i < 4; i++)
        {
            if (parts[i].Length is 0 or > 3 || !parts[i].All(char.IsAsciiDigit) || (parts[i].Length > 1 && parts[i][0] == '0')
                || !byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out octets[i]))
            {
                return null;
            }
        }
        return new IPAddress(octets).ToString();
    }

    /// <summary>--dns-search: "." or a domain name (Docker's ValidateDNSSearch).</summary>
    public static string DnsSearch(string text)
    {
        string v = text.Trim(' ');
        if (v == ".")
        {
            return v;
        }
        if (!v.Any(char.IsAsciiLetter) || !IsDomain(v, out string domain) || domain.Length >= 255)
        {
            throw new FormatException($"{v} is not a valid domain");
        }
        return domain;
    }

    /// <summary>Labels separated by dots, each alphanumeric with inner hyphens; an optional final dot and trailing spaces dropped.</summary>
    private static bool IsDomain(string v, out string domain)
    {
        domain = v.TrimEnd();
        if (domain.EndsWith('.'))
        {
            domain = domain[..^1];
        }
        if (domain.Length == 0)
        {
            return false;
        }
        foreach (var label in domain.Split('.'))
        {
            if (label.Length == 0 || !char.IsAsciiLetterOrDigit(label[0]) || !char.IsAsciiLetterOrDigit(label[^1])
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Docker's ValidateLabel: a key before '=' with no whitespace.</summary>
    public static void Label(string text)
    {
        int eq = text.IndexOf('=');
        string key = (eq < 0 ? text : text[..eq]).TrimStart(' ', '\t');
        if (key.Length == 0)
        {
            throw new FormatException($"invalid label '{text}': empty name");
        }
        if (key.Contains(' ') || key.Contains('\t'))
        {
            throw new FormatException($"label '{key}' contains whitespaces");
        }
    }

    /// <summary>
    /// Docker's key/value file (--env-file, --label-file): UTF-8, BOM dropped, leading
    /// whitespace dropped, # comments and blank lines skipped, KEY=VALUE with matching
    /// quotes around the value removed, a bare KEY looked up (and dropped when lookup has
    /// no value or there is no lookup).
    /// </summary>
    public static List<string> ReadKeyValueFile(string path, Func<string, string?>? lookup)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsageException($"open {path}: no such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw new UsageException($"open {path}: permission denied");
        }
        catch (IOException e) when (e.HResult == 21 /* EISDIR */ || Directory.Exists(path))
        {
            throw new UsageException($"read {path}: is a directory");
        }
        var lines = new List<string>();
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        int start = 0, lineNo = 0;
        while (start <= bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
            {
                end = bytes.Length;
            }
            lineNo++;
            var raw = bytes.AsSpan(start, end - start);
            if (raw.Length > 0 && raw[^1] == '\r')
            {
                raw = raw[..^1];
            }
            if (lineNo == 1 && raw.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                raw = raw[3..];
            }
            string text;
            try
            {
                text = utf8.GetString(raw);
            }
            catch (DecoderFallbackException)
            {
                throw new UsageException($"invalid env file ({path}): invalid utf8 bytes at line {lineNo}: [{string.Join(' ', raw.ToArray())}]");
            }
            start = end + 1;
            string line = text.TrimStart();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int eq = line.IndexOf('=');
            string key = eq < 0 ? line : line[..eq];
            if (key.Length == 0)
            {
                throw new UsageException($"invalid env file ({path}): no variable name on line '{line}'");
            }
            if (key.Contains(' ') || key.Contains('\t'))
            {
                throw new UsageException($"invalid env file ({path}): variable '{key}' contains whitespaces");
            }
            if (eq >= 0)
            {
                lines.Add(key + "=" + TrimQuotes(line[(eq + 1)..]));
            }
            else if (lookup?.Invoke(line) is { } value)
            {
                lines.Add(key + "=" + TrimQuotes(value));
            }
        }
        return lines;
    }

    private static string TrimQuotes(string v) =>
        v.Length >= 2 && (v[0] == '"' || v[0] == '\'') && v[^1] == v[0] ? v[1..^1] : v;

    /// <summary>
    /// --security-opt: the CLI's check (a value after '=' or ':' except for
    /// no-new-privileges; seccomp=FILE becomes seccomp=&lt;the file's JSON, compacted&gt;), then
    /// the daemon's (label, apparmor, seccomp, no-new-privileges[=bool]).
    /// </summary>
    public static List<string> SecurityOptions(IReadOnlyList<string> values)
    {
        var result = new List<string>(values.Count);
        foreach (var opt in values)
        {
            var (k, v, ok) = Cut(opt, '=');
            if (!ok && k != "no-new-privileges")
            {
                (k, v, ok) = Cut(opt, ':');
            }
            if ((!ok || v.Length == 0) && k != "no-new-privileges")
            {
                throw new UsageException($"invalid --security-opt: \"{opt}\"");
            }
            string kept = opt;
            if (k == "seccomp" && v is not ("builtin" or "unconfined"))
            {
                kept = "seccomp=" + CompactJson(v);
            }
            CheckDaemonSecurityOption(opt);
            result.Add(kept);
        }
        return result;
    }

    private static void CheckDaemonSecurityOption(string opt)
    {
        if (opt is "no-new-privileges" or "disable")
        {
            return;
        }
        var (k, v, ok) = opt.Contains('=') ? Cut(opt, '=') : Cut(opt, ':');
        if (!ok)
        {
            throw SkiffException.Invalid($"invalid --security-opt 1: \"{opt}\"");
        }
        switch (k)
        {
            case "label" or "apparmor" or "seccomp":
                return;
            case "no-new-privileges" when v is "1" or "t" or "T" or "TRUE" or "true" or "True" or "0" or "f" or "F" or "FALSE" or "false" or "False":
                return;
            default:
                throw SkiffException.Invalid($"invalid --security-opt 2: \"{opt}\"");
        }
    }

    private static string CompactJson(string file)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory"
                : e is UnauthorizedAccessException ? "permission denied" : e.Message;
            throw new UsageException($"opening seccomp profile ({file}) failed: open {file}: {why}");
        }
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(bytes);
            using var ms = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(ms, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                doc.WriteTo(w);
            }
            return Encoding.UTF8.GetString(ms.ToArray());
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new UsageException($"compacting json for seccomp profile ({file}) failed: {e.Message}");
        }
    }

    /// <summary>
    /// --log-driver and --log-opt: json-file (Docker's default) or none; json-file takes
    /// max-size (a size, above 0) and max-file (an integer, at least 1).
    /// </summary>
    public static Skiff.Engine.Containers.LogConfig LogConfig(string? driver, IReadOnlyList<string> opts)
    {
        var config = new Skiff.Engine.Containers.LogConfig { Type = string.IsNullOrEmpty(driver) ? "json-file" : driver };
        foreach (var o in opts)
        {
            var (k, v, _) = Cut(o, '=');
            config.Config[k] = v;
        }
        if (driver == "none" && opts.Count > 0)
        {
            throw new UsageException("invalid logging opts for driver none");
        }
        if (config.Type is not ("json-file" or "none"))
        {
            throw SkiffException.Invalid("skiff supports the json-file and none log drivers");
        }
        foreach (var (key, value) in config.Config)
        {
            switch (key)
            {
                case "max-size":
                    long size;
                    try
                    {
                        size = RamInBytes(value);
                    }
                    catch (FormatException e)
                    {
                        throw SkiffException.Invalid(e.Message);
                    }
                    if (size <= 0)
                    {
                        throw SkiffException.Invalid("max-size must be a positive number");
                    }
                    break;
                case "max-file":
                    if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int files))
                    {
                        throw SkiffException.Invalid($"strconv.Atoi: parsing \"{value}\": invalid syntax");
                    }
                    if (files < 1)
                    {
                        throw SkiffException.Invalid("max-file cannot be less than 1");
                    }
                    break;
                case "compress" or "labels" or "labels-regex" or "env" or "env-regex" or "tag":
                    throw SkiffException.Invalid($"skiff does not support the log opt '{key}' of the json-file log driver: use max-size and max-file");
                default:
                    throw SkiffException.Invalid($"unknown log opt '{key}' for json-file log driver");
            }
        }
        return config;
    }

    internal static (string Key, string Value, bool Found) Cut(string s, char sep)
    {
        int i = s.IndexOf(sep);
        return i < 0 ? (s, "", false) : (s[..i], s[(i + 1)..], true);
    }
}
