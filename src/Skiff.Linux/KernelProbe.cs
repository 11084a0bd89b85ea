using System.Runtime.InteropServices;

namespace Skiff.Linux;

/// <summary>One kernel feature skiff relies on, and what to do when it is missing.</summary>
public sealed record KernelFeature(string Name, bool Available, string Message);

/// <summary>Tries each feature for real (native/probe.c) and explains failures in plain words.</summary>
public static unsafe class KernelProbe
{
    public static string KernelRelease()
    {
        Interop.Libc.UtsName u;
        if (Interop.Libc.uname(&u) != 0)
        {
            return "unknown";
        }
        return Marshal.PtrToStringUTF8((nint)u.Release) ?? "unknown";
    }

    public static IReadOnlyList<KernelFeature> Run(string scratchDir)
    {
        Interop.Shim.Probe p;
        Directory.CreateDirectory(scratchDir);
        try
        {
            SystemCallException.Check(Interop.Shim.ProbeKernel(scratchDir, &p), "probe the kernel");
        }
        finally
        {
            Interop.Shim.RemoveTree(-1, scratchDir);
        }
        return
        [
            Feature("user namespaces", p.UserNs,
                "cannot create a user namespace: set kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0"),
            Feature("overlay in a user namespace", p.OverlayUserNs,
                "overlayfs cannot be mounted in a user namespace: needs Linux 5.11 or newer with overlay built in"),
            Feature("clone3", p.Clone3, "clone3(2) is missing: needs Linux 5.3 or newer"),
            Feature("pidfd", p.PidFd, "pidfd_open(2) is missing: needs Linux 5.3 or newer"),
            Feature("new mount API", p.MountApi, "fsopen(2)/fsmount(2) are missing: needs Linux 5.2 or newer"),
        ];
    }

    private static KernelFeature Feature(string name, int errno, string missing) =>
        new(name, errno == 0, errno == 0 ? "ok" : $"{missing} ({Errno.Describe(errno)})");
}
