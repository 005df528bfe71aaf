namespace FalVideo.Fal;

/// <summary>Optional settings of a submit (PROTOCOL.md "Submit" and "Headers worth exposing").</summary>
public sealed class FalSubmitOptions
{
    /// <summary>Sent as <c>?fal_webhook=&lt;url&gt;</c>: fal POSTs the outcome there (PROTOCOL.md "Webhooks").
    /// Must be an absolute http(s) URL.</summary>
    public Uri? Webhook { get; set; }

    /// <summary><c>normal</c> (fal's default) or <c>low</c>; sent as <c>X-Fal-Queue-Priority</c>.</summary>
    public string? QueuePriority { get; set; }

    /// <summary>Seconds the job may wait before it STARTS; sent as <c>X-Fal-Request-Timeout</c>. On expiry fal
    /// answers 504 with <c>X-Fal-Request-Timeout-Type: user</c>, which is final.</summary>
    public int? StartTimeoutSeconds { get; set; }
}
