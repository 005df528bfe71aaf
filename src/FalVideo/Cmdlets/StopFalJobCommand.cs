using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Cancels fal requests.</para>
/// <para type="description">Asks fal to cancel each request (PUT cancel_url; PROTOCOL.md "Cancel") and reports what fal
/// said. fal answers CANCELLATION_REQUESTED for a queued or a running request, then reads its status once to tell
/// them apart: a queued request fal removed is recorded in the job store as Cancelled (so the resume skips it; fal does
/// not bill it); a running one only gets a signal and may still finish and be billed, so it keeps its status (a warning
/// says so) and Wait-FalJob follows it to its end. ALREADY_COMPLETED is a warning (the job is billed), and a request fal
/// does not know (NOT_FOUND) is a FalNotFound error. A request id alone is enough for a request the job store knows.
/// -PassThru emits each job with the status fal reported after the cancel: never Cancelled for a job that went on
/// running.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "FalJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FalJob))]
public sealed class StopFalJobCommand : JobInputCommandBase
{
    /// <summary>Emits the job after the cancel request, with the status fal reported after it (Cancelled only for a
    /// request fal removed from the queue).</summary>
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
            var label = string.IsNullOrEmpty(job.Id) ? $"Request {job.RequestId}" : $"Request {job.RequestId} ({job.Id})";
            if (!ShouldProcess($"{job.Label()} (request {job.RequestId}, {job.EndpointId})", "Cancel fal request")) continue;
            try
            {
                var handle = job.ToHandle(ClientOptions.QueueBaseUrl);
                var result = Run(ct => Client.CancelAsync(handle, ct));
                if (result.Accepted)
                {
                    // The store notes the request before fal's outcome is known, so a stop right here still shows it was asked.
                    Record(FalVideo.Journal.JobJournal.CancelRequestedEntry, job);
                    Settle(job, handle, label);
                }
                else
                {
                    // ALREADY_COMPLETED: the request ran to its end (or failed); its status says which.
                    Refresh(job, handle);
                    WriteWarning($"{label} was not cancelled: fal answered {result.Status}; it has already ended" + job.Status switch
                    {
                        FalJobStatus.Completed => " with a video (a completed request is billed).",
                        FalJobStatus.Cancelled => " (cancelled earlier).",
                        FalJobStatus.Failed => $" (failed: {job.Error}).",
                        _ => ".",
                    });
                }
                if (PassThru) WriteObject(job);
            }
            catch (FalNotFoundException ex)
            {
                var message = $"{label} was not cancelled: fal does not know this request (NOT_FOUND) at {job.EndpointId}; check the request id and the endpoint id.";
                WriteError(ErrorRecords.Create(FalErrorIds.NotFound, message, job, ex));
            }
            catch (FalException ex)
            {
                WriteError(ToErrorRecord(ex, job, label));
            }
        }
    }

    /// <summary>After an accepted cancel: reads the status once to learn whether fal removed the request (queued) or only
    /// signalled it (running), records that, and says which.</summary>
    private void Settle(FalJob job, FalVideo.Fal.FalRequestHandle handle, string label)
    {
        FalStatus status;
        try { status = Run(ct => Client.GetStatusAsync(handle, false, ct)); }
        catch (FalNotFoundException)
        {
            // fal removes a queued request it cancels: one it no longer knows right after accepting the cancel is that.
            job.Status = FalJobStatus.Cancelled;
            job.QueuePosition = null;
            Record("status", job);
            WriteVerbose($"{label}: fal answered CANCELLATION_REQUESTED and no longer knows the request: it was removed from the queue and is not billed.");
            return;
        }
        catch (FalException ex)
        {
            // The cancel was accepted; only its outcome is unknown. The job keeps its last known state, so it stays resumable.
            WriteWarning($"{label}: fal answered CANCELLATION_REQUESTED, but its status could not be read afterwards ({ex.Message}); " +
                         "if it was running it may still finish and be billed: Wait-FalJob follows it.");
            return;
        }
        job.Apply(status);
        Record("status", job);
        switch (job.Status)
        {
            case FalJobStatus.Cancelled:
                WriteVerbose($"{label}: fal answered CANCELLATION_REQUESTED and removed the request from the queue; it is not billed.");
                break;
            case FalJobStatus.InQueue or FalJobStatus.InProgress:
                WriteWarning($"{label}: fal answered CANCELLATION_REQUESTED, but the request is {job.Status}: a running request only gets a signal " +
                             "and may still finish and be billed. Wait-FalJob follows it to its end.");
                break;
            default:
                WriteWarning($"{label}: fal answered CANCELLATION_REQUESTED, but the request is {job.Status}" +
                             (job.Status == FalJobStatus.Completed ? " (a completed request is billed)." : "."));
                break;
        }
    }

    /// <summary>Reads the status of a request that had finished, so -PassThru and the store show how it ended.</summary>
    private void Refresh(FalJob job, FalVideo.Fal.FalRequestHandle handle)
    {
        try
        {
            job.Apply(Run(ct => Client.GetStatusAsync(handle, false, ct)));
            Record("status", job);
        }
        catch (FalException ex)
        {
            WriteVerbose($"Request {job.RequestId}: its status could not be read after the cancel ({ex.Message}).");
        }
    }
}
