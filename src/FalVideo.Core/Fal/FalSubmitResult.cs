namespace FalVideo.Fal;

/// <summary>The answer of a submit: <c>request_id</c>, <c>status_url</c>, <c>response_url</c>, <c>cancel_url</c>,
/// often <c>status</c> and <c>queue_position</c> (PROTOCOL.md "Submit").</summary>
public sealed class FalSubmitResult
{
    /// <summary>The full endpoint id submitted to.</summary>
    public required string EndpointId { get; init; }

    /// <summary>fal's <c>request_id</c>.</summary>
    public required string RequestId { get; init; }

    /// <summary>The status URL to follow (from the response, or rebuilt when absent or on another host).</summary>
    public required Uri StatusUrl { get; init; }

    /// <summary>The result URL.</summary>
    public required Uri ResponseUrl { get; init; }

    /// <summary>The cancel URL.</summary>
    public required Uri CancelUrl { get; init; }

    /// <summary>The <c>status</c> field when present, usually <c>IN_QUEUE</c>.</summary>
    public string? Status { get; init; }

    /// <summary>Requests ahead of this one, when fal said.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>The same URLs as a storable <see cref="FalRequestHandle"/>.</summary>
    public required FalRequestHandle Handle { get; init; }
}
