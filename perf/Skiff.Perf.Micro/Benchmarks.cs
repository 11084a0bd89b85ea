using System.Formats.Tar;
using BenchmarkDotNet.Attributes;
using Skiff.Cli.CommandLine;
using Skiff.Images;
using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Perf.Micro;

/// <summary>`skiff run`'s flags parsed the way the CLI does, for a short and a long command line.</summary>
[MemoryDiagnoser]
public class CommandLineParsing
{
    // The same flags `skiff run` declares (RunCommand.Flags is private to the CLI).
    private static readonly FlagSpec[] RunFlags =
    [
        FlagSpec.Bool("rm", FlagSpec.NoShort, "remove"),
        FlagSpec.Bool("interactive", 'i', "stdin"),
        FlagSpec.Bool("tty", 't', "tty"),
        FlagSpec.List("env", 'e', "list", "env"),
        FlagSpec.Value("workdir", 'w', "string", "workdir"),
        FlagSpec.Value("user", 'u', "string", "user"),
        FlagSpec.Value("hostname", 'h', "string", "hostname"),
        FlagSpec.Value("network", FlagSpec.NoShort, "string", "network"),
        FlagSpec.Value("rootfs", FlagSpec.NoShort, "DIR", "rootfs"),
        FlagSpec.Value("entrypoint", FlagSpec.NoShort, "string", "entrypoint"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "help"),
    ];

    private readonly string[] _short = ["--rm", "--network", "none", "--rootfs", "/var/lib/rootfs", "/bin/true"];
    private readonly string[] _long =
    [
        "--rm", "-it", "-e", "A=1", "-e", "B=2", "--env=C=3", "-w", "/srv", "-u", "1000:1000", "-h", "box",
        "--network=host", "--rootfs", "/var/lib/rootfs", "sh", "-c", "echo hello",
    ];

    [Benchmark(Baseline = true)]
    public ParsedArgs RunShort() => FlagParser.Parse(RunFlags, _short);

    [Benchmark]
    public ParsedArgs RunLong() => FlagParser.Parse(RunFlags, _long);
}

/// <summary>A container spec lowered to its launch plan, then laid out in native memory for the child.</summary>
[MemoryDiagnoser]
public class LaunchPlans
{
    private ContainerSpec _spec = null!;
    private ContainerSpec _specWithEnv = null!;
    private LaunchPlan _plan = null!;
    private readonly ContainerDirectory _dir = new("/run/user/1000/skiff/containers/0123456789ab");
    private readonly IdMapping _mapping = new(IdMapMode.Subordinate,
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)], [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)]);
    private readonly ContainerUser _user = new(0, 0, [0], "/root");

    [GlobalSetup]
    public void Setup()
    {
        _spec = new ContainerSpec
        {
            Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            Layers = ["/home/user/.local/share/skiff/layers/abc/diff"],
            Args = ["/bin/true"],
            Remove = true,
        };
        _specWithEnv = _spec with { Env = [.. Enumerable.Range(0, 16).Select(i => $"VAR_{i}=value-{i}")], Tty = true, TerminalRows = 50, TerminalCols = 200 };
        _plan = LaunchPlanLowering.Lower(_spec, _dir, _mapping, _user);
    }

    [Benchmark(Baseline = true)]
    public LaunchPlan Lower() => LaunchPlanLowering.Lower(_spec, _dir, _mapping, _user);

    [Benchmark]
    public LaunchPlan LowerWith16EnvAndTty() => LaunchPlanLowering.Lower(_specWithEnv, _dir, _mapping, _user, ptySocketFd: 5);

    /// <summary>The plan the child reads: one block of unmanaged memory, pointers and all (allocated and freed here).</summary>
    [Benchmark]
    public unsafe nint NativeLayout()
    {
        using var native = new NativeLaunchPlan(_plan);
        return (nint)native.Plan;
    }
}

/// <summary>
/// The overlay root with N lower layers: the managed side builds the op and lays the layer list out for the
/// child, which hands each to fsconfig("lowerdir+"), so this is where overlay options are built in C#.
/// </summary>
[MemoryDiagnoser]
public class OverlayOptions
{
    private string[] _layers = [];

