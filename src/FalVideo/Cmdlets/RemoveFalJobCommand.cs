using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Forgets jobs in the local job store.</para>
/// <para type="description">Removes every record of the chosen jobs: those submitted before -Before, those whose
/// last recorded status is one of -Status (both together: both must match; -Machine and -User narrow them to the jobs
/// submitted from those machines by those users), or the jobs piped in (e.g. from Get-FalJob).
/// Only the local store changes: nothing is cancelled or deleted at fal (Stop-FalJob cancels). A job still InQueue or
/// InProgress can no longer be resumed once forgotten. -Before and -Status go through the store in bounded memory and
/// never hold other writers (a parallel batch writing ahead) back for more than a moment: the SQLite store deletes a few
/// hundred jobs per transaction, a JSON Lines journal is rewritten as a stream and renamed over the old one in one step.
/// -WhatIf and -Confirm say how many jobs would go. A piped job the store does not know is an error (FalJobNotFound).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "FalJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = FilterSet)]
[OutputType(typeof(FalJob))]
public sealed class RemoveFalJobCommand : PSCmdlet
{
    private const string FilterSet = "Filter";
    private const string ByJobSet = "ByJob";
    private static readonly FalJobStatus[] s_open = [FalJobStatus.Unknown, FalJobStatus.InQueue, FalJobStatus.InProgress];
    private readonly List<FalJob> _piped = new();

    /// <summary>Forgets jobs submitted before this time (local time unless the value says otherwise).</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public DateTime? Before { get; set; }

    /// <summary>Forgets jobs whose last recorded status is one of these (e.g. Completed,Failed,Cancelled; Unknown for
    /// ambiguous submissions).</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public FalJobStatus[]? Status { get; set; }

    /// <summary>Narrows -Before and -Status to the jobs submitted from these machines (FalJob.Machine). Wildcards
    /// allowed, case-insensitive; several names match any of them. Jobs recorded before machines were kept have none,
    /// and only * matches them.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? Machine { get; set; }

    /// <summary>Narrows -Before and -Status to the jobs submitted by these users (FalJob.User). Wildcards allowed,
    /// case-insensitive; several names match any of them. Jobs recorded before users were kept have none, and only *
    /// matches them.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? User { get; set; }

    /// <summary>Jobs to forget, from Get-FalJob or the New-*Video cmdlets. Matched by request id (by journal id for an
    /// ambiguous submission, which has none).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByJobSet)]
    public FalJob[]? Job { get; set; }

    /// <summary>Emits each job that was forgotten. With -Before or -Status the matching jobs are read first, so memory
    /// then grows with their number.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (ParameterSetName != FilterSet) return;
        if (Before is null && Status is null)
        {
            // Forgetting the whole store by accident would lose every resumable job.
            // -Machine and -User only narrow: alone they would forget every job of a machine or user, resumable ones too.
            const string message = "Say which jobs to forget: -Before <date>, -Status <status> (-Machine and -User narrow them), or pipe jobs in (Get-FalJob ... | Remove-FalJob).";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.NoJobFilter, message, null, new ArgumentException(message)));
        }
        var filter = new JobFilter(Before is { } b ? new DateTimeOffset(b) : null, Status, JobOwnerFilter.Of(Machine, User));
        var store = Store;
        var count = Guarded(store, () => store.Count(filter));
        if (count == 0)
        {
            WriteVerbose($"No job in {store.FilePath} is {filter}.");
            return;
        }
        var open = Guarded(store, () => store.Count(filter with { Statuses = (Status ?? s_open).Intersect(s_open).ToArray() }));
        var warning = open > 0
            ? $" ({open} of them Unknown, InQueue or InProgress, which can no longer be resumed once forgotten; fal is not contacted)"
            : " (fal is not contacted)";
        if (!ShouldProcess($"{count} job(s) {filter} in {store.FilePath}", $"Forget {count} job(s){warning}")) return;
        if (PassThru)
        {
            // The jobs to emit are the jobs removed: read them, then forget exactly those.
            var listed = Guarded(store, () => filter.OwnerCondition is { } owners ? store.ReadJobsOf(owners, Status, WriteWarning)
                    : Status is null ? store.ReadJobs(WriteWarning) : store.ReadJobsByStatus(Status, WriteWarning))
                .Where(j => filter.Matches(j.Status, j.SubmittedAt == default ? DateTimeOffset.MinValue : j.SubmittedAt, j.Machine, j.User)).ToList();
            Forget(store, listed);
            WriteObject(listed, enumerateCollection: true);
            return;
        }
        var progress = new ProgressRecord(1, "Remove-FalJob", $"Forgetting {count} job(s) in {store.FilePath}");
        var forgotten = Guarded(store, () => store.Prune(filter, done =>
        {
            progress.PercentComplete = (int)Math.Min(100, done * 100 / count);
            WriteProgress(progress);
        }));
        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
        WriteVerbose($"Forgot {forgotten} job(s) {filter} in {store.FilePath}.");
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName != ByJobSet) return;
        foreach (var job in Job ?? [])
        {
            if (string.IsNullOrEmpty(job.RequestId) && string.IsNullOrEmpty(job.JournalId))
            {
                const string message = "This job has neither a request id nor a journal id; it can't be matched to the job store's records.";
                WriteError(ErrorRecords.Create(FalErrorIds.JobNotInJournal, message, job, new ArgumentException(message)));
                continue;
            }
            _piped.Add(job);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_piped.Count == 0) return;
        var store = Store;
        // One look-up for all piped jobs: the JSON Lines journal answers it with one read.
        var unknown = new HashSet<FalJob>(Guarded(store, () => store.FindUnknown(_piped)));
        var chosen = new List<FalJob>();
        foreach (var job in _piped)
        {
            if (unknown.Contains(job))
            {
                var message = $"The job store {store.FilePath} has no record of {Name(job)}; nothing was forgotten for it.";
                WriteError(ErrorRecords.Create(FalErrorIds.JobNotFound, message, job, new ItemNotFoundException(message)));
                continue;
            }
            var warning = job.Status is FalJobStatus.InQueue or FalJobStatus.InProgress
                ? $"; it is {job.Status} and can no longer be resumed once forgotten (fal is not contacted)"
                : " (fal is not contacted)";
            if (ShouldProcess(Name(job), $"Forget in the job store{warning}")) chosen.Add(job);
        }
        if (chosen.Count == 0) return;
        Forget(store, chosen);
        if (PassThru) WriteObject(chosen, enumerateCollection: true);
    }

    private static IJobStore Store => FalSettings.Current.Journal;

    private static string Name(FalJob job) =>
        string.IsNullOrEmpty(job.RequestId) ? $"{job.Label()} (ambiguous submission to {job.EndpointId} at {job.SubmittedAt:u})" : $"{job.Label()} (request {job.RequestId}, {job.EndpointId})";

    private void Forget(IJobStore store, List<FalJob> jobs)
    {
        var removed = Guarded(store, () => store.Remove(jobs));
        WriteVerbose($"Removed {removed} entries of {jobs.Count} job(s) from {store.FilePath}.");
    }

    /// <summary>Runs a store operation; a store that can't be read or written ends the command with an error naming it.</summary>
    private T Guarded<T>(IJobStore store, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, $"The job store {store.FilePath} was not changed: {ex.Message}",
                store.FilePath, ex));
            throw; // not reached: ThrowTerminatingError throws
        }
    }
}
