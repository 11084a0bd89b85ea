using System.Diagnostics;

namespace Skiff.IntegrationTests.Support;

/// <summary>
/// A process started in the background whose standard output is read line by line, so a
/// test can wait for a line ("ready"), act on the process, then collect its exit.
/// </summary>
public sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly IReadOnlyList<string> _argv;
    private readonly List<string> _lines = [];
    private readonly Task _stdoutPump;
    private readonly Task<string> _stderr;

    private BackgroundProcess(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory, bool keepStdinOpen)
    {
        _argv = argv;
        _process = HostProcess.Start(argv, environment, workingDirectory);
        if (!keepStdinOpen)
        {
            _process.StandardInput.Close();
        }

        _stderr = _process.StandardError.ReadToEndAsync();
        _stdoutPump = PumpAsync();
    }

    public int Pid => _process.Id;

    public static BackgroundProcess Start(
        IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        bool keepStdinOpen = false) => new(argv, environment, workingDirectory, keepStdinOpen);

    public async Task WaitForLineAsync(string line, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? HostProcess.DefaultTimeout;
        while (!HasLine(line))
        {
            if (_stdoutPump.IsCompleted)
            {
                await _process.WaitForExitAsync();
                Assert.Fail($"exited before printing \"{line}\": exit {_process.ExitCode} from {Shell.Join(_argv)}\n"
                    + $"--- stdout\n{Stdout()}\n--- stderr\n{await _stderr}");
            }

            if (deadline.Elapsed > limit)
            {
                HostProcess.KillTree(_process);
                Assert.Fail($"no \"{line}\" after {limit.TotalSeconds} s from {Shell.Join(_argv)}\n--- stdout\n{Stdout()}");
            }

            await Task.Delay(20);
        }
    }

    public async Task<ProcessResult> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? HostProcess.DefaultTimeout;
        try
        {
            await _process.WaitForExitAsync().WaitAsync(limit);
            await Task.WhenAll(_stdoutPump, _stderr).WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            HostProcess.KillTree(_process);
            Assert.Fail($"did not exit within {limit.TotalSeconds} s: {Shell.Join(_argv)}\n--- stdout\n{Stdout()}");
        }

        return new ProcessResult(_argv, _process.ExitCode, Stdout(), await _stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            HostProcess.KillTree(_process);
        }

        _process.StandardInput.Dispose();
        _process.Dispose();
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }

    private bool HasLine(string line)
    {
        lock (_lines)
        {
            return _lines.Contains(line);
        }
    }

    private string Stdout()
    {
        lock (_lines)
        {
            return string.Concat(_lines.Select(l => l + "\n"));
        }
    }
}
