using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Tests;

public class ChildFailureMessageTests
{
    private static LaunchPlan PlanWith(LaunchOp op)
    {
        var plan = new LaunchPlan();
        plan.Ops.Add(op);
        return plan;
    }

    [Theory]
    [InlineData("nope", Errno.ENOENT, ErrorCategory.CommandNotFound, "exec: \"nope\": executable file not found in $PATH")]
    [InlineData("/bin/nope", Errno.ENOENT, ErrorCategory.CommandNotFound, "exec: \"/bin/nope\": no such file or directory")]
    [InlineData("/etc/passwd", Errno.EACCES, ErrorCategory.CannotInvoke, "exec: \"/etc/passwd\": permission denied")]
    [InlineData("/etc", Errno.EISDIR, ErrorCategory.CannotInvoke, "exec: \"/etc\": permission denied")]
    [InlineData("./x", Errno.ENOEXEC, ErrorCategory.CannotInvoke, "exec: \"./x\": exec format error (not a program for this machine, or a script without #!)")]
    public void Exec_failures_become_docker_messages_and_exit_categories(string cmd, int errno, ErrorCategory category, string message)
    {
        var e = ChildFailureMessage.ToException(new ChildFailure(0, ChildStep.Exec, errno), PlanWith(LaunchOp.Exec([cmd], [], "/bin")));
        Assert.Equal(category, e.Category);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_working_directory_that_cannot_be_entered_is_an_invalid_argument()
    {
        var e = ChildFailureMessage.ToException(new ChildFailure(0, ChildStep.Chdir, Errno.ENOTDIR), PlanWith(LaunchOp.Chdir("/etc/passwd")));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Equal("working directory /etc/passwd: Not a directory", e.Message);
    }
}
