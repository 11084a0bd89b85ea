using System.Globalization;

namespace Skiff.Runtime.Supervision;

/// <summary>How a supervisor runs its container: logging, restarts, stdio.</summary>
public sealed class SupervisorOptions
{
    /// <summary>json-file (Docker's default) or none.</summary>
    public string LogDriver { get; init; } = "json-file";
    /// <summary>Rotate the log before it would pass this many bytes; 0 for never.</summary>
    public long LogMaxSize { get; init; }
    /// <summary>How many log files to keep, the current one included (1: truncate instead).</summary>
    public int LogMaxFile { get; init; } = 1;
    /// <summary>no, always, unless-stopped or on-failure.</summary>
    public string Restart { get; init; } = "no";
    /// <summary>on-failure only: restarts before giving up; 0 for no limit.</summary>
    public int MaxRetries { get; init; }
    /// <summary>The worker sends a pty master; everything is one stream.</summary>
    public bool Tty { get; init; }
    /// <summary>Keep the container's stdin open for attach (else it reads /dev/null).</summary>
    public bool Stdin { get; init; }
    /// <summary>Close the container's stdin when the first stdin-attached client half-closes.</summary>
    public bool StdinOnce { get; init; }
    /// <summary>The worker argv is the container's own command, run as the supervisor's child (tests, simple cases).</summary>
    public bool Direct { get; init; }
    /// <summary>Launch only once the first attach client is there (the foreground run): no output is missed.</summary>
    public bool WaitAttach { get; init; }
    /// <summary>Run (execv, no PATH search) after the final exit, with SKIFF_CONTAINER_DIR set: --rm.</summary>
    public IReadOnlyList<string>? OnExit { get; init; }

    /// <summary>The supervisor's command line after DIR, up to and including "--".</summary>
    public List<string> ToArguments()
    {
        Validate();
        var args = new List<string> { "--ready-fd", Interop.Shim.SupervisorReadyFd.ToString(CultureInfo.InvariantCulture) };
        if (LogDriver != "json-file")
        {
            args.AddRange(["--log-driver", LogDriver]);
        }
        if (LogMaxSize > 0)
        {
            args.AddRange(["--log-max-size", LogMaxSize.ToString(CultureInfo.InvariantCulture)]);
        }
        if (LogMaxFile != 1)
        {
            args.AddRange(["--log-max-file", LogMaxFile.ToString(CultureInfo.InvariantCulture)]);
        }
        if (Restart != "no")
        {
            args.AddRange(["--restart", Restart]);
            if (Restart == "on-failure" && MaxRetries > 0)
            {
                args.AddRange(["--max-retries", MaxRetries.ToString(CultureInfo.InvariantCulture)]);
            }
        }
        if (Tty)
        {
            args.Add("--tty");
        }
        if (Stdin)
        {
            args.Add("--stdin");
        }
        if (StdinOnce)
        {
            args.Add("--stdin-once");
        }
        if (Direct)
        {
            args.Add("--direct");
        }
        if (WaitAttach)
        {
            args.Add("--wait-attach");
        }
        if (OnExit is { Count: > 0 })
        {
            args.AddRange(["--on-exit-argv", OnExit.Count.ToString(CultureInfo.InvariantCulture)]);
            args.AddRange(OnExit);
        }
        args.Add("--");
        return args;
    }

    private void Validate()
    {
        if (LogDriver is not ("json-file" or "none"))
        {
            throw SkiffException.Invalid($"unsupported log driver \"{LogDriver}\": skiff has json-file and none");
        }
        if (LogMaxSize < 0 || LogMaxFile < 1)
        {
            throw SkiffException.Invalid("log max-size must be 0 or more and max-file 1 or more");
        }
        if (Restart is not ("no" or "always" or "unless-stopped" or "on-failure"))
        {
            throw SkiffException.Invalid($"invalid restart policy \"{Restart}\": use no, always, unless-stopped or on-failure[:N]");
        }
        if (MaxRetries < 0 || (MaxRetries > 0 && Restart != "on-failure"))
        {
            throw SkiffException.Invalid("maximum retry count cannot be used with restart policy '" + Restart + "'");
        }
        if (Tty && Direct)
        {
            throw SkiffException.Invalid("a terminal needs a worker: --direct runs the command without one");
        }
        if (OnExit is { Count: >= 64 })
        {
            throw SkiffException.Invalid("the exit command has too many arguments (63 at most)");
        }
    }
}
