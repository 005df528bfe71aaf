using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Cancels fal requests.</para>
/// <para type="description">Asks fal to cancel each request (PUT cancel_url). A queued request is removed; a running
/// one is signalled and may still finish (and be billed). A request that already completed is reported with a
/// warning.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "FalJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FalJob))]
public sealed class StopFalJobCommand : JobInputCommandBase
{
    /// <summary>Emits the job after the cancel request.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var job in CurrentJobs())
        {
            if (string.IsNullOrEmpty(job.RequestId))
            {
                var message = $"This job has no request id (an ambiguous submission to {job.EndpointId}), so it can't be cancelled from here; look for it in fal's dashboard.";
                WriteError(ErrorRecords.Create(FalErrorIds.NoRequestId, message, job, new InvalidOperationException(message)));
                continue;
            }
            if (!ShouldProcess($"{job.Label()} (request {job.RequestId}, {job.EndpointId})", "Cancel fal request")) continue;
            try
            {
                var result = Run(ct => Client.CancelAsync(job.ToHandle(ClientOptions.QueueBaseUrl), ct));
                if (result.Accepted)
                {
                    // fal removes a queued request but only signals a running one, which may still finish and be billed:
                    // the journal notes the request and keeps the last known state, so the job stays resumable.
                    Record(FalVideo.Journal.JobJournal.CancelRequestedEntry, job);
                    job.Status = FalJobStatus.Cancelled;
                    WriteVerbose($"Request {job.RequestId}: {result.Status}");
                }
                else WriteWarning($"Request {job.RequestId} was not cancelled: {result.Status}.");
                if (PassThru) WriteObject(job);
            }
            catch (FalException ex)
            {
                WriteError(ToErrorRecord(ex, job, $"Request {job.RequestId}"));
            }
        }
    }
}
