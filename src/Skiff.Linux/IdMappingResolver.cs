namespace Skiff.Linux;

/// <summary>Chooses the id mapping for the calling user, as Podman's rootless mode does.</summary>
public static class IdMappingResolver
{
    /// <summary>Container ids 1..this many map onto the subordinate range, as the issue and Podman ask.</summary>
    public const uint SubordinateSpan = 65536;

    public const string NewUidMap = "/usr/bin/newuidmap";
    public const string NewGidMap = "/usr/bin/newgidmap";

    /// <summary>Why a rootless user got a single mapping, or null when they did not.</summary>
    public sealed record Result(IdMapping Mapping, string? Warning);

    public static Result Resolve(uint uid, uint gid, string? userName, string? subUid, string? subGid, bool helpersInstalled)
    {
        if (uid == 0)
        {
            return new Result(IdMapping.Host, null);
        }
        var single = new IdMapping(IdMapMode.Single, [new IdRange(0, uid, 1)], [new IdRange(0, gid, 1)]);
        var u = SubordinateIds.Find(subUid, userName, uid);
        var g = SubordinateIds.Find(subGid, userName, uid);
        if (u is null || g is null)
        {
            return new Result(single,
                $"no subordinate ids for {userName ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture)} in /etc/subuid and /etc/subgid: " +
                "using a single mapping (only root exists in the container); add ranges with usermod --add-subuids/--add-subgids");
        }
        if (!helpersInstalled)
        {
            return new Result(single,
                "newuidmap/newgidmap not found: using a single mapping (only root exists in the container); install Debian's uidmap package");
        }
        uint us = Math.Min(SubordinateSpan, u.Value.Count);
        uint gs = Math.Min(SubordinateSpan, g.Value.Count);
        return new Result(new IdMapping(IdMapMode.Subordinate,
            [new IdRange(0, uid, 1), new IdRange(1, u.Value.Start, us)],
            [new IdRange(0, gid, 1), new IdRange(1, g.Value.Start, gs)]), null);
    }

    /// <summary>Reads the real system: the caller's ids, /etc/passwd name, subordinate files, helpers.</summary>
    public static Result ForCurrentUser()
    {
        if (UserNamespaceKeeper.Joined > 0)
        {
            return InsideKeeper();
        }
        uint uid = Interop.Libc.getuid();
        uint gid = Interop.Libc.getgid();
        if (uid == 0)
        {
            return new Result(IdMapping.Host, null);
        }
        return ForHostUser(uid, gid);
    }

    private static Result ForHostUser(uint uid, uint gid)
    {
        string? name = PasswdFile.NameOf(ReadOrNull("/etc/passwd"), uid) ?? Environment.UserName;
        return Resolve(uid, gid, name, ReadOrNull("/etc/subuid"), ReadOrNull("/etc/subgid"),
            File.Exists(NewUidMap) && File.Exists(NewGidMap));
    }

    /// <summary>In the keeper's namespace the mapping is whatever it was made with: read it back.</summary>
    private static Result InsideKeeper()
    {
        var uids = ParseMap(ReadOrNull("/proc/self/uid_map"));
        var gids = ParseMap(ReadOrNull("/proc/self/gid_map"));
        if (uids.Length == 0 || gids.Length == 0)
        {
            throw SkiffException.Internal("cannot read the id maps of skiff's user namespace from /proc/self");
        }
        var mode = uids.Length > 1 ? IdMapMode.Subordinate : IdMapMode.Single;
        // Only a single mapping needs the host's files read again, to say why.
        string? warning = mode == IdMapMode.Single ? ForHostUser(uids[0].HostId, gids[0].HostId).Warning : null;
        return new Result(new IdMapping(mode, uids, gids, Joined: true), warning);
    }

    public static IdRange[] ParseMap(string? text)
    {
        var ranges = new List<IdRange>();
        foreach (var line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3 && uint.TryParse(f[0], out uint inside) && uint.TryParse(f[1], out uint outside) &&
                uint.TryParse(f[2], out uint count))
            {
                ranges.Add(new IdRange(inside, outside, count));
            }
        }
        return ranges.ToArray();
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
