namespace Skiff.Perf;

/// <summary>
/// A busybox root filesystem built from the host's static busybox, so every system starts the
/// same /bin/true without pulling an image. Cached per user; rebuilt when the host busybox changes.
/// </summary>
internal static class Rootfs
{
    internal const string StampFile = ".skiff-perf-rootfs";
    private static readonly string[] BusyboxPaths = ["/bin/busybox", "/usr/bin/busybox"];

    public static string EnsureBusybox(Spawner spawner, string cacheRoot)
    {
        string busybox = BusyboxPaths.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("busybox not found (apt-get install -y busybox-static)");
        // A dynamically linked busybox cannot run inside a rootfs that holds nothing else.
        if (HasInterpreter(busybox))
            throw new InvalidOperationException($"{busybox} is dynamically linked (apt-get install -y busybox-static)");

        var info = new FileInfo(busybox);
        string stamp = $"{busybox} {info.Length} {info.LastWriteTimeUtc:O}";
        string dir = Path.Combine(cacheRoot, "rootfs-busybox");
        string stampPath = Path.Combine(dir, StampFile);
        if (File.Exists(stampPath) && File.ReadAllText(stampPath) == stamp)
            return dir;

        string staging = $"{dir}.tmp-{Environment.ProcessId}";
        Build(spawner, busybox, staging);
        File.WriteAllText(Path.Combine(staging, StampFile), stamp);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.Move(staging, dir);
        return dir;
    }

    private static void Build(Spawner spawner, string busybox, string root)
    {
        if (Directory.Exists(root))
            Directory.Delete(root, recursive: true);
        foreach (var sub in new[] { "bin", "proc", "sys", "dev", "etc", "tmp", "root", "usr", "run" })
            Directory.CreateDirectory(Path.Combine(root, sub));
        File.SetUnixFileMode(Path.Combine(root, "tmp"), Octal("1777"));

        string target = Path.Combine(root, "bin", "busybox");
        File.Copy(busybox, target);
        File.SetUnixFileMode(target, Octal("755"));

        // What `busybox --install -s` would do, but every applet in bin/ with a relative link,
        // so the tree works wherever it is mounted.
        var (sample, applets, stderr) = spawner.Capture(busybox, "--list");
        if (!sample.Succeeded)
            throw new InvalidOperationException($"{busybox} --list: {sample.Outcome}: {stderr.Trim()}");
        foreach (var applet in applets.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (applet != "busybox" && !applet.Contains('/'))
                File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        File.CreateSymbolicLink(Path.Combine(root, "sbin"), "bin");
        File.CreateSymbolicLink(Path.Combine(root, "usr", "bin"), "../bin");
        File.CreateSymbolicLink(Path.Combine(root, "usr", "sbin"), "../bin");

        File.WriteAllText(Path.Combine(root, "etc", "passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        File.WriteAllText(Path.Combine(root, "etc", "hostname"), "skiff-perf\n");
    }

    private static UnixFileMode Octal(string mode) => (UnixFileMode)Convert.ToInt32(mode, 8);

    /// <summary>True when the ELF file has a PT_INTERP program header, i.e. needs a dynamic loader.</summary>
    private static bool HasInterpreter(string path)
    {
        const uint PT_INTERP = 3;
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 /* 64-bit */)
            return false;
        var span = elf.AsSpan();
        long phoff = BitConverter.ToInt64(span[0x20..]);
        int phentsize = BitConverter.ToUInt16(span[0x36..]);
        int phnum = BitConverter.ToUInt16(span[0x38..]);
        for (int i = 0; i < phnum; i++)
        {
            long at = phoff + (long)i * phentsize;
            if (at + 4 <= elf.Length && BitConverter.ToUInt32(span[(int)at..]) == PT_INTERP)
                return true;
        }
        return false;
    }
}
