using System.Buffers;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Skiff.Perf;

/// <summary>
/// An OCI bundle for the runtime scenario: a copy of the busybox rootfs and a config.json shaped like
/// `runc spec` (pid, network, ipc, uts and mount namespaces; proc, dev, devpts, shm, mqueue, sysfs;
/// masked and read-only paths; three capabilities; no-new-privileges), running /bin/true, read-only root.
/// The cgroup mount and device rules are left out, so crun with --cgroup-manager=disabled and runc do
/// the same work apart from runc's own cgroup.
/// </summary>
internal static class OciBundle
{
    public static string Ensure(Spawner spawner, string busyboxRootfs, string dir)
    {
        string rootfs = Path.Combine(dir, "rootfs");
        string stamp = Path.Combine(dir, ".stamp");
        string want = File.ReadAllText(Path.Combine(busyboxRootfs, Rootfs.StampFile)) + " config-v1";
        if (File.Exists(stamp) && File.ReadAllText(stamp) == want)
            return dir;
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        // cp -a keeps the relative applet symlinks as they are.
        var (sample, _, err) = spawner.Capture("/bin/cp", "-a", busyboxRootfs, rootfs);
        if (!sample.Succeeded)
            throw new InvalidOperationException($"cp -a {busyboxRootfs} {rootfs}: {sample.Outcome}: {err.Trim()}");
        File.WriteAllText(Path.Combine(dir, "config.json"), Config(rootfs));
        File.WriteAllText(stamp, want);
        return dir;
    }

