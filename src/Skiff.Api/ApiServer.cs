using System.Runtime;
using Skiff.Api.Http;

namespace Skiff.Api;

/// <summary>`skiff serve`: the Docker Engine API on a listener until stopped; the socket file goes with it.</summary>
public sealed class ApiServer
{
    /// <summary>How long without a request before the heap a burst left behind is given back.</summary>
    public static readonly TimeSpan IdleTrimAfter = TimeSpan.FromSeconds(5);

    private readonly DockerApi _api;
    private readonly HttpServer _http;

    public ApiServer(Daemon daemon, ApiListener listener)
    {
        _api = new DockerApi(daemon);
        _http = new HttpServer(_api.HandleAsync);
        Listener = listener;
    }

    public ApiListener Listener { get; }

    public int OpenConnections => _http.OpenConnections;

    /// <summary>Serves until <paramref name="stopping"/> fires; then stops accepting and removes the socket.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var trim = TrimWhenIdleAsync(stopping);
        try
        {
            await _http.ServeAsync(Listener.Socket, stopping);
        }
        finally
        {
            Listener.Dispose();
        }
        await trim;
    }

    /// <summary>
    /// A daemon idles most of its life: once requests stop, an aggressive collection hands
    /// the garbage of the last burst back to the system, so idle RSS stays what it was at start.
    /// </summary>
    private async Task TrimWhenIdleAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(IdleTrimAfter);
        long seen = _api.Requests;
        bool dirty = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                long now = _api.Requests;
                if (now != seen)
                {
                    seen = now;
                    dirty = true;
                }
                else if (dirty && OpenConnections == 0)
                {
                    dirty = false;
                    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
