using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>Faults on the storage upload (both steps) and on cancel: both are safe to repeat, so they are retried.</summary>
public sealed class UploadAndCancelFaultTests : FaultTestBase
{
    protected override FalVideo.Emulator.EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", Concurrency = 1 };

    [Fact]
    public void Upload_faults_on_both_steps_are_retried_and_the_row_is_submitted_once()
    {
        var image = Path.Combine(Temp, "first.png");
        File.WriteAllBytes(image, TestImages.Png);
        var initiate = Inject(new FaultRule { Route = FaultRoute.UploadInitiate, StatusCode = 503, Times = 2 });
        var put = Inject(new FaultRule { Route = FaultRoute.UploadPut, Action = FaultAction.ResetBefore });

        var r = Ps.Run("New-KlingVideo -Prompt 'The flower opens' -StartImage $args[1] | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir, image);
        var tally = Count();
        ReliabilityRecorder.Record(401, "Upload: 503 burst on initiate (2 ×) and a reset during the PUT",
            $"{initiate.Fired} × 503 and {put.Fired} reset retried ({Emulator.Faults.RequestsTo(FaultRoute.UploadInitiate)} initiates, " +
            $"{Emulator.Faults.RequestsTo(FaultRoute.UploadPut)} PUTs, the file resent from its first byte); {Emulator.State.Uploads} upload stored, " +
            $"{tally.Accepted} submission, video saved", tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(2, initiate.Fired);
        Assert.Equal(1, put.Fired);
        Assert.Equal(1, Emulator.State.Uploads);
        Assert.Equal(1, Emulator.Faults.RequestsTo(FaultRoute.Submit));
        tally.AssertNothingLost(accepted: 1);
    }

    [Fact]
    public void Cancel_faults_are_retried_and_the_journal_keeps_a_cancelled_running_job_resumable()
    {
        // One runner: the first job runs (a cancel only signals it, it may still finish), the second waits in the queue.
        Ps.Run("Set-FalConfiguration -MaxRetries 3").ThrowIfErrors();
        var submitted = Ps.Run("1..2 | ForEach-Object { New-HailuoVideo -Prompt \"Cancel me $_ [emulator:seconds=30]\" }");
        submitted.ThrowIfErrors();
        var (running, queued) = (submitted.Output[0], submitted.Output[1]);

        var burst = Inject(new FaultRule { Route = FaultRoute.Cancel, StatusCode = 503, Times = 2 });
        var stopQueued = Ps.Run("$args[0] | Stop-FalJob -PassThru -Confirm:$false", queued);
        var cancelRequests = Emulator.Faults.RequestsTo(FaultRoute.Cancel);
        // The cancel reaches fal, then its answer is lost: the retry asks again, which is harmless.
        var lost = Inject(new FaultRule { Route = FaultRoute.Cancel, Action = FaultAction.ResetAfter });
        var stopRunning = Ps.Run("$args[0] | Stop-FalJob -PassThru -Confirm:$false", running);
        var journalAfterStop = Journal().ToDictionary(j => j.RequestId);
        var resumable = Ps.Run("Get-FalJob -Status InQueue,InProgress | Get-FalJob");
        var states = resumable.Output.ToDictionary(o => (string)o.Properties["RequestId"].Value, o => o.Properties["Status"].Value.ToString());
        var runningId = (string)running.Properties["RequestId"].Value;
        var queuedId = (string)queued.Properties["RequestId"].Value;
        ReliabilityRecorder.Record(402, "Cancel: 503 burst (2 ×) on a queued job; lost answer on a running job",
            $"{burst.Fired} × 503 retried ({cancelRequests} cancel requests) and the queued job was cancelled at fal; the running job's cancel was " +
            $"sent again after the lost answer ({Emulator.Faults.RequestsTo(FaultRoute.Cancel) - cancelRequests} requests); the journal recorded the " +
            $"queued job as fal reported it after the cancel ({journalAfterStop[queuedId].Status}) and kept the running one in its last known state " +
            $"({journalAfterStop[runningId].Status}) because a running job may still finish; Get-FalJob then read it as {states.GetValueOrDefault(runningId)}",
            journalAfterStop.Count == 2 ? "nothing" : "a job missing from the journal");

        stopQueued.ThrowIfErrors();
        stopRunning.ThrowIfErrors();
        Assert.Equal(2, burst.Fired);
        Assert.Equal(3, cancelRequests);
        Assert.Equal(1, lost.Fired);
        Assert.Equal(5, Emulator.Faults.RequestsTo(FaultRoute.Cancel));
        Assert.Equal("Cancelled", stopQueued.Output.Single().Properties["Status"].Value.ToString());
        Assert.Equal("InProgress", stopRunning.Output.Single().Properties["Status"].Value.ToString());
        // Still resumable (its last known state, not Cancelled): it may finish and be billed.
        Assert.Contains(journalAfterStop[runningId].Status, new[] { FalJobStatus.InQueue, FalJobStatus.InProgress });
        // The queued job fal removed is recorded as Cancelled at once, so the resume no longer lists it.
        Assert.Equal(FalJobStatus.Cancelled, journalAfterStop[queuedId].Status);
        Assert.False(states.ContainsKey(queuedId));
        Assert.Equal("InProgress", states[runningId]);
        Assert.Equal(FalJobStatus.Cancelled, Journal().Single(j => j.RequestId == queuedId).Status);
        Assert.Equal(2, Emulator.State.AcceptedSubmissions);
    }
}
