using System.Diagnostics;
using System.Globalization;
using Skiff.Engine.Containers;
using Skiff.Runtime;

namespace Skiff.Tests.Containers;

/// <summary>
/// A container made by hand for the cp, top, pause and stats tests: a storage root under
/// /tmp, one layer directory, a definition and a state in a real ContainerStore, and
/// real processes (in their own namespaces, via unshare) standing in for its main process.
/// </summary>
internal sealed class TestContainer : IDisposable
{
    private readonly List<Process> _processes = [];

    private TestContainer(string root, ContainerStore store, ContainerDefinition def, string layer)
    {
        Root = root;
        Store = store;
        Definition = def;
        Layer = layer;
    }

    public string Root { get; }
    public ContainerStore Store { get; }
    public ContainerDefinition Definition { get; }
    public string Id => Definition.Id;
    public string Name => Definition.Name;
    /// <summary>The (only, read-only) layer: what the image holds.</summary>
    public string Layer { get; }
    public ContainerDirectory Dir => Store.Dir(Id);

    /// <summary>cp's mount holder for tests: a host program that parks (the test host is not skiff).</summary>
    public static readonly ContainerFilesystemOptions Holder = new() { HolderFile = "/bin/sleep", HolderArgv = ["sleep", "600"] };

    public static TestContainer Create(string name, Action<string>? layer = null, Action<ContainerDefinition>? configure = null)
    {
        string root = Directory.CreateTempSubdirectory("skiff-ctest-").FullName;
        string layerDir = Path.Combine(root, "layer");
        Directory.CreateDirectory(layerDir);
        layer?.Invoke(layerDir);
        var store = new ContainerStore(new SkiffPaths(Path.Combine(root, "store")));
        var def = new ContainerDefinition
        {
            Id = SkiffPaths.NewContainerId(),
            Name = name,
            Created = ContainerState.Now(),
            Path = "/bin/sh",
            Layers = [layerDir],
        };
        configure?.Invoke(def);
        store.Create(def);
        return new TestContainer(root, store, def, layerDir);
    }

    /// <summary>Starts a process that stands in for the container's main process and records it in state.json.</summary>
    public int Run(params string[] argv) => Start(argv).Id;

    /// <summary>Starts a process (stdin a pipe the test may write to) that is killed with the container.</summary>
    public Process Start(params string[] argv)
    {
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1))
        {
            start.ArgumentList.Add(a);
        }
        var p = Process.Start(start)!;
        _processes.Add(p);
        return p;
    }

    /// <summary>The first child of pid (unshare --fork's child is the container's "init").</summary>
    public static int ChildOf(int pid)
    {
        for (int i = 0; i < 500; i++)
        {
            string path = $"/proc/{pid}/task/{pid}/children";
            string text = File.Exists(path) ? File.ReadAllText(path).Trim() : "";
            if (text.Length > 0)
            {
                return int.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
            }
            Thread.Sleep(10);
        }
        throw new InvalidOperationException($"process {pid} has no child");
    }

    /// <summary>Waits until pid has n children (a shell that has started its commands).</summary>
    public static void WaitForChildren(int pid, int n)
    {
        for (int i = 0; i < 500; i++)
        {
            string path = $"/proc/{pid}/task/{pid}/children";
            if (File.Exists(path) && File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= n)
            {
                return;
            }
            Thread.Sleep(10);
        }
        throw new InvalidOperationException($"process {pid} did not start {n} children");
    }

    /// <summary>state.json says running, with pid as the main process and this test process as its supervisor.</summary>
    public void MarkRunning(int pid)
    {
        var state = new ContainerState
        {
            Status = "running",
            Pid = pid,
            PidStart = StartTime(pid),
            SupervisorPid = Environment.ProcessId,
            SupervisorStart = StartTime(Environment.ProcessId),
            StartedAt = ContainerState.Now(),
        };
        StateFile.Write(Dir.Path, state);
    }

    public void MarkExited()
    {
        var state = StateFile.Read(Dir.Path);
        state.Status = "exited";
        state.Pid = 0;
        StateFile.Write(Dir.Path, state);
    }

    public static ulong StartTime(int pid) => Skiff.Runtime.Oci.ProcessInfo.Read(pid)!.Value.StartTime;

    public static string Sh(string command)
    {
        var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{command}: {output}");
        return output;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
