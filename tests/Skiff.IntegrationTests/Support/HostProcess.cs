using System.Diagnostics;
using System.Text;

namespace Skiff.IntegrationTests.Support;

/// <summary>
/// Runs a program on the host with an argv list, optional standard input and a timeout:
/// a hang is killed (with its whole tree) and fails the test instead of blocking the run.
/// </summary>
public static class HostProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task<ProcessResult> RunAsync(
        IReadOnlyList<string> argv,
        string? stdin = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        using var process = Start(argv, environment, workingDirectory);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await WriteAndCloseAsync(process, stdin);

        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        try
        {
            await process.WaitForExitAsync().WaitAsync(limit);
            // A process left holding the pipes (a leaked container) is a hang too.
            await Task.WhenAll(stdout, stderr).WaitAsync(Remaining(limit, clock));
        }
        catch (TimeoutException)
        {
            KillTree(process);
            Assert.Fail($"timed out after {limit.TotalSeconds} s: {Shell.Join(argv)}\n"
                + $"--- stdout so far\n{Partial(stdout)}\n--- stderr so far\n{Partial(stderr)}");
        }

        return new ProcessResult(argv, process.ExitCode, await stdout, await stderr);
    }

    public static Process Start(
        IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var arg in argv.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {argv[0]}");
    }

    public static async Task WriteAndCloseAsync(Process process, string? stdin)
    {
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process exited without reading all of it (EPIPE): its exit code tells the rest.
        }
    }

    public static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static TimeSpan Remaining(TimeSpan limit, Stopwatch clock) =>
        limit - clock.Elapsed > TimeSpan.FromSeconds(1) ? limit - clock.Elapsed : TimeSpan.FromSeconds(1);

    private static string Partial(Task<string> output) =>
        output.IsCompletedSuccessfully ? output.Result : "(still open)";
}
