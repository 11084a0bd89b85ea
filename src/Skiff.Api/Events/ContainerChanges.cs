using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Api.Events;

/// <summary>
/// Tells waiters at once when a container's state changes, instead of at their next poll:
/// one inotify instance for the daemon, watching ROOT/containers (a container removed is
/// its directory renamed away, and a tombstone appearing) and the directory of each
/// container someone waits on (the supervisor renames a new state.json into place). The
/// store stays the truth: a change only ends a pause early, the waiter then looks. If
/// inotify cannot be had, pauses simply last their time.
/// </summary>
public sealed partial class ContainerChanges : IDisposable
{
    private const int IN_CLOEXEC = 0x80000;
    private const uint IN_CLOSE_WRITE = 0x8, IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200,
        IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_IGNORED = 0x8000, IN_ONLYDIR = 0x1000000;

    /// <summary>How much longer than the poll interval a pause may last when changes are watched.</summary>
    private const int Slack = 4;

    private readonly string _root;
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _byWatch = [];
    private int _fd = -2;
    private int _rootWatch = -1;

    /// <param name="containersDir">ROOT/containers.</param>
    public ContainerChanges(string containersDir) => _root = containersDir;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int inotify_add_watch(int fd, string path, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_rm_watch(int fd, int wd);

    private sealed class Entry
    {
        public int Watch = -1;
        public int Users;
        public TaskCompletionSource Pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Watches one container until disposed; its Pause is what ContainerWait waits with.</summary>
    public Watcher Watch(string id, string dir)
    {
        lock (_lock)
        {
            Start();
            if (!_byId.TryGetValue(id, out var entry))
            {
                _byId[id] = entry = new Entry();
                if (_fd >= 0)
                {
                    entry.Watch = inotify_add_watch(_fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
                    if (entry.Watch >= 0)
                    {
                        _byWatch[entry.Watch] = id;
                    }
                }
            }
            entry.Users++;
            return new Watcher(this, id);
        }
    }

    private void Release(string id)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var entry) || --entry.Users > 0)
            {
                return;
            }
            _byId.Remove(id);
            if (entry.Watch >= 0)
            {
                _byWatch.Remove(entry.Watch);
                inotify_rm_watch(_fd, entry.Watch);
            }
        }
    }

    private Task PulseOf(string id)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(id, out var entry) ? entry.Pulse.Task : Task.CompletedTask;
        }
    }

    private void Signal(string id)
    {
        TaskCompletionSource? old = null;
        lock (_lock)
        {
            if (_byId.TryGetValue(id, out var entry))
            {
                old = entry.Pulse;
                entry.Pulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
        old?.TrySetResult();
    }

    /// <summary>The inotify instance and its reader thread, on first use (under the lock).</summary>
    private void Start()
    {
        if (_fd != -2)
        {
            return;
        }
        _fd = inotify_init1(IN_CLOEXEC);
        if (_fd < 0)
        {
            return;
        }
        Directory.CreateDirectory(_root);
        _rootWatch = inotify_add_watch(_fd, _root, IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR);
        new Thread(Read) { IsBackground = true, Name = "container-changes" }.Start();
    }

    private unsafe void Read()
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                n = Interop.Libc.ReadRetry(_fd, p, buffer.Length);
            }
            if (n <= 0)
            {
                return;
            }
            var touched = new HashSet<string>(StringComparer.Ordinal);
            for (int at = 0; at + 16 <= n;)
            {
                int wd = BitConverter.ToInt32(buffer, at);
                uint mask = BitConverter.ToUInt32(buffer, at + 4);
                int length = (int)BitConverter.ToUInt32(buffer, at + 12);
                string name = length == 0 ? "" : Encoding.UTF8.GetString(buffer, at + 16, length).TrimEnd('\0');
                at += 16 + length;
                if (wd == _rootWatch)
                {
                    // ID (renamed away on removal) or .removed-ID (its tombstone).
                    touched.Add(name.StartsWith(".removed-", StringComparison.Ordinal) ? name[".removed-".Length..] : name);
                    continue;
                }
                lock (_lock)
                {
                    if (_byWatch.TryGetValue(wd, out var id))
                    {
                        touched.Add(id);
                        if ((mask & IN_IGNORED) != 0)
                        {
                            _byWatch.Remove(wd);
                        }
                    }
                }
            }
            foreach (var id in touched)
            {
                Signal(id);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_fd >= 0)
            {
                // The reader's read fails on the closed fd and it ends.
                Interop.Libc.close(_fd);
                _fd = -1;
            }
        }
    }

    /// <summary>One waiter's view of a container's changes.</summary>
    public sealed class Watcher(ContainerChanges changes, string id) : IDisposable
    {
        private int _disposed;

        /// <summary>Up to a few times the poll interval, or until the container's files change.</summary>
        public async Task Pause(TimeSpan interval, CancellationToken cancel)
        {
            var changed = changes.PulseOf(id);
            if (changes._fd < 0)
            {
                await Task.Delay(interval, cancel).ConfigureAwait(false);
                return;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var elapsed = Task.Delay(interval * Slack, timeout.Token);
            await Task.WhenAny(changed, elapsed).ConfigureAwait(false);
            timeout.Cancel();
            cancel.ThrowIfCancellationRequested();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                changes.Release(id);
            }
        }
    }
}
