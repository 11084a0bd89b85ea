using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Skiff.Oci;
using Skiff.Oci.Seccomp;

namespace Skiff.Engine.Seccomp;

/// <summary>
/// Compiled seccomp programs kept on disk, so `run` does not compile Docker's profile
/// every time. A file is named by a hash of the profile as it will be compiled (rules,
/// arch, compiler build) and holds that profile's bytes too: a hit is an exact match,
/// never a hash collision. Files are written to a temporary name and renamed in; one that
/// does not check out (truncated, corrupt, another build's) is ignored and rewritten.
/// </summary>
public sealed class SeccompCache(string? directory)
{
    private static ReadOnlySpan<byte> Magic => "SKBPF001"u8;
    private static int _writes;
    private const int HeaderLength = 8 + 4 + 4 + 4 + 8;

    /// <summary>Where the programs live (DIR/seccomp), or null when caching is off.</summary>
    public string? Directory { get; } = directory is null ? null : Path.Combine(directory, "seccomp");

    /// <summary>What the last Compile did, for tests and measurements.</summary>
    public CacheOutcome LastOutcome { get; private set; }

    public enum CacheOutcome { None, Hit, Miss, Corrupt, Uncached }

    public SeccompProgram Compile(LinuxSeccomp profile)
    {
        byte[] key = Canonical(profile);
        if (Directory is null)
        {
            LastOutcome = CacheOutcome.Uncached;
            return CompileNow(profile);
        }
        string path = Path.Combine(Directory, Fnv(key, 0).ToString("x16", CultureInfo.InvariantCulture) + ".bpf");
        switch (TryRead(path, key, out var cached))
        {
            case CacheOutcome.Hit:
                LastOutcome = CacheOutcome.Hit;
                return cached!;
            case var outcome:
                LastOutcome = outcome;
                var program = CompileNow(profile);
                TryWrite(path, key, program);
                return program;
        }
    }

    private static SeccompProgram CompileNow(LinuxSeccomp profile)
    {
        var program = SeccompCompiler.Compile(profile);
        if (program.NeedsListener)
        {
            throw SkiffException.Unavailable("seccomp: SCMP_ACT_NOTIFY (a seccomp listener) is not supported by skiff yet");
        }
        return program;
    }

    private static CacheOutcome TryRead(string path, byte[] key, out SeccompProgram? program)
    {
        program = null;
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return CacheOutcome.Miss;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return CacheOutcome.Corrupt;
        }
        var span = file.AsSpan();
        if (span.Length < HeaderLength || !span[..8].SequenceEqual(Magic))
        {
            return CacheOutcome.Corrupt;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        int keyLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        int filterLength = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(span[20..]);
        if (keyLength < 0 || filterLength <= 0 || filterLength % 8 != 0 || (long)HeaderLength + keyLength + filterLength != span.Length)
        {
            return CacheOutcome.Corrupt;
        }
        var body = span[HeaderLength..];
        if (Fnv(body, flags) != checksum)
        {
            return CacheOutcome.Corrupt;
        }
        if (!body[..keyLength].SequenceEqual(key))
        {
            return CacheOutcome.Miss; // another profile with the same name hash: compile and take the slot
        }
        program = new SeccompProgram(body[keyLength..].ToArray(), flags, false);
        return CacheOutcome.Hit;
    }

    /// <summary>Best effort: a cache that cannot be written only costs the next run a compile.</summary>
    private void TryWrite(string path, byte[] key, SeccompProgram program)
    {
        var file = new byte[HeaderLength + key.Length + program.Filter.Length];
        var span = file.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], program.Flags);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], key.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], program.Filter.Length);
        key.CopyTo(span[HeaderLength..]);
        program.Filter.CopyTo(span[(HeaderLength + key.Length)..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[20..], Fnv(span[HeaderLength..], program.Flags));
        string tmp = $"{path}.{Environment.ProcessId}.{Interlocked.Increment(ref _writes)}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory!);
            File.WriteAllBytes(tmp, file);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(tmp);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // nothing more to do for a cache
            }
        }
    }

    /// <summary>
    /// Everything the compiled program depends on, as bytes: the rules in order, this
    /// host's arch and the compiler's build. Written by hand, not as JSON: it runs on
    /// every `run`.
    /// </summary>
    public static byte[] Canonical(LinuxSeccomp p)
    {
        var w = new KeyWriter();
        try
        {
            w.Text(CompilerStamp);
            w.Text(DockerSeccomp.NativeArch);
            w.Text(p.DefaultAction);
            w.Number(p.DefaultErrnoRet ?? ulong.MaxValue);
            w.List(p.Architectures);
            w.List(p.Flags);
            w.Text(p.ListenerPath);
            var rules = p.Syscalls ?? [];
            w.Number((ulong)rules.Count);
            foreach (var r in rules)
            {
                w.Text(r.Action);
                w.Number(r.ErrnoRet ?? ulong.MaxValue);
                w.List(r.Names);
                var args = r.Args ?? [];
                w.Number((ulong)args.Count);
                foreach (var a in args)
                {
                    w.Number(a.Index);
                    w.Number(a.Value);
                    w.Number(a.ValueTwo);
                    w.Text(a.Op);
                }
            }
            return w.ToArray();
        }
        finally
        {
            w.Dispose();
        }
    }

    /// <summary>
    /// Which compiler made a program: the executable, by path, modification time and size (a new
    /// build of skiff is a new compiler, and its first run compiles afresh). Not the module's
    /// version id: reading it is reflection over module metadata, a cost on every `run`.
    /// </summary>
    private static readonly string CompilerStamp = Stamp();

    private static string Stamp()
    {
        string exe = Environment.ProcessPath ?? "";
        if (exe.Length == 0)
        {
            return "unknown";
        }
        try
        {
            var info = new FileInfo(exe);
            return string.Create(CultureInfo.InvariantCulture, $"{exe}@{info.LastWriteTimeUtc.Ticks}@{info.Length}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return exe;
        }
    }

    /// <summary>FNV-1a, 64 bits, seeded: no crypto library on the hot path (loading OpenSSL costs milliseconds).</summary>
    public static ulong Fnv(ReadOnlySpan<byte> data, ulong seed)
    {
        ulong h = 14695981039346656037UL ^ (seed * 1099511628211UL);
        foreach (byte b in data)
        {
            h = (h ^ b) * 1099511628211UL;
        }
        return h;
    }

    /// <summary>Length-prefixed fields into a pooled buffer.</summary>
    private struct KeyWriter : IDisposable
    {
        private byte[] _buffer;
        private int _length;

        public KeyWriter()
        {
            _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            _length = 0;
        }

        private Span<byte> Reserve(int n)
        {
            if (_length + n > _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + n));
                _buffer.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            return _buffer.AsSpan(_length, n);
        }

        public void Number(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), v);
            _length += 8;
        }

        public void Text(string? s)
        {
            if (s is null)
            {
                Number(ulong.MaxValue);
                return;
            }
            int max = Encoding.UTF8.GetMaxByteCount(s.Length);
            var span = Reserve(8 + max);
            int n = Encoding.UTF8.GetBytes(s, span[8..]);
            BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)n);
            _length += 8 + n;
        }

        public void List(List<string>? items)
        {
            if (items is null)
            {
                Number(ulong.MaxValue);
                return;
            }
            Number((ulong)items.Count);
            foreach (var s in items)
            {
                Text(s);
            }
        }

        public readonly byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

        public void Dispose()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }
    }
}
