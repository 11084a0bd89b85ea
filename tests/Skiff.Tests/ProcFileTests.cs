namespace Skiff.Tests;

public sealed class ProcFileTests
{
    [Fact]
    public void Reads_a_proc_file_whose_size_says_zero_to_its_end()
    {
        // mountinfo is often over one 4 KiB read, and stat reports its size as 0.
        Assert.Equal(File.ReadAllText("/proc/self/mountinfo").Split('\n')[0], ProcFile.ReadAllText("/proc/self/mountinfo").Split('\n')[0]);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/cap_last_cap"), ProcFile.ReadAllText("/proc/sys/kernel/cap_last_cap"));
    }

    [Fact]
    public void Reads_past_the_first_buffer()
    {
        string path = Path.Combine(Path.GetTempPath(), $"skiff-procfile-{Guid.NewGuid():N}");
        string text = string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}\n"));
        File.WriteAllText(path, text);
        try
        {
            Assert.Equal(text, ProcFile.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_file_is_null_or_FileNotFoundException()
    {
        Assert.Null(ProcFile.TryReadAllText("/proc/0/stat"));
        Assert.Throws<FileNotFoundException>(() => ProcFile.ReadAllText("/proc/self/no-such-file"));
    }
}

public sealed class SmallFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-smallfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WriteNew_refuses_an_existing_file_and_leaves_it_alone()
    {
        string path = Path.Combine(_dir, "a");
        SmallFile.WriteNew(path, "one"u8);
        Assert.Throws<IOException>(() => SmallFile.WriteNew(path, "two"u8));
        Assert.Equal("one", File.ReadAllText(path));
    }

    [Fact]
    public void Replace_swaps_the_whole_file_and_survives_a_stale_temporary()
    {
        string path = Path.Combine(_dir, "state.json");
        File.WriteAllText(path + ".tmp", "left by a crash");
        SmallFile.Replace(path, "first"u8);
        SmallFile.Replace(path, "second, longer"u8);
        Assert.Equal("second, longer", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Write_creates_then_overwrites_shorter()
    {
        string path = Path.Combine(_dir, "hosts");
        SmallFile.Write(path, "127.0.0.1 a long first line\n"u8);
        SmallFile.Write(path, "::1 b\n"u8);
        Assert.Equal("::1 b\n", File.ReadAllText(path));
    }

    [Fact]
    public void A_missing_directory_is_DirectoryNotFoundException()
    {
        Assert.Throws<DirectoryNotFoundException>(() => SmallFile.Replace(Path.Combine(_dir, "no", "x"), "x"u8));
    }
}
