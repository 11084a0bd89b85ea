using System.Text;
using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

public class AttachFramesTests
{
    private static async Task<MemoryStream> Frames(params (AttachStream Stream, string Text)[] frames)
    {
        var m = new MemoryStream();
        foreach (var (stream, text) in frames)
        {
            await AttachFrames.WriteAsync(m, stream, Encoding.UTF8.GetBytes(text));
        }
        m.Position = 0;
        return m;
    }

    [Fact]
    public async Task Demux_sorts_the_streams_and_returns_the_exit_code()
    {
        using var source = await Frames((AttachStream.Stdout, "out 1\n"), (AttachStream.Stderr, "err\n"), (AttachStream.Stdout, "out 2\n"), (AttachStream.Exit, "exit 3"));
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();

        int? code = await AttachFrames.DemuxAsync(source, stdout, stderr);

        Assert.Equal(3, code);
        Assert.Equal("out 1\nout 2\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("err\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public async Task A_stream_that_ends_without_the_exit_frame_gives_null()
    {
        using var source = await Frames((AttachStream.Stdout, "partial"));
        var stdout = new MemoryStream();

        Assert.Null(await AttachFrames.DemuxAsync(source, stdout, null));
        Assert.Equal("partial", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task A_frame_cut_in_the_middle_ends_the_stream()
    {
        using var whole = await Frames((AttachStream.Stdout, "0123456789"));
        using var cut = new MemoryStream(whole.ToArray()[..12]);

        Assert.Null(await new AttachFrameReader(cut).ReadAsync());
    }

    [Fact]
    public async Task Large_frames_are_read_whole()
    {
        string big = new('x', 100_000);
        using var source = await Frames((AttachStream.Stderr, big), (AttachStream.Exit, "exit 137"));
        var reader = new AttachFrameReader(source);

        var first = await reader.ReadAsync();
        Assert.Equal(AttachStream.Stderr, first!.Value.Stream);
        Assert.Equal(100_000, first.Value.Payload.Length);
        Assert.Equal(137, (await reader.ReadAsync())!.Value.ExitCode);
    }
}
