using System.Runtime.InteropServices;

namespace Skiff.Cli.Commands;

/// <summary>setenv and execv: the re-exec into the keeper's namespace.</summary>
internal static unsafe partial class Exec
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execv(string path, byte** argv);

    public static void SetEnv(string name, string value) => setenv(name, value, 1);

    /// <summary>Returns the errno when exec failed.</summary>
    public static int Execv(string path, byte** argv)
    {
        execv(path, argv);
        return Marshal.GetLastPInvokeError();
    }
}
