namespace FalVideo.Fal;

/// <summary>The answer of a cancel (PROTOCOL.md "Cancel"): 202 <c>CANCELLATION_REQUESTED</c> or
/// 400 <c>ALREADY_COMPLETED</c>. A running job only gets a signal and may still finish.</summary>
public sealed class FalCancelResult
{
    /// <summary>fal's <c>status</c>, e.g. <c>CANCELLATION_REQUESTED</c> or <c>ALREADY_COMPLETED</c>.</summary>
    public required string Status { get; init; }

    /// <summary>True when fal accepted the cancellation (a 2xx answer); false when the job had already completed.</summary>
    public required bool Accepted { get; init; }

    /// <summary>The request the cancel was for.</summary>
    public required string RequestId { get; init; }
}
