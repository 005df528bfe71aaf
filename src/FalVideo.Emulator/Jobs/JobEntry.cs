namespace FalVideo.Emulator.Jobs;

/// <summary>The scheduler's mutable record of a job; only touched under the scheduler's lock.</summary>
internal sealed class JobEntry(
    string requestId, string endpointId, string appId, string input,
    double runSeconds, string? plannedFailure, DateTimeOffset submittedAt, long ticket)
{
    public string RequestId { get; } = requestId;
    public string EndpointId { get; } = endpointId;
    public string AppId { get; } = appId;
    public string Input { get; } = input;
    public double RunSeconds { get; } = runSeconds;
    public string? PlannedFailure { get; } = plannedFailure;
    public DateTimeOffset SubmittedAt { get; } = submittedAt;

    /// <summary>Place in the FIFO queue; queue positions are derived from it.</summary>
    public long Ticket { get; } = ticket;

    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>Planned end while running, actual end once <see cref="Completed"/>.</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>The size of the video a successful job serves, when <c>[emulator:video-mb=N]</c> set one.</summary>
    public long? VideoBytes { get; init; }

    public bool Completed { get; set; }
    public bool CancelledInQueue { get; set; }
    public bool CancelRequested { get; set; }
    public string? Error { get; set; }
    public string? ErrorType { get; set; }
}
