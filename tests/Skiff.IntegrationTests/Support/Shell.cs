namespace Skiff.IntegrationTests.Support;

/// <summary>POSIX shell quoting, for commands handed to script(1) as one string.</summary>
public static class Shell
{
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:@%+,".Contains(c))
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";

    public static string Join(IEnumerable<string> argv) => string.Join(' ', argv.Select(Quote));
}
