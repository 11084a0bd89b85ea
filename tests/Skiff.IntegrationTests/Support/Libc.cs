using System.Runtime.InteropServices;

namespace Skiff.IntegrationTests.Support;

/// <summary>The few system calls .NET has no API for.</summary>
internal static partial class Libc
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillRaw(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChownRaw(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial int GetEffectiveUid();

    public static void Kill(int pid, int signal)
    {
        if (KillRaw(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}): errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void Chown(string path, int uid, int gid)
    {
        if (ChownRaw(path, uid, gid) != 0)
        {
            throw new InvalidOperationException($"chown {path} to {uid}:{gid}: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
