using System.Management.Automation;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets the current status, logs and result of fal requests.</para>
/// <para type="description">Reads fal's status (with logs) for a piped job or for a request id and endpoint id,
/// including requests submitted from another session; when the request has completed, fetches the result so the
/// job carries its video URL.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "FalJob", DefaultParameterSetName = ListSet)]
[OutputType(typeof(FalJob))]
public sealed class GetFalJobCommand : JobInputCommandBase
{
    private const string ListSet = "List";

    /// <summary>Lists journal jobs whose last recorded status is one of these (e.g. InQueue,InProgress to resume a batch).</summary>
    [Parameter(ParameterSetName = ListSet)]
    public FalJobStatus[]? Status { get; set; }

    /// <summary>Lists journal jobs of this catalog model (wildcards allowed).</summary>
    [Parameter(ParameterSetName = ListSet)]
    [SupportsWildcards]
    public string? Model { get; set; }

    /// <summary>Lists only the most recent N journal jobs.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == ListSet)
        {
            var pattern = Model is null ? null : new WildcardPattern(Model, WildcardOptions.IgnoreCase);
            var jobs = Settings.FalSettings.Current.Journal.ReadJobs(WriteWarning)
                .Where(j => Status is null || Status.Contains(j.Status))
                .Where(j => pattern is null || pattern.IsMatch(j.Model))
                .OrderBy(j => j.SubmittedAt)
                .ToList();
            WriteObject(Last is { } n ? jobs.Skip(Math.Max(0, jobs.Count - n)) : jobs, enumerateCollection: true);
            return;
        }
        foreach (var job in CurrentJobs())
        {
            try
            {
                var handle = job.ToHandle(ClientOptions.QueueBaseUrl);
                var status = Run(ct => Client.GetStatusAsync(handle, true, ct));
                job.Apply(status);
                if (job.Status == FalJobStatus.Completed)
                    job.Apply(Run(ct => Client.GetResultAsync(handle, ct)));
                WriteObject(job);
            }
            catch (FalException ex)
            {
                WriteError(ToErrorRecord(ex, job, $"Request {job.RequestId}"));
            }
        }
    }
}
