using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Cmdlets;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Waiting;

/// <summary>
/// Waits for many fal jobs at once (never one after another). Worker tasks follow each job with the
/// queue client and post events; only the pipeline thread touches the job objects and writes output,
/// progress and errors. Finished jobs are written as they finish.
/// </summary>
internal sealed class JobWaiter(FalCmdletBase cmdlet, FalQueueClient client, Uri queueBaseUrl, int throttleLimit = JobWaiter.DefaultThrottleLimit)
{
    /// <summary>
    /// Jobs followed at once unless the caller says otherwise (Wait-FalJob -ThrottleLimit, New-*Video -Wait). A
    /// followed job holds one status stream (one pooled connection, no polling) while it runs. fal runs at most 40
    /// requests of an account at once (2 for a new account) and queues the rest in FIFO order without failing them
    /// (PROTOCOL.md "Concurrency"), so 32 streams cover every job a typical account can have running, the next ones
    /// to start are the next ones followed, and the connection count stays well below what a proxy or fal's edge
    /// would object to.
    /// </summary>
    public const int DefaultThrottleLimit = 32;

    private abstract record WaitEvent(FalJob Job);
    private sealed record StatusChanged(FalJob Job, FalStatus Status) : WaitEvent(Job);
    private sealed record Finished(FalJob Job, FalStatus Status, FalResult? Result) : WaitEvent(Job);
    private sealed record Failed(FalJob Job, Exception Error) : WaitEvent(Job);

    private const int ParentActivityId = 7101;
    private const int MaxChildBars = 10;

    // Bounds how long output waits behind a burst of events (and the size of one journal write).
    private const int MaxBatch = 256;

    /// <summary>Waits for <paramref name="jobs"/>; returns when all finished, the timeout passed, or Ctrl+C.</summary>
    /// <param name="jobs">The jobs; finished ones are written at once.</param>
    /// <param name="timeoutSeconds">Overall limit in seconds; null waits as long as it takes.</param>
    /// <param name="stopping">Tripped by Ctrl+C: stop waiting promptly, cancel nothing at fal.</param>
    public void WaitAll(IReadOnlyList<FalJob> jobs, int? timeoutSeconds, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (timeoutSeconds is { } t) deadline.CancelAfter(TimeSpan.FromSeconds(t));
        using var events = new BlockingCollection<WaitEvent>();
        var clock = Stopwatch.StartNew();

        var journal = FalSettings.Current.Journal;
        var open = new HashSet<FalJob>(ReferenceEqualityComparer.Instance);
        var toFollow = new ConcurrentQueue<FalJob>();
        foreach (var job in jobs)
        {
            open.Add(job);
            if (string.IsNullOrEmpty(job.RequestId)) { events.Add(new Failed(job, NoRequestId(job))); continue; }
            if (job.IsFinished && job.Status != FalJobStatus.Completed) { events.Add(new Finished(job, null!, null)); continue; }
            toFollow.Enqueue(job);
        }
        // A fixed set of workers takes the jobs in order, so at most throttleLimit are followed (a status stream or
        // poll each, then the result) at any moment, however many jobs there are; no task exists per waiting job.
        var workers = Math.Min(Math.Max(1, throttleLimit), toFollow.Count);
        for (var w = 0; w < workers; w++) _ = Task.Run(() => FollowQueuedAsync(toFollow, events, deadline.Token));

        try
        {
            var lastProgress = TimeSpan.FromSeconds(-1);
            var batch = new List<WaitEvent>();
            while (open.Count > 0 && !deadline.IsCancellationRequested)
            {
                // Everything that arrived meanwhile is handled together: one journal write for the lot.
                if (events.TryTake(out var e, 250))
                {
                    batch.Add(e);
                    while (batch.Count < MaxBatch && events.TryTake(out e)) batch.Add(e);
                    HandleAll(batch, open, journal);
                    batch.Clear();
                }
                cmdlet.FlushVerbose();
                if (clock.Elapsed - lastProgress > TimeSpan.FromMilliseconds(500) || open.Count == 0)
                {
                    WriteProgress(jobs, open, clock.Elapsed);
                    lastProgress = clock.Elapsed;
                }
            }
            cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Waiting for fal jobs", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (PipelineStoppedException) when (stopping.IsCancellationRequested)
        {
            // Ctrl+C arrived between two checks: Write* refuses now; the host is told below.
        }
        if (open.Count == 0) return;

        if (stopping.IsCancellationRequested)
        {
            // The pipeline is stopping: Write* would throw, so tell the host directly. Nothing is cancelled at fal.
            var ids = string.Join(", ", open.Select(j => string.IsNullOrEmpty(j.RequestId) ? $"(no request id) {j.EndpointId}" : $"{j.RequestId} ({j.EndpointId})"));
            cmdlet.Host.UI.WriteWarningLine(
                $"Stopped waiting; {open.Count} fal job(s) are still running at fal and were not cancelled (Stop-FalJob cancels). " +
                "They are in the job journal: resume with Get-FalJob -Status InQueue,InProgress | Wait-FalJob " +
                $"(or one job: Get-FalJob -RequestId <id> -EndpointId <endpoint> | Wait-FalJob). Request ids: {ids}");
            return;
        }
        foreach (var job in open)
        {
            var message = $"Timed out after {timeoutSeconds} s waiting for request {job.RequestId} ({job.Model}); it is {job.Status} at fal and still running. Wait again with Wait-FalJob.";
            cmdlet.WriteError(new ErrorRecord(new TimeoutException(message), "FalWaitTimeout", ErrorCategory.OperationTimeout, job)
            { ErrorDetails = new ErrorDetails(message) });
        }
    }

    // An ambiguous submission from the journal has no request id: there is nothing at fal this module could follow.
    private static InvalidOperationException NoRequestId(FalJob job) =>
        new($"This job has no request id: its submission to {job.EndpointId} was ambiguous (fal may or may not have accepted it), " +
            "so it cannot be waited for. Look for it in fal's dashboard; forget it with Remove-FalJob.");

    private async Task FollowQueuedAsync(ConcurrentQueue<FalJob> queue, BlockingCollection<WaitEvent> events, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested && queue.TryDequeue(out var job))
        {
            await FollowAsync(job, events, ct).ConfigureAwait(false);
        }
    }

