using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.PowerShell.Waiting;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Waits for fal jobs to finish and emits each as it completes.</para>
/// <para type="description">Takes every piped job first, then waits for all of them concurrently, showing status
/// and queue position with Write-Progress. Completed jobs are written as they finish, with their video URL;
/// failed jobs become non-terminating errors (FalJobFailed). Ctrl+C stops waiting at once and cancels nothing at fal.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "FalJob", DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FalJob))]
public sealed class WaitFalJobCommand : JobInputCommandBase
{
    private readonly List<FalJob> _jobs = new();

    /// <summary>The longest time to wait for all jobs, in seconds (default: no limit). Jobs still running then get a FalWaitTimeout error.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>How many jobs are followed at once (default 32).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 32;

    /// <inheritdoc />
    protected override void ProcessRecord() => _jobs.AddRange(CurrentJobs());

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_jobs.Count > 0)
            new JobWaiter(this, Client, ClientOptions.QueueBaseUrl, ThrottleLimit).WaitAll(_jobs, Timeout, StopToken);
        base.EndProcessing();
    }
}
