using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Copies job history from one job store to another: the embedded store and a shared PostgreSQL store, either way.</para>
/// <para type="description">Reads every job of -From and writes those -To has no record of (matched by request id, or
/// by journal id for a submission without one), each with its latest known state: status, prompt, input, idempotency
/// key, URLs, save folder, saved file and submitter (Machine, User). Jobs -To already has are left as they are, so a
/// second run copies nothing.
/// -From and -To each take a file (jobs.db, or a .jsonl journal) or a PostgreSQL connection string; either one left out
/// is the store in effect (Get-FalConfiguration). Nothing is sent to fal. -WhatIf says how many jobs would be copied.
/// The password of a connection string is never shown.</para>
/// </summary>
[Cmdlet(VerbsCommon.Copy, "FalJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJobCopyResult))]
public sealed class CopyFalJobCommand : PSCmdlet
{
    /// <summary>The store to read: a file path or a PostgreSQL connection string; default the store in effect.</summary>
    [Parameter(Position = 0)]
    public string? From { get; set; }

    /// <summary>The store to write: a file path or a PostgreSQL connection string; default the store in effect.</summary>
    [Parameter(Position = 1)]
    public string? To { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (string.IsNullOrWhiteSpace(From) && string.IsNullOrWhiteSpace(To))
        {
            const string message = "Say where to copy from or to: -From <store> and/or -To <store> (a file or a PostgreSQL connection string); the other one is the store in effect.";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.Configuration, message, null, new FalConfigurationException(message)));
        }
        var from = OpenStore(From);
        var to = OpenStore(To);
        if (string.Equals(from.FilePath, to.FilePath, StringComparison.Ordinal))
        {
            var message = $"-From and -To are the same store ({from.FilePath}): nothing to copy.";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.Configuration, message, from.FilePath, new FalConfigurationException(message)));
        }
        IReadOnlyList<FalJob> jobs;
        IReadOnlyList<FalJob> missing;
        try
        {
            JobStore.Verify(from);
            jobs = from.ReadJobs(WriteWarning);
            JobStore.Verify(to);
            missing = jobs.Count == 0 ? [] : to.FindUnknown(jobs);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, ex.Message, null, ex, FalErrorCategory.ReadError));
            return;
        }
        WriteVerbose($"{jobs.Count} job(s) in {from.FilePath}; {missing.Count} of them not in {to.FilePath}.");
        var result = new FalJobCopyResult { From = from.FilePath, To = to.FilePath, Read = jobs.Count, AlreadyThere = jobs.Count - missing.Count };
        if (missing.Count > 0 && !ShouldProcess(to.FilePath, $"Copy {missing.Count} job(s) from {from.FilePath}"))
            return;
        if (missing.Count > 0)
        {
            try { result.Copied = to.Import(Records(missing)) > 0 ? missing.Count : 0; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, ex.Message, to.FilePath, ex));
            }
        }
        WriteObject(result);
    }

    /// <summary>Each job as the entries that rebuild its latest state: its submission (everything known of it, with its
    /// status) and, when its video was saved, the save.</summary>
    private static IEnumerable<JournalRecord> Records(IEnumerable<FalJob> jobs)
    {
        foreach (var job in jobs)
        {
            yield return JobJournal.Capture(string.IsNullOrEmpty(job.RequestId) ? JobJournal.AmbiguousEntry : "submitted", job);
            if (!string.IsNullOrEmpty(job.SavedPath)) yield return JobJournal.Capture("saved", job, job.SavedPath);
        }
    }

    private IJobStore OpenStore(string? setting)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(setting)) return FalSettings.Current.Journal;
            return PostgresConnection.IsConnectionString(setting)
                ? JobStore.OpenShared(setting!)
                : JobStore.Open(SessionState.Path.GetUnresolvedProviderPathFromPSPath(setting));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            // The message never holds a password.
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.Configuration, ex.Message, null, new FalConfigurationException(ex.Message)));
            throw;
        }
    }
}

/// <summary>What <c>Copy-FalJob</c> did: the stores (a file, or <c>postgresql://user@host:port/database</c> without the
/// password) and job counts.</summary>
public sealed class FalJobCopyResult
{
    /// <summary>The store read.</summary>
    public string From { get; init; } = "";
    /// <summary>The store written.</summary>
    public string To { get; init; } = "";
    /// <summary>Jobs read from <see cref="From"/>.</summary>
    public int Read { get; init; }
    /// <summary>Jobs written to <see cref="To"/>.</summary>
    public int Copied { get; set; }
    /// <summary>Jobs <see cref="To"/> already had, left as they were.</summary>
    public int AlreadyThere { get; init; }
}
