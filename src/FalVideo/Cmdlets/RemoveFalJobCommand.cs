using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Forgets jobs in the local job journal.</para>
/// <para type="description">Removes every journal entry of the chosen jobs: those submitted before -Before, those whose
/// last recorded status is one of -Status (both together: both must match), or the jobs piped in (e.g. from Get-FalJob).
/// Only the local journal changes: nothing is cancelled or deleted at fal (Stop-FalJob cancels). A job still InQueue or
/// InProgress can no longer be resumed from the journal once forgotten. The journal is rewritten safely: a new file is
/// written beside it and renamed over it in one step, under the journal's lock, so a crash or a parallel runbook loses
/// nothing. Use -WhatIf to see what would go.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "FalJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = FilterSet)]
[OutputType(typeof(FalJob))]
public sealed class RemoveFalJobCommand : PSCmdlet
{
    private const string FilterSet = "Filter";
    private const string ByJobSet = "ByJob";
    private readonly List<FalJob> _chosen = new();

    /// <summary>Forgets jobs submitted before this time (local time unless the value says otherwise).</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public DateTime? Before { get; set; }

    /// <summary>Forgets jobs whose last recorded status is one of these (e.g. Completed,Failed,Cancelled; Unknown for
    /// ambiguous submissions).</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public FalJobStatus[]? Status { get; set; }

    /// <summary>Jobs to forget, from Get-FalJob or the New-*Video cmdlets. Matched by request id (by journal id for an
    /// ambiguous submission, which has none).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByJobSet)]
    public FalJob[]? Job { get; set; }

    /// <summary>Emits each job that was forgotten.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (ParameterSetName != FilterSet) return;
        if (Before is null && Status is null)
        {
            // Forgetting the whole journal by accident would lose every resumable job.
            const string message = "Say which jobs to forget: -Before <date>, -Status <status>, or pipe jobs in (Get-FalJob ... | Remove-FalJob).";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.NoJobFilter, message, null, new ArgumentException(message)));
        }
        DateTimeOffset? before = Before is { } b ? new DateTimeOffset(b) : null;
        foreach (var job in Journal.ReadJobs(WriteWarning))
        {
            if (before is { } limit && job.SubmittedAt >= limit) continue;
            if (Status is not null && !Status.Contains(job.Status)) continue;
            Consider(job);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName != ByJobSet) return;
        foreach (var job in Job ?? [])
        {
            if (string.IsNullOrEmpty(job.RequestId) && string.IsNullOrEmpty(job.JournalId))
            {
                const string message = "This job has neither a request id nor a journal id; it can't be matched to journal entries.";
                WriteError(ErrorRecords.Create(FalErrorIds.JobNotInJournal, message, job, new ArgumentException(message)));
                continue;
            }
            Consider(job);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_chosen.Count == 0) return;
        var journal = Journal;
        try
        {
            var removed = journal.Remove(_chosen);
            WriteVerbose($"Removed {removed} entries of {_chosen.Count} job(s) from {journal.FilePath}.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, $"The job journal {journal.FilePath} was not changed: {ex.Message}",
                journal.FilePath, ex));
        }
        if (PassThru) WriteObject(_chosen, enumerateCollection: true);
    }

    private static IJobStore Journal => FalSettings.Current.Journal;

    private void Consider(FalJob job)
    {
        var name = string.IsNullOrEmpty(job.RequestId) ? $"ambiguous submission to {job.EndpointId} at {job.SubmittedAt:u}" : $"{job.RequestId} ({job.EndpointId})";
        var warning = job.Status is FalJobStatus.InQueue or FalJobStatus.InProgress
            ? $"; it is {job.Status} and can no longer be resumed from the journal (fal is not contacted)"
            : " (fal is not contacted)";
        if (ShouldProcess(name, $"Forget in the job journal{warning}")) _chosen.Add(job);
    }
}
