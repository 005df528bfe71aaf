using System.Net;

namespace FalVideo.Fal;

/// <summary>The status codes fal uses that .NET Framework's <see cref="HttpStatusCode"/> has no name for.</summary>
internal static class FalHttpStatus
{
    /// <summary>422: fal's input validation error (PROTOCOL.md "Errors").</summary>
    public const HttpStatusCode UnprocessableEntity = (HttpStatusCode)422;

    /// <summary>429: rate limited or over the concurrency limit (PROTOCOL.md "Errors").</summary>
    public const HttpStatusCode TooManyRequests = (HttpStatusCode)429;
}
