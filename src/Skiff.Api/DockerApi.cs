using System.Text.Json;
using Skiff.Api.Endpoints;
using Skiff.Api.Http;
using Skiff.Api.Routing;

namespace Skiff.Api;

/// <summary>
/// The Docker Engine API: the route table and what every call shares (the daemon's
/// headers, errors as {"message"} with a status from the error's category).
///
/// Adding endpoints: write a static class in Endpoints/ with
/// <c>public static void Map(Router routes, Daemon daemon)</c> that registers its routes
/// (<c>routes.Post("/containers/{id}/start", c => Start(c))</c>), and call it from
/// <see cref="Routes"/>. A handler throws SkiffException for errors (NotFound is 404,
/// Conflict and AlreadyExists 409, InvalidArgument 400, anything else 500); once it has
/// started a stream, errors must travel inside it.
/// </summary>
public sealed class DockerApi
{
    private readonly Router _router;
    private readonly Daemon _daemon;
    private readonly string _server;
    private long _requests;

    public DockerApi(Daemon daemon)
    {
        _daemon = daemon;
        _router = Routes(daemon);
        _server = "skiff/" + daemon.Version;
    }

    public static Router Routes(Daemon daemon)
    {
        var routes = new Router();
        SystemEndpoints.Map(routes, daemon);
        ImageEndpoints.Map(routes, daemon);
        ContainerEndpoints.Map(routes, daemon);
        ExecEndpoints.Map(routes, daemon);
        VolumeEndpoints.Map(routes, daemon);
        EventEndpoints.Map(routes, daemon);
        DiskUsageEndpoints.Map(routes, daemon);
        return routes;
    }

    /// <summary>Requests handled so far (the idle trim watches it).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public async Task HandleAsync(HttpRequest request, HttpResponse response)
    {
        Interlocked.Increment(ref _requests);
        // dockerd sends these on every answer; the CLI reads API-Version and OSType from any of them.
        response.Headers.Set("Api-Version", ApiVersion.Current);
        response.Headers.Set("Docker-Experimental", "false");
        response.Headers.Set("Ostype", "linux");
        response.Headers.Set("Server", _server);

        var match = _router.Match(request.Method, request.RawPath)
                    ?? (request.IsHead ? _router.Match("GET", request.RawPath) : null);
        if (match is null)
        {
            await ErrorAsync(response, 404, "page not found");
            return;
        }
        var context = new ApiContext(request, response, match, _daemon);
        try
        {
            await match.Handler(context);
        }
        catch (Exception e) when (!response.Started && Classify(e) is var (status, message))
        {
            await ErrorAsync(response, status, message);
            // A request body the handler gave up on may still be arriving: do not read it as the next request.
            if (!request.Body.Completed)
            {
                response.CloseConnection = true;
            }
        }
    }

    /// <summary>The status and message of a failure the client should see; null for a connection that broke.</summary>
    public static (int Status, string Message)? Classify(Exception e) => e switch
    {
        BadHttpRequestException b => (b.Status, b.Message),
        SkiffException s => (StatusOf(s.Category), s.Message),
        JsonException j => (400, "invalid JSON: " + j.Message),
        OperationCanceledException or IOException { InnerException: System.Net.Sockets.SocketException } => null,
        UnauthorizedAccessException u => (500, "permission denied: " + u.Message),
        _ => (500, e.Message),
    };

    public static int StatusOf(ErrorCategory category) => category switch
    {
        ErrorCategory.NotFound => 404,
        ErrorCategory.Conflict or ErrorCategory.AlreadyExists => 409,
        ErrorCategory.InvalidArgument => 400,
        _ => 500,
    };

    private static Task ErrorAsync(HttpResponse response, int status, string message)
    {
        response.Status = status;
        return response.WriteAsync(HttpConnection.ErrorBody(message), "application/json");
    }
}
