namespace Skiff;

/// <summary>What kind of failure an error is; the CLI alone maps it to an exit code.</summary>
public enum ErrorCategory
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    Unavailable,
    Internal,
    /// <summary>The container's command exists but cannot be executed (Docker's 126).</summary>
    CannotInvoke,
    /// <summary>The container's command is not there (Docker's 127).</summary>
    CommandNotFound,
}

/// <summary>An error with a category and a message a user can act on.</summary>
public class SkiffException(ErrorCategory category, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorCategory Category { get; } = category;

    public static SkiffException Invalid(string message) => new(ErrorCategory.InvalidArgument, message);
    public static SkiffException NotFound(string message) => new(ErrorCategory.NotFound, message);
    public static SkiffException Unavailable(string message) => new(ErrorCategory.Unavailable, message);
    public static SkiffException Internal(string message) => new(ErrorCategory.Internal, message);
}

/// <summary>A failed system call: names the operation and the path, as crun does.</summary>
public sealed class SystemCallException(string operation, int errno, ErrorCategory category = ErrorCategory.Internal)
    : SkiffException(category, $"{operation}: {Skiff.Errno.Describe(errno)}")
{
    public string Operation { get; } = operation;
    public int Code { get; } = errno;

    /// <summary>Turns a shim return value (negative errno) into an exception, or passes it through.</summary>
    public static int Check(int rc, string operation)
    {
        if (rc < 0)
        {
            throw new SystemCallException(operation, -rc, CategoryOf(-rc));
        }
        return rc;
    }

    public static ErrorCategory CategoryOf(int errno) => errno switch
    {
        Skiff.Errno.ENOENT => ErrorCategory.NotFound,
        Skiff.Errno.EEXIST => ErrorCategory.AlreadyExists,
        Skiff.Errno.EINVAL => ErrorCategory.InvalidArgument,
        Skiff.Errno.EBUSY => ErrorCategory.Conflict,
        _ => ErrorCategory.Internal,
    };
}
