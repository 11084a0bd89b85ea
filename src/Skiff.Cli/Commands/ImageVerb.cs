namespace Skiff.Cli.Commands;

/// <summary>
/// The image verbs read and write files a user may not be allowed to touch or a disk may
/// not hold: such failures become one-line skiff errors (exit 125), never a stack trace.
/// </summary>
public static class ImageVerb
{
    public static int Guard(Func<int> verb)
    {
        try
        {
            return verb();
        }
        catch (UnauthorizedAccessException e)
        {
            throw SkiffException.Invalid("permission denied: " + PathOf(e));
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            string what = PathOf(e);
            throw e.HResult is > 0 and < 200
                ? SkiffException.Internal($"{what}: {Errno.Describe(e.HResult)}")
                : SkiffException.Internal(what);
        }
    }

    /// <summary>
    /// The useful part of an IO message: with UseSystemResourceKeys the runtime gives
    /// "ResourceKey, /the/path"; the path is what a user can act on.
    /// </summary>
    private static string PathOf(Exception e)
    {
        string m = e.Message;
        int comma = m.IndexOf(", ", StringComparison.Ordinal);
        return comma > 0 && !m[..comma].Contains(' ') ? m[(comma + 2)..] : m;
    }
}