    private async Task FollowAsync(FalJob job, BlockingCollection<WaitEvent> events, CancellationToken ct)
    {
        try
        {
            var handle = job.ToHandle(queueBaseUrl);
            var final = await client.WaitForCompletionAsync(handle, s => Post(events, new StatusChanged(job, s)), ct).ConfigureAwait(false);
            FalResult? result = null;
            if (!final.IsFailed) result = await client.GetResultAsync(handle, ct).ConfigureAwait(false);
            Post(events, new Finished(job, final, result));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception ex) { Post(events, new Failed(job, ex)); }
    }

    private static void Post(BlockingCollection<WaitEvent> events, WaitEvent e)
    {
        try { events.Add(e); } catch (ObjectDisposedException) { } catch (InvalidOperationException) { }
    }

    /// <summary>
    /// Applies a batch of events: job states first, then their journal entries in one write, then the output in
    /// event order. Status and error entries are not forced to the disk (see <see cref="JobJournal.MustReachDisk"/>):
    /// a lost one loses nothing, since the job stays resumable from its <c>submitted</c> entry.
    /// </summary>
    private void HandleAll(List<WaitEvent> batch, HashSet<FalJob> open, JobJournal journal)
    {
        var records = new List<JournalRecord>();
        var output = new List<Action>();
        foreach (var e in batch) Handle(e, open, records, output);
        if (records.Count > 0)
        {
            try { journal.AppendMany(records); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                cmdlet.WriteWarning($"Could not write the job journal {journal.FilePath}: {ex.Message}. " +
                                    "The jobs' latest states were not recorded; their submissions were.");
            }
        }
        foreach (var write in output) write();
    }

