using System.Management.Automation;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the current status, logs and result of fal requests.</para>
/// <para type="description">Reads fal's status (with logs) for a piped job or for a request id and endpoint id,
/// including requests submitted from another session; when the request has completed, fetches the result so the
/// job carries its video URL, and records the new state in the job journal. Without a job or request id, lists the
/// journal (latest recorded state of each request, oldest first) without contacting fal: filter with -Status, -Model,
/// -Since and -Last. Ambiguous submissions (fal may or may not have accepted them; no request id) are listed with
/// status Unknown. -Unfinished lists every job not finished for the user: queued, running or of unknown status at fal,
/// and completed jobs whose save was asked for but never recorded as done. To resume after a stop or a crash:
/// Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo (each video goes to the folder its save was asked for). Listings show only
/// the jobs sent to the current queue base URL's host (the emulator's jobs are not listed against fal, nor fal's against
/// the emulator); -AllHosts lists them all. -Machine and -User list the jobs submitted from those machines by those
/// users (wildcards), for a team sharing one job store. A request id alone is enough for a request the job store knows.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "FalJob", DefaultParameterSetName = ListSet)]
[OutputType(typeof(FalJob))]
public sealed class GetFalJobCommand : JobInputCommandBase
{
    private const string ListSet = "List";
    private const string UnfinishedSet = "Unfinished";

    /// <summary>Lists journal jobs whose last recorded status is one of these (e.g. Failed).</summary>
    [Parameter(ParameterSetName = ListSet)]
    public FalJobStatus[]? Status { get; set; }

    /// <summary>Lists the jobs not finished for the user, for the resume (Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo):
    /// queued, running or of unknown status at fal (with a request id), and completed jobs whose save was asked for but not recorded as done.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UnfinishedSet)]
    public SwitchParameter Unfinished { get; set; }

    /// <summary>Lists journal jobs of this catalog model (wildcards allowed).</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.ModelNameCompleter))]
    public string? Model { get; set; }

    /// <summary>Lists journal jobs submitted at or after this time (local time unless the value says otherwise).</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    public DateTime? Since { get; set; }

    /// <summary>Lists only the most recent N journal jobs.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    /// <summary>Lists the jobs of every fal host in the store. Without it, only the jobs sent to the current queue base URL's
    /// host are listed (a job recorded before hosts were kept counts as fal's own, queue.fal.run), so a rehearsal
    /// against the emulator never shows up in a resume against fal.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    public SwitchParameter AllHosts { get; set; }

    /// <summary>Lists only the jobs submitted from these machines (FalJob.Machine: the computer name of the process that
    /// submitted the job). Wildcards allowed, case-insensitive; several names match any of them. Jobs recorded before
    /// machines were kept have none, and only * matches them.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? Machine { get; set; }

    /// <summary>Lists only the jobs submitted by these users (FalJob.User: the user name of the process that submitted
    /// the job, without a domain). Wildcards allowed, case-insensitive; several names match any of them. Jobs recorded
    /// before users were kept have none, and only * matches them.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = UnfinishedSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? User { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName is ListSet or UnfinishedSet)
        {
            var scope = AllHosts ? null : ScopeQueueBaseUrl;
            var pattern = Model is null ? null : new WildcardPattern(Model, WildcardOptions.IgnoreCase);
            DateTimeOffset? since = Since is { } s ? new DateTimeOffset(s) : null;
            var store = Settings.FalSettings.Current.Journal;
            var owners = JobOwnerFilter.Of(Machine, User);
            IReadOnlyList<FalJob> listed;
            if (Unfinished)
            {
                var ambiguous = 0;
                listed = ReadStore(store, () => UnfinishedJobs.Read(store, out ambiguous, WriteWarning));
                // The store counts every host's and owner's; the warning counts what this listing covers. Ambiguous
                // submissions are rare, so they are read again only when there are some.
                if (ambiguous > 0 && (scope is not null || owners is not null))
                {
                    ambiguous = ReadStore(store, () => store.ReadJobsByStatus([FalJobStatus.Unknown], WriteWarning))
                        .Count(j => EarlierSubmissions.IsAmbiguous(j) && (scope is null || j.IsOnHost(scope)) && (owners is null || owners.Matches(j)));
                }
                if (ambiguous > 0)
                    WriteWarning($"{ambiguous} submission(s) are ambiguous (fal may or may not have accepted them; no request id), so nothing can resume them: " +
                                 "list them with Get-FalJob -Status Unknown, look for them in fal's dashboard, forget them with Remove-FalJob.");
            }
            else
            {
                // The store's status index answers -Status without reading every job.
                // -Machine/-User go into the store's query; without them the listing takes the paths it always did.
                listed = ReadStore(store, () => owners is not null ? store.ReadJobsOf(owners, Status, WriteWarning)
                    : Status is null ? store.ReadJobs(WriteWarning) : store.ReadJobsByStatus(Status, WriteWarning));
            }
            var jobs = listed
                .Where(j => scope is null || j.IsOnHost(scope))
                .Where(j => !Unfinished || owners is null || owners.Matches(j))
                .Where(j => pattern is null || pattern.IsMatch(j.Model))
                .Where(j => since is null || j.SubmittedAt >= since)
                .OrderBy(j => j.SubmittedAt)
                .ToList();
            WriteObject(Last is { } n ? jobs.Skip(Math.Max(0, jobs.Count - n)) : jobs, enumerateCollection: true);
            return;
        }
        foreach (var job in CurrentJobs())
        {
            if (string.IsNullOrEmpty(job.RequestId))
            {
                // An ambiguous submission: fal can't be asked about a request whose id was never received.
                WriteObject(job);
                continue;
            }
            try
            {
                var handle = job.ToHandle(ClientOptions.QueueBaseUrl);
                var status = Run(ct => Client.GetStatusAsync(handle, true, ct));
                job.Apply(status);
                if (job.Status == FalJobStatus.Completed)
                    job.Apply(Run(ct => Client.GetResultAsync(handle, ct)));
                job.LastError = null;
                Record("status", job);
                WriteObject(job);
            }
            catch (FalException ex)
            {
                WriteError(ToErrorRecord(ex, job, $"Request {job.RequestId}"));
            }
        }
    }
}
