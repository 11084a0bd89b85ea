using System.Globalization;

namespace Skiff.Linux;

/// <summary>An /etc/passwd entry.</summary>
public sealed record PasswdEntry(string Name, uint Uid, uint Gid, string Home);

/// <summary>Reads /etc/passwd and /etc/group text (the host's, or a container's).</summary>
public static class PasswdFile
{
    public static IEnumerable<PasswdEntry> Entries(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            yield break;
        }
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(':');
            if (f.Length >= 7 &&
                uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) &&
                uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
            {
                yield return new PasswdEntry(f[0], uid, gid, f[5]);
            }
        }
    }

    public static string? NameOf(string? passwd, uint uid) => Entries(passwd).FirstOrDefault(e => e.Uid == uid)?.Name;

    public static PasswdEntry? Find(string? passwd, string nameOrId)
    {
        bool numeric = uint.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out uint id);
        return Entries(passwd).FirstOrDefault(e => numeric ? e.Uid == id : e.Name == nameOrId);
    }

    /// <summary>The gid of a group given by name or number; null when a name is not there.</summary>
    public static uint? GroupId(string? group, string nameOrId)
    {
        if (uint.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
        {
            return id;
        }
        foreach (var f in Groups(group))
        {
            if (f.Name == nameOrId)
            {
                return f.Gid;
            }
        }
        return null;
    }

    /// <summary>The groups that list the user as a member (supplementary groups).</summary>
    public static uint[] MemberOf(string? group, string userName) =>
        Groups(group).Where(g => g.Members.Contains(userName)).Select(g => g.Gid).Distinct().ToArray();

    private static IEnumerable<(string Name, uint Gid, string[] Members)> Groups(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            yield break;
        }
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(':');
            if (f.Length >= 4 && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
            {
                yield return (f[0], gid, f[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        }
    }
}
