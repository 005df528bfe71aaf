namespace FalVideo.Emulator;

/// <summary>
/// Status strings of fal's queue (PROTOCOL.md, "Status"). A failed or cancelled job is still
/// <see cref="Completed"/>; it carries <see cref="EmulatedJob.Error"/> instead of a video.
/// </summary>
public static class JobStatus
{
    /// <summary>Waiting for a runner slot; the status carries <c>queue_position</c>.</summary>
    public const string InQueue = "IN_QUEUE";

    /// <summary>A runner slot is working on it.</summary>
    public const string InProgress = "IN_PROGRESS";

    /// <summary>Finished: with a video, or with <c>error</c> and <c>error_type</c>.</summary>
    public const string Completed = "COMPLETED";
}

/// <summary>
/// An immutable snapshot of one emulated job, taken when it was read. Times are UTC; durations are seconds.
/// </summary>
public sealed class EmulatedJob
{
    internal EmulatedJob(
        string requestId, string endpointId, string appId, string input, string status, int? queuePosition,
        DateTimeOffset submittedAt, DateTimeOffset? startedAt, DateTimeOffset? completedAt, double runSeconds,
        string? error, string? errorType, bool cancelRequested, DateTimeOffset observedAt)
    {
        RequestId = requestId;
        EndpointId = endpointId;
        AppId = appId;
        Input = input;
        Status = status;
        QueuePosition = queuePosition;
        SubmittedAt = submittedAt;
        StartedAt = startedAt;
        CompletedAt = completedAt;
        RunSeconds = runSeconds;
        Error = error;
        ErrorType = errorType;
        CancelRequested = cancelRequested;
        ObservedAt = observedAt;
    }

    /// <summary>The <c>request_id</c> returned by submit (a UUID).</summary>
    public string RequestId { get; }

    /// <summary>The full endpoint id the job was submitted to, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</summary>
    public string EndpointId { get; }

    /// <summary>The <c>[namespace/]owner/alias</c> part that status, result and cancel URLs use.</summary>
    public string AppId { get; }

    /// <summary>The request body exactly as received (JSON text).</summary>
    public string Input { get; }

    /// <summary>One of the <see cref="JobStatus"/> values.</summary>
    public string Status { get; }

    /// <summary>Requests ahead of this one; only set while <see cref="JobStatus.InQueue"/>.</summary>
    public int? QueuePosition { get; }

    /// <summary>When the submit was accepted.</summary>
    public DateTimeOffset SubmittedAt { get; }

    /// <summary>When a runner slot took the job; null while queued or when cancelled in the queue.</summary>
    public DateTimeOffset? StartedAt { get; }

    /// <summary>Set once <see cref="Status"/> is <see cref="JobStatus.Completed"/>.</summary>
    public DateTimeOffset? CompletedAt { get; }

    /// <summary>Seconds the job runs once started (the option or the prompt's <c>[emulator:seconds=N]</c>).</summary>
    public double RunSeconds { get; }

    /// <summary>fal's <c>error</c> text of a failed or cancelled job.</summary>
    public string? Error { get; }

    /// <summary>fal's <c>error_type</c>, e.g. <c>runner_disconnected</c>, or <c>cancelled</c> for a job cancelled in the queue.</summary>
    public string? ErrorType { get; }

    /// <summary>A cancel arrived while the job ran; the emulator lets such jobs finish (fal only signals the runner).</summary>
    public bool CancelRequested { get; }

    /// <summary>The emulator clock's time when this snapshot was taken.</summary>
    public DateTimeOffset ObservedAt { get; }

    /// <summary>Size in bytes of the video a successful job serves: the embedded sample's, or the size a
    /// <c>[emulator:video-mb=N]</c> marker asked for (the sample padded with zero bytes).</summary>
    public long VideoBytes { get; internal init; }

    /// <summary>True when the job completed with a video.</summary>
    public bool Succeeded => Status == JobStatus.Completed && Error is null;
}
