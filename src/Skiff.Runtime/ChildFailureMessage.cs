using Skiff.Linux;

namespace Skiff.Runtime;

/// <summary>Turns the child's {op, step, errno} report into an error a user can act on.</summary>
public static class ChildFailureMessage
{
    public static SkiffException ToException(ChildFailure f, LaunchPlan plan)
    {
        var op = f.OpIndex >= 0 && f.OpIndex < plan.Ops.Count ? plan.Ops[f.OpIndex] : null;
        if (f.Step == ChildStep.Exec && op?.L0 is { Count: > 0 } argv)
        {
            string cmd = argv[0];
            return f.Errno switch
            {
                Errno.ENOENT when !cmd.Contains('/') => new SkiffException(ErrorCategory.CommandNotFound,
                    $"exec: \"{cmd}\": executable file not found in $PATH"),
                Errno.ENOENT or Errno.ENOTDIR => new SkiffException(ErrorCategory.CommandNotFound,
                    $"exec: \"{cmd}\": no such file or directory"),
                Errno.EACCES or Errno.EISDIR or Errno.EPERM => new SkiffException(ErrorCategory.CannotInvoke,
                    $"exec: \"{cmd}\": permission denied"),
                Errno.ENOEXEC => new SkiffException(ErrorCategory.CannotInvoke,
                    $"exec: \"{cmd}\": exec format error (not a program for this machine, or a script without #!)"),
                _ => new SkiffException(ErrorCategory.CannotInvoke, $"exec: \"{cmd}\": {Errno.Describe(f.Errno)}"),
            };
        }
        if (f.Step == ChildStep.Chdir && op is not null)
        {
            return SkiffException.Invalid($"working directory {op.S0}: {Errno.Describe(f.Errno)}");
        }
        if (f.Step == ChildStep.Hook && op is not null)
        {
            string how = f.Errno == -Errno.ETIMEDOUT ? $"timed out after {op.U0} s" : $"exited {f.Errno}";
            return SkiffException.Internal($"hooks.{op.S3}[{op.U1}]: {op.S0} {how}");
        }
        string what = op?.Describe() ?? "start the container";
        return new SkiffException(ErrorCategory.Internal,
            $"container setup failed: {what}: {StepName(f.Step)}: {Errno.Describe(f.Errno)}");
    }

    private static string StepName(ChildStep step) => step switch
    {
        ChildStep.FsOpen => "fsopen",
        ChildStep.FsConfig => "fsconfig",
        ChildStep.FsMount => "fsmount",
        ChildStep.Resolve => "resolve path in the root",
        ChildStep.MoveMount => "move_mount",
        ChildStep.OpenTree => "open_tree",
        ChildStep.SetAttr => "mount_setattr",
        ChildStep.PivotRoot => "pivot_root",
        _ => step.ToString().ToLowerInvariant(),
    };
}