    [Params(1, 8, 64)]
    public int Layers { get; set; }

    [GlobalSetup]
    public void Setup() =>
        _layers = [.. Enumerable.Range(0, Layers).Select(i => $"/home/user/.local/share/skiff/layers/{i:x64}/diff")];

    [Benchmark]
    public unsafe nint BuildAndLayOut()
    {
        var plan = new LaunchPlan();
        plan.Ops.Add(LaunchOp.Overlay(_layers, "/run/c/upper", "/run/c/work", "/run/c/rootfs", LaunchOpFlags.UserXattr | LaunchOpFlags.Volatile));
        using var native = new NativeLaunchPlan(plan);
        return (nint)native.Plan;
    }
}

/// <summary>A blob's digest checked as a pull checks it: read through a hashing stream, then compared.</summary>
[MemoryDiagnoser]
public class DigestVerification
{
    private byte[] _blob = [];
    private Digest _expected;

    [Params(1 << 20, 16 << 20)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _blob = new byte[Bytes];
        new Random(42).NextBytes(_blob);
        _expected = Digest.Of(_blob);
    }

    [Benchmark]
    public bool Verify()
    {
        using var hashing = new HashingStream(new MemoryStream(_blob, writable: false));
        hashing.CopyTo(Stream.Null, 81920);
        return hashing.Digest() == _expected;
    }
}

/// <summary>
/// Tar headers, as skiff's unpacker reads them: a layer shaped like busybox's (400 applet symlinks, a few
/// directories and files, 4 KiB each) unpacked into tmpfs, so the cost is per entry, not per byte.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(16)]
public class TarHeaders
{
    private byte[] _layer = [];
    private string _scratch = "";
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var dir in new[] { "bin/", "etc/", "usr/", "usr/bin/" })
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir) { Mode = (UnixFileMode)0b111_101_101 });
            var data = new byte[4096];
            for (int i = 0; i < 16; i++)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"etc/file{i}") { Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(data) });
            for (int i = 0; i < 400; i++)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/applet{i}") { LinkName = "busybox" });
        }
        _layer = buffer.ToArray();
        // tmpfs, so the disk stays out of a benchmark of header handling.
        _scratch = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"skiff-micro-{Environment.ProcessId}");
        Directory.CreateDirectory(_scratch);
    }

    [IterationCleanup]
    public void Empty()
    {
        foreach (var dir in Directory.EnumerateDirectories(_scratch))
            Directory.Delete(dir, recursive: true);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_scratch, recursive: true);

    [Benchmark]
    public long Unpack420Entries()
    {
        string root = Path.Combine(_scratch, (_next++).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root);
        using var stream = new MemoryStream(_layer, writable: false);
        return LayerUnpacker.Unpack(stream, root, new UnpackOptions { IgnoreOwners = true }).Entries;
    }
}

/// <summary>
/// What `skiff run IMAGE` reads before it can lower a launch plan: the image index to resolve the name, then the
/// image's small launch record (layer directories and runtime defaults), from a store in tmpfs.
/// </summary>
[MemoryDiagnoser]
public class LaunchRecordLoading
{
    private const string Name = "skiff-perf/busybox:latest";
    private string _root = "";
    private ImageStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _root = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"skiff-micro-store-{Environment.ProcessId}");
        string tarball = _root + ".tar";
        using (var file = File.Create(tarball))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0b111_101_101, DataStream = new MemoryStream(new byte[4096]) });
        }
        _store = new ImageStore(_root, new UnpackOptions { IgnoreOwners = true });
        ImageImport.Import(_store, tarball, [ImageReference.Parse(Name)], ["CMD [\"/bin/sh\"]", "ENV A=1"], null);
        File.Delete(tarball);
    }

    [GlobalCleanup]
    public void Cleanup() => TreeRemover.Remove(_root);

    [Benchmark]
    public LaunchRecord ResolveAndRead() => _store.ReadLaunch(_store.Resolve(Name));
}
