using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.PowerShell.Waiting;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Waits for fal jobs to finish and emits each as it completes.</para>
/// <para type="description">Starts following each piped job as it arrives and waits for all of them concurrently
/// (up to -ThrottleLimit at once), showing status and queue position with Write-Progress. Completed jobs are written
/// as they finish, with their video URL, while earlier commands in the pipeline are still submitting;
/// failed jobs become non-terminating errors (FalJobFailed). Ctrl+C stops waiting at once and cancels nothing at fal.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "FalJob", DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FalJob))]
public sealed class WaitFalJobCommand : JobInputCommandBase
{
    private JobWaiter? _waiter;

    /// <summary>The longest time to wait for all jobs, in seconds from the first job piped in (default: no limit). Jobs still running then get a FalWaitTimeout error.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>How many jobs are followed at once (default 32).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = JobWaiter.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var job in CurrentJobs())
        {
            _waiter ??= new JobWaiter(this, Client, ClientOptions.QueueBaseUrl, ThrottleLimit, Timeout, StopToken);
            _waiter.Add(job);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        _waiter?.Finish();
        base.EndProcessing();
    }

    /// <inheritdoc />
    protected override void OnDispose() => _waiter?.Dispose();
}
