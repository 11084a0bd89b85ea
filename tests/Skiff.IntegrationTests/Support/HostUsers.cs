namespace Skiff.IntegrationTests.Support;

/// <summary>An account on the host: its name, uid and primary gid.</summary>
public sealed record HostUser(string Name, int Uid, int Gid);

/// <summary>A subordinate id range from /etc/subuid or /etc/subgid.</summary>
public sealed record SubordinateRange(long Start, long Count);

/// <summary>The host's accounts, read the way tests/setup.sh made them.</summary>
public static class HostUsers
{
    public const string WithSubIds = "skiff-test";
    public const string WithoutSubIds = "skiff-nosub";

    public static string? NameOf(Mode mode) => mode switch
    {
        Mode.Root => null,
        Mode.Rootless => WithSubIds,
        Mode.RootlessNoSubIds => WithoutSubIds,
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static HostUser? Find(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == name)
            {
                return new HostUser(name, int.Parse(fields[2]), int.Parse(fields[3]));
            }
        }

        return null;
    }

    public static HostUser Get(string name) =>
        Find(name) ?? throw new InvalidOperationException($"no user {name} on this host: run tests/setup.sh as root");

    /// <summary>The first range of <paramref name="name"/> in /etc/subuid or /etc/subgid.</summary>
    public static SubordinateRange? SubordinateIds(string file, string name)
    {
        foreach (var line in File.ReadLines(file))
        {
            string[] fields = line.Split(':');
            if (fields.Length == 3 && fields[0] == name)
            {
                return new SubordinateRange(long.Parse(fields[1]), long.Parse(fields[2]));
            }
        }

        return null;
    }
}
