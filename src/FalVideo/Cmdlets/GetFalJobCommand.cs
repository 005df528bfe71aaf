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
[Cmdlet(VerbsCommon.Get, "FalJob", DefaultParameterSetName = ByIdSet)]
[OutputType(typeof(FalJob))]
public sealed class GetFalJobCommand : JobInputCommandBase
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
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
