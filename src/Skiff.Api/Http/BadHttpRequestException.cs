namespace Skiff.Api.Http;

/// <summary>
/// A request the server cannot read (malformed head, oversized header, broken chunked
/// body): answered with its status and the connection closed, since the byte stream can
/// no longer be trusted to hold a next request.
/// </summary>
public sealed class BadHttpRequestException(int status, string message) : IOException(message)
{
    public int Status { get; } = status;
}
