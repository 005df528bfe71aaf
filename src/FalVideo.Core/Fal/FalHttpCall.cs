namespace FalVideo.Fal;

/// <summary>One logical HTTP call, replayable: the sender builds a fresh request message per attempt.</summary>
internal sealed class FalHttpCall
{
    public required HttpMethod Method { get; init; }

    public required Uri Url { get; init; }

    /// <summary>Adds <c>Authorization: Key …</c>; only for the queue and storage-initiate hosts (PROTOCOL.md "Authentication").</summary>
    public bool Authorize { get; init; }

    /// <summary>Creates the body for one attempt (a sent <see cref="HttpContent"/> cannot be reused).</summary>
    public Func<HttpContent>? Content { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public string Accept { get; init; } = "application/json";

    public FalRetryMode Retry { get; init; } = FalRetryMode.Idempotent;

    /// <summary>Leave a 2xx body unread for the caller (SSE). Non-2xx bodies are always read, capped.</summary>
    public bool StreamSuccessBody { get; init; }

    /// <summary>Reads a 2xx body inside the attempt (downloads), so a transfer that breaks is retried whole.</summary>
    public Func<HttpResponseMessage, CancellationToken, Task>? ConsumeSuccessBody { get; init; }

    /// <summary>Overrides <see cref="FalClientOptions.RequestTimeout"/> for this call (large uploads).</summary>
    public TimeSpan? AttemptTimeout { get; init; }

    /// <summary>Log the URL without its query (signed upload and CDN URLs).</summary>
    public bool HideQueryInLog { get; init; }
}
