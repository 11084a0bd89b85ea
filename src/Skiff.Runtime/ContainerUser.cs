using Skiff.Linux;

namespace Skiff.Runtime;

/// <summary>The identity the container's process runs as, resolved against its /etc/passwd.</summary>
public sealed record ContainerUser(uint Uid, uint Gid, uint[] Groups, string Home)
{
    /// <summary>
    /// Resolves "user[:group]" as Docker does: names through the image's /etc/passwd and
    /// /etc/group, numbers as they are; a uid without a passwd entry gets gid 0 and home /.
    /// Every id must be mapped into the container's user namespace.
    /// </summary>
    public static ContainerUser Resolve(string? spec, string? passwd, string? group, IdMapping mapping)
    {
        spec = string.IsNullOrEmpty(spec) ? "0" : spec;
        string userPart = spec, groupPart = "";
        int colon = spec.IndexOf(':');
        if (colon >= 0)
        {
            userPart = spec[..colon];
            groupPart = spec[(colon + 1)..];
            if (userPart.Length == 0 || groupPart.Length == 0)
            {
                throw SkiffException.Invalid($"invalid user \"{spec}\": use UID[:GID] or NAME[:GROUP]");
            }
        }
        if (userPart.Any(char.IsWhiteSpace) || groupPart.Any(char.IsWhiteSpace))
        {
            throw SkiffException.Invalid($"invalid user \"{spec}\": use UID[:GID] or NAME[:GROUP]");
        }
        bool numeric = uint.TryParse(userPart, System.Globalization.NumberStyles.None, null, out uint uid);
        if (!numeric && userPart.All(char.IsAsciiDigit))
        {
            throw SkiffException.Invalid($"invalid user \"{spec}\": uid {userPart} is out of range");
        }
        var entry = PasswdFile.Find(passwd, userPart);
        if (entry is null && !numeric)
        {
            throw SkiffException.Invalid($"unable to find user {userPart}: no matching entries in the container's /etc/passwd");
        }
        uid = entry?.Uid ?? uid;
        uint gid = entry?.Gid ?? 0;
        if (groupPart.Length > 0)
        {
            gid = PasswdFile.GroupId(group, groupPart)
                  ?? throw SkiffException.Invalid($"unable to find group {groupPart}: no matching entries in the container's /etc/group");
        }
        var groups = entry is null ? [gid] : PasswdFile.MemberOf(group, entry.Name).Prepend(gid).Distinct().ToArray();

        if (!mapping.MapsUid(uid))
        {
            throw SkiffException.Invalid(Unmapped("uid", uid, mapping.HighestUid, mapping));
        }
        if (!mapping.MapsGid(gid))
        {
            throw SkiffException.Invalid(Unmapped("gid", gid, mapping.HighestGid, mapping));
        }
        groups = groups.Where(mapping.MapsGid).ToArray();
        return new ContainerUser(uid, gid, groups, entry?.Home is { Length: > 0 } home ? home : "/");
    }

    private static string Unmapped(string kind, uint id, uint highest, IdMapping mapping) =>
        mapping.Mode == IdMapMode.Single
            ? $"{kind} {id} is not mapped in the container: without subordinate ids only 0 exists (add a range for this user to /etc/subuid and /etc/subgid)"
            : $"{kind} {id} is not mapped in the container: mapped {kind}s are 0-{highest}";
}
