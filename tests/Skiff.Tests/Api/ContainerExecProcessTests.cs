using System.Buffers.Binary;
using System.Text;
using Skiff.Api.Exec;

namespace Skiff.Tests.Api;

/// <summary>
/// The child an API exec runs, with a plain shell standing in for `skiff exec`: its stdio
/// as pipes (framed output) or a terminal (raw output, resizable), its exit code.
/// </summary>
public sealed class ContainerExecProcessTests
{
    /// <summary>A connection as the exec sees it: what the client sent, and what it writes back.</summary>
    private sealed class Connection(byte[] sent) : Stream
    {
        private readonly MemoryStream _in = new(sent);

        public MemoryStream Received { get; } = new();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (Received)
            {
                Received.Write(buffer, offset, count);
            }
        }
    }

    private static List<(int Stream, string Text)> Frames(byte[] data)
    {
        var frames = new List<(int, string)>();
        for (int at = 0; at < data.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at + 4));
            frames.Add((data[at], Encoding.UTF8.GetString(data, at + 8, length)));
            at += 8 + length;
        }
        return frames;
    }

    [Fact]
    public async Task Pipes_carry_stdin_in_and_stdout_and_stderr_out_as_frames_then_the_exit_code()
    {
        using var process = ExecProcess.Start(["/bin/sh", "-c", "read a; echo out $a; echo err >&2; exit 3"], tty: false, stdin: true, attached: true);
        var connection = new Connection("typed\n"u8.ToArray());

        int code = await process.RunAsync(connection, stdin: true, stdout: true, stderr: true).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3, code);
        var frames = Frames(connection.Received.ToArray());
        Assert.Equal("out typed\n", string.Concat(frames.Where(f => f.Stream == 1).Select(f => f.Text)));
        Assert.Equal("err\n", string.Concat(frames.Where(f => f.Stream == 2).Select(f => f.Text)));
    }

    [Fact]
    public async Task Without_stdin_the_child_reads_end_of_file_and_unwanted_streams_are_dropped()
    {
        using var process = ExecProcess.Start(["/bin/sh", "-c", "cat; echo done; echo hidden >&2"], tty: false, stdin: false, attached: true);
        var connection = new Connection("ignored\n"u8.ToArray());

        int code = await process.RunAsync(connection, stdin: false, stdout: true, stderr: false).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, code);
        Assert.Equal([(1, "done\n")], Frames(connection.Received.ToArray()));
    }

    [Fact]
    public async Task A_background_process_holding_the_output_does_not_hold_the_exec()
    {
        using var process = ExecProcess.Start(["/bin/sh", "-c", "sleep 30 & echo started"], tty: false, stdin: false, attached: true);
        var connection = new Connection([]);

        int code = await process.RunAsync(connection, stdin: false, stdout: true, stderr: true).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, code);
        Assert.Equal([(1, "started\n")], Frames(connection.Received.ToArray()));
    }

    [Fact]
    public async Task A_terminal_is_the_childs_controlling_one_raw_out_and_resized_by_the_client()
    {
        // SIGWINCH reaches the shell only as the terminal's foreground process: proof it is its controlling terminal.
        using var process = ExecProcess.Start(["/bin/sh", "-c", "stty size; trap 'stty size; exit 7' WINCH; echo ready; while true; do sleep 0.05; done"],
            tty: true, stdin: false, attached: true, rows: 24, cols: 80);
        var connection = new Connection([]);
        string Received()
        {
            lock (connection.Received)
            {
                return Encoding.UTF8.GetString(connection.Received.ToArray());
            }
        }

        var running = process.RunAsync(connection, stdin: false, stdout: true, stderr: true);
        for (int i = 0; i < 500 && !Received().Contains("ready"); i++)
        {
            await Task.Delay(10);
        }
        process.Resize(33, 77);
        int code = await running.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(7, code);
        // No frames with a terminal, and no \r added: the client's own terminal does that.
        Assert.Equal("24 80\nready\n33 77\n", Received());
    }

    [Fact]
    public async Task Detached_it_runs_on_its_own_and_its_exit_code_is_known_later()
    {
        string marker = Path.Combine(Path.GetTempPath(), "skiff-exec-" + Guid.NewGuid().ToString("N"));
        using var process = ExecProcess.Start(["/bin/sh", "-c", $"echo ran > {marker}; exit 4"], tty: false, stdin: false, attached: false);

        Assert.Equal(4, await process.Exited.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("ran\n", File.ReadAllText(marker));
        File.Delete(marker);
    }
}
