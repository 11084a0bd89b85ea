namespace Skiff.Oci.Seccomp;

/// <summary>The SCMP_ACT_* names of the runtime-spec, as SECCOMP_RET_* filter return values.</summary>
internal static class SeccompAction
{
    public const uint KillProcess = 0x80000000;
    public const uint KillThread = 0x00000000;
    public const uint Trap = 0x00030000;
    public const uint Errno = 0x00050000;
    public const uint UserNotif = 0x7fc00000;
    public const uint Trace = 0x7ff00000;
    public const uint Log = 0x7ffc0000;
    public const uint Allow = 0x7fff0000;
    public const uint ActionMask = 0xffff0000;

    public const uint EPERM = 1;
    public const uint ENOSYS = 38;

    /// <summary>
    /// Parses an action and its errnoRet. ERRNO and TRACE carry errnoRet (EPERM when
    /// absent, as runc and crun do, TRACE included); any other action with errnoRet is
    /// refused, as crun does.
    /// </summary>
    /// <param name="entry">The index in linux.seccomp.syscalls, or -1 for the default action (for messages).</param>
    public static uint Parse(string? name, uint? errnoRet, int entry)
    {
        uint action = name switch
        {
            "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => KillThread,
            "SCMP_ACT_KILL_PROCESS" => KillProcess,
            "SCMP_ACT_TRAP" => Trap,
            "SCMP_ACT_ERRNO" => Errno,
            "SCMP_ACT_TRACE" => Trace,
            "SCMP_ACT_ALLOW" => Allow,
            "SCMP_ACT_LOG" => Log,
            "SCMP_ACT_NOTIFY" => UserNotif,
            _ => throw SkiffException.Invalid($"{Field(entry, "action")}: unknown action \"{name}\""),
        };
        if (action is not (Errno or Trace))
        {
            return errnoRet is null
                ? action
                : throw SkiffException.Invalid($"{Field(entry, "errnoRet")}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {name}");
        }
        uint data = errnoRet ?? EPERM;
        if (data > 0xffff)
        {
            throw SkiffException.Invalid($"{Field(entry, "errnoRet")}: {data} does not fit the 16 bits of SECCOMP_RET_DATA");
        }
        return action | data;
    }

    private static string Field(int entry, string field) => entry >= 0
        ? $"linux.seccomp.syscalls[{entry}].{field}"
        : field == "action" ? "linux.seccomp.defaultAction" : "linux.seccomp.defaultErrnoRet";

    /// <summary>Actions that let the call run (runc gives these no -ENOSYS stub).</summary>
    public static bool LetsCallRun(uint action) =>
        (action & ActionMask) is Allow or Log or Trace;
}
