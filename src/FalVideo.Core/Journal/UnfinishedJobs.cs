using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// What "not finished for the user" means, in one place: what <c>Get-FalJob -Unfinished</c> lists and the resume
/// (<c>Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo</c>) picks up.
/// </summary>
public static class UnfinishedJobs
{
    /// <summary>
    /// The jobs a resume must pick up: every job with a request id that is queued, running
    /// or of unknown status, and every completed job whose save was asked for (<see cref="JobJournal.SaveRequestedEntry"/>)
    /// and never recorded as done. Ambiguous submissions (no request id) are left out: nothing at fal can be asked about
    /// them, so they are only counted. Open jobs come first, then the unsaved ones, each in the order first recorded.
    /// The store reads only those rows (<see cref="IJobStore.ReadUnfinished"/>).
    /// </summary>
    /// <param name="store">The job store.</param>
    /// <param name="ambiguous">The number of ambiguous submissions left out.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    public static IReadOnlyList<FalJob> Read(IJobStore store, out int ambiguous, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.ReadUnfinished(out ambiguous, warn);
    }

    /// <summary>True for a job a resume picks up: open with a request id, or <see cref="IsUnsaved"/>.</summary>
    /// <param name="job">A job as the store knows it.</param>
    public static bool IsResumable(FalJob job) =>
        (IsOpen(job) && !string.IsNullOrEmpty(job.RequestId)) || IsUnsaved(job);

    /// <summary>True for a job whose last known status is queued, running or unknown.</summary>
    /// <param name="job">A job as the store knows it.</param>
    public static bool IsOpen(FalJob job) => job.Status is FalJobStatus.Unknown or FalJobStatus.InQueue or FalJobStatus.InProgress;

    /// <summary>True for a completed job whose save was asked for and has no <c>saved</c> record.</summary>
    /// <param name="job">A job as the store knows it.</param>
    public static bool IsUnsaved(FalJob job) =>
        job.Status == FalJobStatus.Completed && !string.IsNullOrEmpty(job.SaveDirectory) && string.IsNullOrEmpty(job.SavedPath);
}
