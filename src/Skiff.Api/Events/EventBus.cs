using System.Threading.Channels;
using Skiff.Api.Json;

namespace Skiff.Api.Events;

/// <summary>
/// The daemon's events, in memory: endpoints publish what they do (create, start, kill,
/// destroy, exec_start, volume create, ...), subscribers (GET /events) get each one as it
/// happens, and the last few hundred stay for `since`. Nothing is kept across restarts,
/// as with dockerd's in-memory event log.
/// </summary>
public sealed class EventBus
{
    private const int Kept = 512;
    private readonly object _lock = new();
    private readonly EventMessage[] _recent = new EventMessage[Kept];
    private int _next;
    private int _count;
    private readonly List<Channel<EventMessage>> _subscribers = [];

    /// <summary>Subscribers right now (the exit watcher runs only while there are some).</summary>
    public int Subscribers
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>Raised (outside the lock) when the first subscriber arrives.</summary>
    public event Action? FirstSubscriber;

    /// <summary>Raised (outside the lock) for every event, after subscribers have it.</summary>
    public event Action<EventMessage>? Published;

    public void Publish(string type, string action, string id, Dictionary<string, string>? attributes = null, DateTimeOffset? at = null)
    {
        var now = at ?? DateTimeOffset.UtcNow;
        long nanos = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        var message = new EventMessage
        {
            Type = type,
            Action = action,
            Actor = new EventActor { ID = id, Attributes = attributes ?? [] },
            Time = nanos / 1_000_000_000,
            TimeNano = nanos,
        };
        if (type is "container" or "image")
        {
            // The fields of API < 1.22, which docker still prints from and Docker.DotNet still reads.
            message.Status = action;
            message.Id = id;
            message.From = message.Actor.Attributes.TryGetValue("image", out var image) ? image : null;
        }
        lock (_lock)
        {
            _recent[_next] = message;
            _next = (_next + 1) % Kept;
            _count = Math.Min(_count + 1, Kept);
            foreach (var s in _subscribers)
            {
                s.Writer.TryWrite(message);
            }
        }
        Published?.Invoke(message);
    }

    /// <summary>The events kept so far (oldest first) and every later one, until the subscription is disposed.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateUnbounded<EventMessage>(new UnboundedChannelOptions { SingleReader = true });
        List<EventMessage> past;
        bool first;
        lock (_lock)
        {
            past = new List<EventMessage>(_count);
            for (int i = 0; i < _count; i++)
            {
                past.Add(_recent[(_next - _count + i + Kept) % Kept]);
            }
            _subscribers.Add(channel);
            first = _subscribers.Count == 1;
        }
        if (first)
        {
            FirstSubscriber?.Invoke();
        }
        return new Subscription(this, channel, past);
    }

    private void Unsubscribe(Channel<EventMessage> channel)
    {
        lock (_lock)
        {
            _subscribers.Remove(channel);
        }
        channel.Writer.TryComplete();
    }

    public sealed class Subscription(EventBus bus, Channel<EventMessage> channel, IReadOnlyList<EventMessage> past) : IDisposable
    {
        public IReadOnlyList<EventMessage> Past { get; } = past;

        public ChannelReader<EventMessage> Live => channel.Reader;

        public void Dispose() => bus.Unsubscribe(channel);
    }
}
