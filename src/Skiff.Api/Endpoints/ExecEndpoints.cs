using System.Collections.Concurrent;
using System.Globalization;
using Skiff.Api.Exec;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Engine.Containers;

namespace Skiff.Api.Endpoints;

/// <summary>
/// /containers/{id}/exec and /exec/{id}/...: exec instances live in the daemon's memory
/// (as in dockerd); each start runs `skiff exec` as a child (<see cref="ExecProcess"/>),
/// the same code as the CLI verb, with the hijacked connection as its stdio.
/// </summary>
public static class ExecEndpoints
{
    public static void Map(Router routes, Daemon daemon)
    {
        var execs = new ExecInstances();
        routes.Post("/containers/{id}/exec", c => Create(c, daemon, execs));
        routes.Post("/exec/{id}/start", c => Start(c, daemon, execs));
        routes.Post("/exec/{id}/resize", c => Resize(c, execs));
        routes.Get("/exec/{id}/json", c => Inspect(c, execs));
    }

    private static void CheckRunning(Daemon daemon, string id)
    {
        var state = daemon.Containers.State(id);
        if (state.Status == "paused")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is paused, unpause the container before exec");
        }
        if (!state.Running || state.Status == "restarting")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is not running");
        }
    }

    private static async Task Create(ApiContext c, Daemon daemon, ExecInstances execs)
    {
        string containerId = ContainerEndpoints.Resolve(c, daemon);
        var config = await c.ReadJsonAsync(ContainerApiJson.Default.ExecCreateRequest) ?? new ExecCreateRequest();
        if (config.Cmd is not { Count: > 0 } || config.Cmd[0].Length == 0)
        {
            throw SkiffException.Invalid("No exec command specified");
        }
        if (config.WorkingDir is { Length: > 0 } w && !w.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{w}' is invalid, it needs to be an absolute path");
        }
        CheckRunning(daemon, containerId);
        var exec = execs.Add(containerId, config);
        ContainerEvents.Publish(daemon, "exec_create: " + string.Join(' ', config.Cmd), daemon.Containers.Load(containerId),
            new() { ["execID"] = exec.Id });
        await c.JsonAsync(new IdResponse { Id = exec.Id }, ContainerApiJson.Default.IdResponse, 201);
    }

    /// <summary>`skiff --root ROOT exec [-i] [-t] [--privileged] [--env=K=V]... [--workdir=D] [--user=U] -- ID CMD...`.</summary>
    public static List<string> Argv(string binary, string root, string containerId, ExecCreateRequest config, bool tty, bool interactive)
    {
        var argv = new List<string> { binary, "--root", root, "exec" };
        if (interactive)
        {
            argv.Add("-i");
        }
        if (tty)
        {
            argv.Add("-t");
        }
        if (config.Privileged)
        {
            argv.Add("--privileged");
        }
        foreach (var e in config.Env ?? [])
        {
            // A bare KEY would take the daemon's value: the client resolves those itself.
            if (e.Contains('='))
            {
                argv.Add("--env=" + e);
            }
        }
        if (config.WorkingDir is { Length: > 0 } dir)
        {
            argv.Add("--workdir=" + dir);
        }
        if (config.User is { Length: > 0 } user)
        {
            argv.Add("--user=" + user);
        }
        argv.Add("--");
        argv.Add(containerId);
        argv.AddRange(config.Cmd ?? []);
        return argv;
    }

    /// <summary>
    /// Detach: started with /dev/null for stdio, answered with a plain 200. Otherwise the
    /// connection is hijacked and carries the exec's stdio until it ends; its exit code is
    /// recorded before the connection closes (the CLI asks for it right after).
    /// </summary>
    private static async Task Start(ApiContext c, Daemon daemon, ExecInstances execs)
    {
        var exec = execs.Get(c.Route("id"));
        var request = await c.ReadJsonAsync(ContainerApiJson.Default.ExecStartRequest) ?? new ExecStartRequest();
        CheckRunning(daemon, exec.ContainerId);
        var config = exec.Config;
        bool tty = config.Tty || request.Tty;
        bool stdin = config.AttachStdin && !request.Detach;
        var size = request.ConsoleSize ?? config.ConsoleSize;
        ushort rows = size is [var h, _] ? h : (ushort)0, cols = size is [_, var w] ? w : (ushort)0;
        var argv = Argv(daemon.Binary, daemon.Paths.Root, exec.ContainerId, config, tty, stdin);
        if (!exec.Begin())
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Error: Exec command {exec.Id} is already running");
        }
        var def = daemon.Containers.Load(exec.ContainerId);
        string command = string.Join(' ', config.Cmd ?? []);
        ExecProcess process;
        try
        {
            process = ExecProcess.Start(argv, tty, stdin, attached: !request.Detach, rows, cols);
        }
        catch
        {
            exec.Finish(126);
            throw;
        }
        exec.Running(process);
        ContainerEvents.Publish(daemon, "exec_start: " + command, def, new() { ["execID"] = exec.Id });
        if (request.Detach)
        {
            _ = process.Exited.ContinueWith(t => Finished(daemon, exec, def, t.Result), TaskScheduler.Default);
            await c.StatusAsync(200);
            return;
        }
        try
        {
            using var connection = await c.HijackAsync(tty);
            int code = await process.RunAsync(connection, stdin, config.AttachStdout, config.AttachStderr);
            // Recorded before the connection closes: the client asks for the exit code as soon as it sees the end.
            Finished(daemon, exec, def, code);
        }
        catch (Exception e) when (!exec.Done)
        {
            // The client went away before the streams were set up: the exec goes too.
            process.Kill();
            Finished(daemon, exec, def, await process.Exited);
            if (e is not (IOException or OperationCanceledException))
            {
                throw;
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private static void Finished(Daemon daemon, ExecInstance exec, ContainerDefinition def, int code)
    {
        exec.Finish(code);
        ContainerEvents.Publish(daemon, "exec_die", def, new()
        {
            ["execID"] = exec.Id,
            ["exitCode"] = code.ToString(CultureInfo.InvariantCulture),
        });
    }

    private static Task Resize(ApiContext c, ExecInstances execs)
    {
        var exec = execs.Get(c.Route("id"));
        var (rows, cols) = ContainerEndpoints.Size(c);
        exec.Resize(rows, cols);
        return c.StatusAsync(200);
    }

    private static Task Inspect(ApiContext c, ExecInstances execs) =>
        c.JsonAsync(execs.Get(c.Route("id")).Inspect(), ContainerApiJson.Default.ExecInspectResponse);
}

/// <summary>One exec instance: what to run, and how it went.</summary>
public sealed class ExecInstance(string id, string containerId, ExecCreateRequest config)
{
    private readonly object _lock = new();
    private ExecProcess? _process;
    private bool _begun;
    private bool _running;
    private int? _exitCode;

    public string Id { get; } = id;
    public string ContainerId { get; } = containerId;
    public ExecCreateRequest Config { get; } = config;
    public DateTime? FinishedUtc { get; private set; }

    /// <summary>It has run and its exit code is known.</summary>
    public bool Done
    {
        get
        {
            lock (_lock)
            {
                return _exitCode is not null;
            }
        }
    }

    /// <summary>Claims the single start an exec gets.</summary>
    public bool Begin()
    {
        lock (_lock)
        {
            if (_begun)
            {
                return false;
            }
            _begun = true;
            return true;
        }
    }

    public void Running(ExecProcess process)
    {
        lock (_lock)
        {
            _process = process;
            _running = true;
        }
    }

    public void Finish(int code)
    {
        lock (_lock)
        {
            _running = false;
            _exitCode = code;
            _process = null;
            FinishedUtc = DateTime.UtcNow;
        }
    }

    public void Resize(ushort rows, ushort cols)
    {
        ExecProcess? process;
        lock (_lock)
        {
            process = _running ? _process : null;
        }
        process?.Resize(rows, cols);
    }

    public ExecInspectResponse Inspect()
    {
        lock (_lock)
        {
            var cmd = Config.Cmd ?? [];
            return new ExecInspectResponse
            {
                ID = Id,
                ContainerID = ContainerId,
                Running = _running,
                ExitCode = _exitCode,
                Pid = _process?.Pid ?? 0,
                OpenStdin = Config.AttachStdin,
                OpenStdout = Config.AttachStdout,
                OpenStderr = Config.AttachStderr,
                DetachKeys = Config.DetachKeys ?? "",
                CanRemove = false,
                ProcessConfig = new ExecProcessConfig
                {
                    Tty = Config.Tty,
                    Entrypoint = cmd.Count > 0 ? cmd[0] : "",
                    Arguments = cmd.Skip(1).ToList(),
                    Privileged = Config.Privileged,
                    User = Config.User ?? "",
                },
            };
        }
    }
}

/// <summary>The daemon's exec instances; finished ones are forgotten after a while, as dockerd forgets them.</summary>
public sealed class ExecInstances
{
    private static readonly TimeSpan KeptAfterExit = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, ExecInstance> _byId = new(StringComparer.Ordinal);

    public ExecInstance Add(string containerId, ExecCreateRequest config)
    {
        var now = DateTime.UtcNow;
        foreach (var (key, old) in _byId)
        {
            if (old.FinishedUtc is { } f && now - f > KeptAfterExit)
            {
                _byId.TryRemove(key, out _);
            }
        }
        var exec = new ExecInstance(Skiff.Runtime.SkiffPaths.NewContainerId(), containerId, config);
        _byId[exec.Id] = exec;
        return exec;
    }

    /// <summary>By full id or a unique prefix, as dockerd looks them up; 404 otherwise.</summary>
    public ExecInstance Get(string id)
    {
        if (_byId.TryGetValue(id, out var exec))
        {
            return exec;
        }
        ExecInstance? found = null;
        foreach (var (key, e) in _byId)
        {
            if (id.Length > 0 && key.StartsWith(id, StringComparison.Ordinal))
            {
                if (found is not null)
                {
                    throw SkiffException.NotFound($"No such exec instance: {id}");
                }
                found = e;
            }
        }
        return found ?? throw SkiffException.NotFound($"No such exec instance: {id}");
    }
}
