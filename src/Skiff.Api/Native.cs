using System.Runtime.InteropServices;

namespace Skiff.Api;

/// <summary>The libc call the listener needs that .NET does not wrap: the file type, to tell a socket from a file.</summary>
internal static unsafe partial class Native
{
    private const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, byte* buf);

    /// <summary>True when the path is a unix socket (not following a final symlink).</summary>
    public static bool IsSocket(string path)
    {
        // struct stat on x86_64 is 144 bytes; st_mode is the 32-bit field at offset 24.
        byte* buf = stackalloc byte[256];
        if (lstat(path, buf) < 0)
        {
            return false;
        }
        return (*(uint*)(buf + 24) & S_IFMT) == S_IFSOCK;
    }
}
