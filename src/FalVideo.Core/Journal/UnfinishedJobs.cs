using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// What "not finished for the user" means, in one place: what <c>Get-FalJob -Unfinished</c> lists and the resume
/// (<c>Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo</c>) picks up.
/// </summary>
public static class UnfinishedJobs
{
    private static readonly FalJobStatus[] s_open = [FalJobStatus.Unknown, FalJobStatus.InQueue, FalJobStatus.InProgress];
    private static readonly FalJobStatus[] s_completed = [FalJobStatus.Completed];

    /// <summary>
    /// The jobs a resume must pick up: every job with a request id that is queued, running
    /// or of unknown status, and every completed job whose save was asked for (<see cref="JobJournal.SaveRequestedEntry"/>)
    /// and never recorded as done. Ambiguous submissions (no request id) are left out: nothing at fal can be asked about
    /// them, so they are only counted. Open jobs come first, then the unsaved ones, each in the order first recorded.
    /// Both come from the store's status index (<see cref="IJobStore.ReadJobsByStatus"/>).
    /// </summary>
    /// <param name="store">The job store.</param>
    /// <param name="ambiguous">The number of ambiguous submissions left out.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    public static IReadOnlyList<FalJob> Read(IJobStore store, out int ambiguous, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var open = store.ReadJobsByStatus(s_open, warn);
        ambiguous = open.Count(j => string.IsNullOrEmpty(j.RequestId));
        var unsaved = store.ReadJobsByStatus(s_completed, warn).Where(IsUnsaved);
        return open.Where(j => !string.IsNullOrEmpty(j.RequestId)).Concat(unsaved).ToList();
    }

    /// <summary>True for a completed job whose save was asked for and has no <c>saved</c> record.</summary>
    /// <param name="job">A job as the store knows it.</param>
    public static bool IsUnsaved(FalJob job) =>
        job.Status == FalJobStatus.Completed && !string.IsNullOrEmpty(job.SaveDirectory) && string.IsNullOrEmpty(job.SavedPath);
}
