using System.Globalization;

namespace Skiff.Linux;

/// <summary>/etc/subuid and /etc/subgid: "name-or-id:start:count" lines.</summary>
public static class SubordinateIds
{
    /// <summary>The first range for the user, by name or numeric id, or null.</summary>
    public static (uint Start, uint Count)? Find(string? text, string? userName, uint id)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        string idText = id.ToString(CultureInfo.InvariantCulture);
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }
            int a = line.IndexOf(':');
            int b = a < 0 ? -1 : line[(a + 1)..].IndexOf(':');
            if (b < 0)
            {
                continue;
            }
            var owner = line[..a];
            var start = line.Slice(a + 1, b);
            var count = line[(a + b + 2)..];
            if (!(owner.SequenceEqual(userName) || owner.SequenceEqual(idText)))
            {
                continue;
            }
            if (uint.TryParse(start, NumberStyles.None, CultureInfo.InvariantCulture, out uint s) &&
                uint.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out uint c) && c > 0)
            {
                return (s, c);
            }
        }
        return null;
    }
}
