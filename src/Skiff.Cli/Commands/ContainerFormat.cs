using System.Globalization;
using System.Text;
using Skiff.Engine.Containers;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>The docker CLI's formatter for containers (cli/command/formatter/container.go), field by field.</summary>
public static class ContainerFormat
{
    /// <summary>TruncateID: without an algorithm prefix, 12 characters.</summary>
    public static string TruncateId(string id)
    {
        int colon = id.IndexOf(':');
        if (colon >= 0)
        {
            id = id[(colon + 1)..];
        }
        return id.Length > 12 ? id[..12] : id;
    }

    /// <summary>The IMAGE column: a short id for a container whose image has lost its name, else the familiar name without a digest.</summary>
    public static string Image(ContainerSummary c, bool trunc)
    {
        if (c.Image.Length == 0)
        {
            return "<no image>";
        }
        if (!trunc)
        {
            return c.Image;
        }
        if (TruncateId(c.ImageID) == TruncateId(c.Image))
        {
            return TruncateId(c.Image);
        }
        if (!ImageReference.TryParse(c.Image, out var r))
        {
            return c.Image;
        }
        // The tag only if the name had one (the parser supplies "latest").
        string named = c.Image.Contains('@') ? c.Image[..c.Image.IndexOf('@')] : c.Image;
        bool tagged = named.LastIndexOf(':') > named.LastIndexOf('/');
        return ImageReference.FamiliarName(r.Name) + (tagged && r.Tag is not null ? ":" + r.Tag : "");
    }

    /// <summary>COMMAND: ellipsized to 20 columns when truncating, then Go-quoted.</summary>
    public static string Command(ContainerSummary c, bool trunc) => Quote(trunc ? Ellipsis(c.Command, 20) : c.Command);

