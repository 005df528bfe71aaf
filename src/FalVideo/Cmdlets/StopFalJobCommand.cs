using System.Management.Automation;
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
            if (!ShouldProcess($"{job.RequestId} ({job.EndpointId})", "Cancel fal request")) continue;
            try
            {
                var result = Run(ct => Client.CancelAsync(job.ToHandle(ClientOptions.QueueBaseUrl), ct));
                if (result.Accepted)
                {
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
