using System.Runtime.InteropServices;
using Skiff.Oci;

namespace Skiff.Engine.Containers;

/// <summary>
/// --privileged: every character and block device of the host's /dev, as containerd's
/// HostDevices lists them (not pts, shm, mqueue, fd, console). Root makes the nodes;
/// rootless binds the host's (OciLowering's mknod falls back to a bind).
/// </summary>
public static unsafe partial class HostDevices
{
    private static readonly string[] SkippedDirs = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

    public static List<Device> List(string root = "/dev")
    {
        var devices = new List<Device>();
        Walk(root, devices);
        return devices;
    }

    private static void Walk(string dir, List<Device> devices)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var path in entries)
        {
            string name = Path.GetFileName(path);
            if (!Stat(path, out var st))
            {
                continue;
            }
            uint type = st.Mode & 0xF000;
            if (type == 0x4000) // S_IFDIR
            {
                if (Array.IndexOf(SkippedDirs, name) < 0)
                {
                    Walk(path, devices);
                }
                continue;
            }
            if (name == "console" || (type != 0x2000 && type != 0x6000)) // S_IFCHR, S_IFBLK
            {
                continue;
            }
            devices.Add(new Device
            {
                Type = type == 0x2000 ? "c" : "b",
                Path = path,
                Major = st.Major,
                Minor = st.Minor,
                FileMode = st.Mode & 0xFFF,
                Uid = st.Uid,
                Gid = st.Gid,
            });
        }
    }

    private readonly record struct NodeStat(uint Mode, uint Uid, uint Gid, uint Major, uint Minor);

    private static bool Stat(string path, out NodeStat st)
    {
        byte* buf = stackalloc byte[256];
        // statx: AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE|MODE|UID|GID
        if (statx(-100, path, 0x100, 0x1 | 0x2 | 0x8 | 0x10, buf) != 0)
        {
            st = default;
            return false;
        }
        st = new NodeStat(*(ushort*)(buf + 28), *(uint*)(buf + 20), *(uint*)(buf + 24), *(uint*)(buf + 128), *(uint*)(buf + 132));
        return true;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, byte* statxbuf);
}