    /// <summary>CreatedAt: Go's time.Time.String() in the local zone, "2026-11-28 08:00:00 +0000 UTC".</summary>
    public static string CreatedAt(long unixSeconds)
    {
        var local = DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToLocalTime();
        var off = local.Offset;
        string sign = off < TimeSpan.Zero ? "-" : "+";
        off = off.Duration();
        string numeric = $"{sign}{off.Hours:D2}{off.Minutes:D2}";
        var zone = TimeZoneInfo.Local;
        string name = zone.IsDaylightSavingTime(local) ? zone.DaylightName : zone.StandardName;
        if (local.Offset == TimeSpan.Zero && (zone.Id is "UTC" or "Etc/UTC" or "Etc/Universal" or "Universal" or "Zulu" || name.Contains("Universal", StringComparison.Ordinal)))
        {
            name = "UTC";
        }
        else if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal))
        {
            // Go names a zone it has no abbreviation for by its offset.
            name = sign + off.Hours.ToString("D2", CultureInfo.InvariantCulture) + (off.Minutes != 0 ? off.Minutes.ToString("D2", CultureInfo.InvariantCulture) : "");
        }
        return local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " " + numeric + " " + name;
    }

    public static string RunningFor(long unixSeconds, DateTime nowUtc) =>
        ContainerStatusText.HumanDuration(nowUtc - DateTime.UnixEpoch.AddSeconds(unixSeconds)) + " ago";

    /// <summary>Size: "2B" or "2B (virtual 4.26MB)".</summary>
    public static string Size(ContainerSummary c)
    {
        string rw = ImageFormat.Size(c.SizeRw ?? 0);
        return c.SizeRootFs is > 0 ? $"{rw} (virtual {ImageFormat.Size(c.SizeRootFs.Value)})" : rw;
    }

    public static string Labels(ContainerSummary c) =>
        string.Join(',', c.Labels.Select(kv => kv.Key + "=" + kv.Value).OrderBy(s => s, StringComparer.Ordinal));

    public static string Mounts(ContainerSummary c, bool trunc) =>
        string.Join(',', c.Mounts.Select(m => m.Name is { Length: > 0 } n ? n : m.Source).Select(n => trunc ? Ellipsis(n, 15) : n));

    public static string LocalVolumes(ContainerSummary c) =>
        c.Mounts.Count(m => m.Driver == "local").ToString(CultureInfo.InvariantCulture);

    public static string Networks(ContainerSummary c) => string.Join(',', c.NetworkSettings.Networks.Keys);

    /// <summary>DisplayablePorts: "0.0.0.0:80->80/tcp, 9000-9001/tcp", consecutive ports grouped into ranges.</summary>
    public static string Ports(IReadOnlyList<PortSummary> ports)
    {
        var sorted = ports.OrderBy(p => p.PrivatePort).ThenBy(p => p.IP ?? "", StringComparer.Ordinal).ThenBy(p => p.PublicPort)
            .ThenBy(p => p.Type, StringComparer.Ordinal).ToList();
        var groups = new Dictionary<string, (int First, int Last)>(StringComparer.Ordinal);
        var order = new List<string>();
        var result = new List<string>();
        var hostMappings = new List<string>();
        foreach (var p in sorted)
        {
            int current = p.PrivatePort;
            string key = p.Type;
            if (!string.IsNullOrEmpty(p.IP))
            {
                if (p.PublicPort != current)
                {
                    hostMappings.Add($"{JoinHostPort(p.IP, p.PublicPort.ToString(CultureInfo.InvariantCulture))}->{p.PrivatePort}/{p.Type}");
                    continue;
                }
                key = p.IP + "/" + p.Type;
            }
            if (!groups.TryGetValue(key, out var g))
            {
                groups[key] = (current, current);
                order.Add(key);
                continue;
            }
            if (current == g.Last + 1)
            {
                groups[key] = (g.First, current);
                continue;
            }
            result.Add(FormGroup(key, g.First, g.Last));
            groups[key] = (current, current);
        }
        foreach (var key in order)
        {
            result.Add(FormGroup(key, groups[key].First, groups[key].Last));
        }
        result.AddRange(hostMappings);
        return string.Join(", ", result);
    }

    private static string FormGroup(string key, int first, int last)
    {
        int slash = key.LastIndexOf('/');
        string ip = slash > 0 ? key[..slash] : "";
        string type = slash > 0 ? key[(slash + 1)..] : key;
        string group = first == last ? first.ToString(CultureInfo.InvariantCulture) : $"{first}-{last}";
        if (ip.Length > 0)
        {
            group = $"{JoinHostPort(ip, group)}->{group}";
        }
        return group + "/" + type;
    }

    private static string JoinHostPort(string host, string port) => host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>Go's strconv.Quote.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (var r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\a':
                    sb.Append("\\a");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '\v':
                    sb.Append("\\v");
                    break;
                case < 0x20 or 0x7f:
                    sb.Append("\\x").Append(r.Value.ToString("x2", CultureInfo.InvariantCulture));
                    break;
                default:
                    var category = Rune.GetUnicodeCategory(r);
                    if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                        or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                        || category is UnicodeCategory.SpaceSeparator && r.Value != ' ')
                    {
                        sb.Append(r.Value > 0xFFFF ? $"\\U{r.Value:x8}" : $"\\u{r.Value:x4}");
                    }
                    else
                    {
                        sb.Append(r.ToString());
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Docker's Ellipsis: at most maxWidth display columns, the last one "…"; East Asian wide runes count two.</summary>
    public static string Ellipsis(string s, int maxWidth)
    {
        if (maxWidth <= 0)
        {
            return "";
        }
        var runes = s.EnumerateRunes().ToArray();
        if (maxWidth == 1)
        {
            return runes.Length > 0 ? runes[0].ToString() : "";
        }
        int total = 0;
        foreach (var r in runes)
        {
            total += RuneWidth(r);
        }
        if (total <= maxWidth)
        {
            return s;
        }
        var sb = new StringBuilder();
        int width = 0;
        foreach (var r in runes)
        {
            int w = RuneWidth(r);
            if (width + w > maxWidth - 1)
            {
                break;
            }
            width += w;
            sb.Append(r.ToString());
        }
        return sb.Append('…').ToString();
    }

    private static int RuneWidth(Rune r) => r.Value switch
    {
        >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF or >= 0x3400 and <= 0x4DBF
            or >= 0x4E00 and <= 0x9FFF or >= 0xA000 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x20000 and <= 0x3FFFD => 2,
        _ => 1,
    };
}