    private void Handle(WaitEvent e, HashSet<FalJob> open, List<JournalRecord> records, List<Action> output)
    {
        if (!open.Contains(e.Job)) return;
        switch (e)
        {
            case StatusChanged s:
                var before = e.Job.Status;
                e.Job.Apply(s.Status);
                // A change of state is journaled as it happens, so a crash leaves the latest state on disk;
                // queue position updates are not worth a disk write each.
                if (e.Job.Status != before && !e.Job.IsFinished) records.Add(JobJournal.Capture("status", e.Job));
                break;
            case Finished f:
                open.Remove(f.Job);
                if (f.Status is not null) f.Job.Apply(f.Status);
                if (f.Result is not null) f.Job.Apply(f.Result);
                f.Job.LastError = null;
                records.Add(JobJournal.Capture("status", f.Job));
                if (f.Job.Status == FalJobStatus.Completed) output.Add(() => cmdlet.WriteObject(f.Job));
                else output.Add(() => WriteJobFailed(f.Job));
                break;
            case Failed x:
                open.Remove(x.Job);
                var record = string.IsNullOrEmpty(x.Job.RequestId)
                    ? new ErrorRecord(x.Error, "FalNoRequestId", ErrorCategory.InvalidOperation, x.Job) { ErrorDetails = new ErrorDetails(x.Error.Message) }
                    : FalCmdletBase.ToErrorRecord(x.Error, x.Job, $"Request {x.Job.RequestId}");
                if (!string.IsNullOrEmpty(x.Job.RequestId))
                {
                    // The job may well be fine at fal: keep it findable and say how to pick it up again.
                    x.Job.LastError = record.ErrorDetails.Message;
                    records.Add(JobJournal.Capture("error", x.Job));
                    record.ErrorDetails = new ErrorDetails(record.ErrorDetails.Message +
                        $" The job stays in the journal ({x.Job.Status}); try again with: Get-FalJob -RequestId {x.Job.RequestId} -EndpointId {x.Job.EndpointId} | Wait-FalJob");
                }
                output.Add(() => cmdlet.WriteError(record));
                break;
        }
    }

    private void WriteJobFailed(FalJob job)
    {
        var message = job.Status == FalJobStatus.Cancelled
            ? $"Request {job.RequestId} ({job.Model}) was cancelled."
            : $"Request {job.RequestId} ({job.Model}) failed at fal: {job.Error ?? "no error text"} (error_type: {job.ErrorType ?? "none"}).";
        cmdlet.WriteError(new ErrorRecord(new InvalidOperationException(message), "FalJobFailed", ErrorCategory.InvalidResult, job)
        { ErrorDetails = new ErrorDetails(message) });
    }

    private void WriteProgress(IReadOnlyList<FalJob> jobs, HashSet<FalJob> open, TimeSpan elapsed)
    {
        var finished = jobs.Count - open.Count;
        var running = open.Count(j => j.Status == FalJobStatus.InProgress);
        var queued = open.Where(j => j.Status == FalJobStatus.InQueue).ToList();
        var next = queued.Where(j => j.QueuePosition is not null).Select(j => j.QueuePosition!.Value).DefaultIfEmpty(-1).Min();
        var status = $"{finished}/{jobs.Count} finished, {running} in progress, {queued.Count} in queue" +
                     (next >= 0 ? $" (next at queue position {next})" : "") + $", {elapsed.TotalSeconds:0} s elapsed";
        cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Waiting for fal jobs", status)
        { PercentComplete = jobs.Count == 0 ? 100 : finished * 100 / jobs.Count });

        var child = 0;
        foreach (var job in jobs)
        {
            if (child >= MaxChildBars) break;
            var id = ParentActivityId + 1 + child++;
            var detail = job.Status == FalJobStatus.InQueue && job.QueuePosition is { } p ? $"InQueue, position {p}" : job.Status.ToString();
            cmdlet.WriteProgress(new ProgressRecord(id, $"{job.Model} {job.RequestId}", detail)
            {
                ParentActivityId = ParentActivityId,
                RecordType = open.Contains(job) ? ProgressRecordType.Processing : ProgressRecordType.Completed,
            });
        }
    }
}
