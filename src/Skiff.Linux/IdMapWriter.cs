using System.Globalization;

namespace Skiff.Linux;

/// <summary>Writes a child's uid_map and gid_map while it waits for the go byte.</summary>
public static class IdMapWriter
{
    public static void Apply(ISyscalls sys, int pid, IdMapping mapping)
    {
        if (mapping.Joined)
        {
            return; // the keeper's namespace is mapped already
        }
        switch (mapping.Mode)
        {
            case IdMapMode.Host:
                return;
            case IdMapMode.Single:
                // An unprivileged writer may map only its own ids, and must deny setgroups first.
                sys.WriteFile($"/proc/{pid}/setgroups", "deny");
                sys.WriteFile($"/proc/{pid}/uid_map", Lines(mapping.Uids));
                sys.WriteFile($"/proc/{pid}/gid_map", Lines(mapping.Gids));
                return;
            case IdMapMode.Subordinate:
                RunHelper(sys, IdMappingResolver.NewUidMap, pid, mapping.Uids);
                RunHelper(sys, IdMappingResolver.NewGidMap, pid, mapping.Gids);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(mapping));
        }
    }

    private static void RunHelper(ISyscalls sys, string helper, int pid, IdRange[] ranges)
    {
        var argv = new List<string> { Path.GetFileName(helper), pid.ToString(CultureInfo.InvariantCulture) };
        foreach (var r in ranges)
        {
            argv.Add(r.ContainerId.ToString(CultureInfo.InvariantCulture));
            argv.Add(r.HostId.ToString(CultureInfo.InvariantCulture));
            argv.Add(r.Size.ToString(CultureInfo.InvariantCulture));
        }
        int code = sys.Run(helper, argv);
        if (code != 0)
        {
            throw SkiffException.Unavailable(
                $"{string.Join(' ', argv)} failed (exit {code}): check the ranges in /etc/subuid and /etc/subgid " +
                "and that newuidmap/newgidmap are setuid root (Debian package uidmap)");
        }
    }

    private static string Lines(IdRange[] ranges) => string.Concat(ranges.Select(r => r + "\n"));
}
