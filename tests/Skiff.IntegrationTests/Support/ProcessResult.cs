namespace Skiff.IntegrationTests.Support;

/// <summary>What a finished process left: its exit code and everything it printed.</summary>
public sealed record ProcessResult(IReadOnlyList<string> Argv, int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> StdoutLines => Lines(Stdout);

    public IReadOnlyList<string> StderrLines => Lines(Stderr);

    /// <summary>Asserts the exit code, showing the whole result when it differs.</summary>
    public ProcessResult AssertExit(int expected)
    {
        Assert.True(ExitCode == expected, $"expected exit {expected}, got {this}");
        return this;
    }

    public override string ToString() =>
        $"exit {ExitCode} from {Shell.Join(Argv)}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    private static string[] Lines(string text) =>
        text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n');
}
