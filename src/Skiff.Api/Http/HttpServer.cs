using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Skiff.Api.Http;

/// <summary>
/// An HTTP/1.1 server on a listening socket (unix or TCP): an accept loop and one task per
/// connection. What a connection does, or how it ends, never reaches the loop or another
/// connection. Stopping ends the accept loop and closes the open connections.
/// </summary>
public sealed class HttpServer(RequestHandler handler)
{
    private readonly ConcurrentDictionary<HttpConnection, Task> _connections = new();

    /// <summary>Connections open right now (tests use it to see that a dropped client was cleaned up).</summary>
    public int OpenConnections => _connections.Count;

    public async Task ServeAsync(Socket listener, CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException e)
                {
                    // Out of descriptors, or a client that went before it was accepted: note it, breathe, go on.
                    if (e.SocketErrorCode is not (SocketError.ConnectionAborted or SocketError.ConnectionReset))
                    {
                        Console.Error.WriteLine($"skiff serve: accept: {e.Message}");
                        await Task.Delay(100, CancellationToken.None);
                    }
                    continue;
                }
                var connection = new HttpConnection(client);
                _connections[connection] = RunAsync(connection, stopping);
            }
        }
        finally
        {
            foreach (var c in _connections.Keys)
            {
                c.Close();
            }
        }
    }

    private async Task RunAsync(HttpConnection connection, CancellationToken stopping)
    {
        // Off the accept loop at once: a slow client never holds up the next accept.
        await Task.Yield();
        try
        {
            await connection.RunAsync(handler, stopping);
        }
        catch (Exception e)
        {
            // A bug in a handler must not take the daemon down with it.
            Console.Error.WriteLine($"skiff serve: connection failed: {e}");
            connection.Close();
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }
}