    private static string Config(string rootfs)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            string[] caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
            w.WriteStartObject();
            w.WriteString("ociVersion", "1.0.2");
            w.WriteStartObject("process");
            w.WriteBoolean("terminal", false);
            w.WriteStartObject("user");
            w.WriteNumber("uid", 0);
            w.WriteNumber("gid", 0);
            w.WriteEndObject();
            Strings(w, "args", "/bin/true");
            Strings(w, "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            w.WriteString("cwd", "/");
            w.WriteStartObject("capabilities");
            foreach (var set in new[] { "bounding", "effective", "permitted" })
                Strings(w, set, caps);
            w.WriteEndObject();
            w.WriteStartArray("rlimits");
            w.WriteStartObject();
            w.WriteString("type", "RLIMIT_NOFILE");
            w.WriteNumber("hard", 1024);
            w.WriteNumber("soft", 1024);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteBoolean("noNewPrivileges", true);
            w.WriteEndObject();
            w.WriteStartObject("root");
            w.WriteString("path", rootfs);
            w.WriteBoolean("readonly", true);
            w.WriteEndObject();
            w.WriteString("hostname", "skiff-perf");
            w.WriteStartArray("mounts");
            Mount(w, "/proc", "proc", "proc");
            Mount(w, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
            Mount(w, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
            Mount(w, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
            Mount(w, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
            Mount(w, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
            w.WriteEndArray();
            w.WriteStartObject("linux");
            w.WriteStartArray("namespaces");
            foreach (var ns in new[] { "pid", "network", "ipc", "uts", "mount" })
            {
                w.WriteStartObject();
                w.WriteString("type", ns);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Strings(w, "maskedPaths", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi");
            Strings(w, "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Strings(Utf8JsonWriter w, string name, params string[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Mount(Utf8JsonWriter w, string destination, string type, string source, params string[] options)
    {
        w.WriteStartObject();
        w.WriteString("destination", destination);
        w.WriteString("type", type);
        w.WriteString("source", source);
        if (options.Length > 0)
            Strings(w, "options", options);
        w.WriteEndObject();
    }
}

/// <summary>Gzip tar layers and a one-layer OCI image, written by the harness so every machine unpacks the same bytes.</summary>
internal static class Layers
{
    private const int Seed = 20261128;
    private const string Version = "synthetic-v1";
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A deterministic layer like a language runtime's: about 45 MiB in 2,600 files over 120
    /// directories, mostly text-like (gzip gets ~3×, as on real layers) plus some incompressible
    /// blobs and symlinks. Returns the .tar.gz path and the bytes it unpacks to.
    /// </summary>
    public static (string Blob, long Bytes) EnsureSynthetic(string cacheDir)
    {
        string blob = Path.Combine(cacheDir, "layer-synthetic.tar.gz");
        string stamp = blob + ".stamp";
        if (File.Exists(stamp) && File.ReadAllText(stamp).Split(' ') is [Version, var cached] && File.Exists(blob))
            return (blob, long.Parse(cached, System.Globalization.CultureInfo.InvariantCulture));

        Directory.CreateDirectory(cacheDir);
        var random = new Random(Seed);
        string[] words = [.. Enumerable.Range(0, 4096).Select(_ => Word(random))];
        long total = 0;
        string tmp = blob + ".tmp";
        using (var file = File.Create(tmp))
        using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false))
        {
            var dirs = new List<string>();
            for (int d = 0; d < 120; d++)
            {
                string parent = d < 8 ? "usr/lib/perf" : dirs[random.Next(dirs.Count)];
                string dir = $"{parent}/d{d:000}";
                dirs.Add(dir);
            }
            foreach (var dir in new[] { "usr", "usr/lib", "usr/lib/perf" }.Concat(dirs))
                tar.WriteEntry(Entry(TarEntryType.Directory, dir + "/", (UnixFileMode)0b111_101_101));

            var buffer = new byte[1 << 20];
            for (int f = 0; f < 2600; f++)
            {
                // Log-spread sizes, 64 B to 1 MiB, most of them small as in real layers.
                int size = (int)Math.Min(buffer.Length, 64 * Math.Pow(2, random.NextDouble() * random.NextDouble() * 14.5));
                bool binary = f % 10 == 0;
                if (binary)
                    random.NextBytes(buffer.AsSpan(0, size));
                else
                    FillText(buffer.AsSpan(0, size), random, words);
                var entry = Entry(TarEntryType.RegularFile, $"{dirs[random.Next(dirs.Count)]}/f{f:0000}{(binary ? ".so" : ".py")}",
                    binary ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100);
                entry.DataStream = new MemoryStream(buffer, 0, size, writable: false);
                tar.WriteEntry(entry);
                total += size;
                if (f % 50 == 0)
                {
                    var link = Entry(TarEntryType.SymbolicLink, $"{dirs[random.Next(dirs.Count)]}/l{f:0000}", (UnixFileMode)0b111_111_111);
                    link.LinkName = $"f{f:0000}";
                    tar.WriteEntry(link);
                }
            }
        }
        File.Move(tmp, blob, overwrite: true);
        File.WriteAllText(stamp, $"{Version} {total}");
        return (blob, total);
    }

    /// <summary>The busybox rootfs as a gzip tarball (owners 0:0, fixed mtimes), for `import`; cached beside the rootfs.</summary>
    public static string EnsureBusyboxTarball(string rootfs, string cacheDir)
    {
        string path = Path.Combine(cacheDir, "busybox.tar.gz");
        string stamp = path + ".stamp";
        string want = File.ReadAllText(Path.Combine(rootfs, Rootfs.StampFile)) + " tarball-v1";
        if (File.Exists(stamp) && File.ReadAllText(stamp) == want && File.Exists(path))
            return path;
        var (_, gz) = BusyboxLayer(rootfs);
        File.WriteAllBytes(path, gz);
        File.WriteAllText(stamp, want);
        return path;
    }

    private static (byte[] Tar, byte[] Gz) BusyboxLayer(string rootfs)
    {
        byte[] tarBytes;
        using (var raw = new MemoryStream())
        {
            using (var tar = new TarWriter(raw, TarEntryFormat.Pax, leaveOpen: true))
                AddTree(tar, rootfs, "");
            tarBytes = raw.ToArray();
        }
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(tarBytes);
        return (tarBytes, compressed.ToArray());
    }

    /// <summary>The busybox rootfs as one gzip layer of a minimal OCI image layout (for the loopback registry).</summary>
    public static string EnsureBusyboxImage(string rootfs, string cacheDir)
    {
        string layout = Path.Combine(cacheDir, "oci-busybox");
        string stamp = Path.Combine(layout, ".stamp");
        string want = File.ReadAllText(Path.Combine(rootfs, Rootfs.StampFile)) + " image-v1";
        if (File.Exists(stamp) && File.ReadAllText(stamp) == want)
            return layout;
        if (Directory.Exists(layout))
            Directory.Delete(layout, recursive: true);
        string blobs = Path.Combine(layout, "blobs", "sha256");
        Directory.CreateDirectory(blobs);

        // The diff ID is the digest of the uncompressed tar; the layer digest that of the gzip stream.
        var (tarBytes, gz) = BusyboxLayer(rootfs);
        string diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tarBytes));
        var layer = WriteBlob(blobs, gz);
        var config = WriteBlob(blobs, Json(w =>
        {
            w.WriteString("architecture", "amd64");
            w.WriteString("os", "linux");
            w.WriteStartObject("config");
            w.WriteStartArray("Env");
            w.WriteStringValue("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            w.WriteEndArray();
            w.WriteStartArray("Cmd");
            w.WriteStringValue("/bin/sh");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            w.WriteStringValue(diffId);
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        var manifest = WriteBlob(blobs, Json(w =>
        {
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", "application/vnd.oci.image.manifest.v1+json");
            Descriptor(w, "config", "application/vnd.oci.image.config.v1+json", config);
            w.WriteStartArray("layers");
            Descriptor(w, null, "application/vnd.oci.image.layer.v1.tar+gzip", layer);
            w.WriteEndArray();
        }));
        File.WriteAllBytes(Path.Combine(layout, "index.json"), Json(w =>
        {
            w.WriteNumber("schemaVersion", 2);
            w.WriteStartArray("manifests");
            w.WriteStartObject();
            w.WriteString("mediaType", "application/vnd.oci.image.manifest.v1+json");
            w.WriteString("digest", manifest.Digest);
            w.WriteNumber("size", manifest.Size);
            w.WriteStartObject("annotations");
            w.WriteString("org.opencontainers.image.ref.name", "latest");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        }));
        File.WriteAllText(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(stamp, want);
        return layout;
    }

    private static void AddTree(TarWriter tar, string root, string relative)
    {
        string dir = Path.Combine(root, relative);
        foreach (var path in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (relative.Length == 0 && name == Rootfs.StampFile)
                continue;
            string rel = relative.Length == 0 ? name : $"{relative}/{name}";
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                var link = Entry(TarEntryType.SymbolicLink, rel, (UnixFileMode)0b111_111_111);
                link.LinkName = target;
                tar.WriteEntry(link);
            }
            else if (info.Attributes.HasFlag(FileAttributes.Directory))
            {
                tar.WriteEntry(Entry(TarEntryType.Directory, rel + "/", info.UnixFileMode));
                AddTree(tar, root, rel);
            }
            else
            {
                var entry = Entry(TarEntryType.RegularFile, rel, info.UnixFileMode);
                using var data = File.OpenRead(path);
                entry.DataStream = data;
                tar.WriteEntry(entry);
            }
        }
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, UnixFileMode mode) =>
        new(type, name) { Mode = mode, Uid = 0, Gid = 0, ModificationTime = Epoch };

    private static void FillText(Span<byte> span, Random random, string[] words)
    {
        int at = 0;
        while (at < span.Length)
        {
            // Zipf-ish word choice: a few words are common, as in source code.
            string word = words[(int)(words.Length * Math.Pow(random.NextDouble(), 3))];
            for (int i = 0; i < word.Length && at < span.Length; i++)
                span[at++] = (byte)word[i];
            if (at < span.Length)
                span[at++] = random.Next(12) == 0 ? (byte)'\n' : (byte)' ';
        }
    }

    private static string Word(Random random)
    {
        Span<char> chars = stackalloc char[random.Next(2, 11)];
        for (int i = 0; i < chars.Length; i++)
            chars[i] = (char)('a' + random.Next(26));
        return new string(chars);
    }

    private readonly record struct Blob(string Digest, long Size);

    private static Blob WriteBlob(string blobs, byte[] bytes)
    {
        string hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
        return new Blob("sha256:" + hex, bytes.Length);
    }

    private static void Descriptor(Utf8JsonWriter w, string? property, string mediaType, Blob blob)
    {
        if (property is null) w.WriteStartObject(); else w.WriteStartObject(property);
        w.WriteString("mediaType", mediaType);
        w.WriteString("digest", blob.Digest);
        w.WriteNumber("size", blob.Size);
        w.WriteEndObject();
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// Debian's docker-registry on 127.0.0.1 with a throw-away config and storage, seeded with the busybox
/// image by skopeo. Only loopback: nothing leaves the machine.
/// </summary>
internal sealed class LoopbackRegistry : IDisposable
{
    private readonly Process _process;

    private LoopbackRegistry(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Reference(string repository) => $"127.0.0.1:{Port}/{repository}";

    public static LoopbackRegistry Start(string registryBinary, string dir)
    {
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        int port = FreePort();
        string config = Path.Combine(dir, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
        var start = new ProcessStartInfo(registryBinary, ["serve", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {registryBinary}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var registry = new LoopbackRegistry(process, port);
        var deadline = Stopwatch.StartNew();
        while (!registry.Answers())
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                registry.Dispose();
                throw new InvalidOperationException($"docker-registry did not come up on 127.0.0.1:{port}");
            }
            Thread.Sleep(50);
        }
        return registry;
    }

    private bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            using var stream = client.GetStream();
            stream.Write("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"u8);
            var buffer = new byte[32];
            int n = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("HTTP/1.", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}
