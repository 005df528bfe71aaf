using System.Diagnostics;
using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Cmdlets;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Waiting;

/// <summary>
/// Waits for many fal jobs at once (never one after another), starting on each job as it arrives: Core's
/// <see cref="JobFollower"/> follows them (at most the throttle limit at once) and posts its events to the cmdlet's
/// <see cref="EventPump"/>; only the pipeline thread touches the job objects and writes output, progress and errors, in <see cref="Add"/>, <see cref="Pump"/>
/// and <see cref="Finish"/>. Finished jobs are written as they finish and not kept afterwards, so a pipeline of
/// thousands of jobs holds only the ones still open.
/// </summary>
/// <remarks>
/// Lifetime: create it on the pipeline thread (BeginProcessing or the first record), <see cref="Add"/> each job,
/// call <see cref="Finish"/> in EndProcessing, and <see cref="Dispose"/> when the cmdlet is disposed (which also
/// tells the host about jobs left open when the pipeline was stopped or failed before EndProcessing).
/// </remarks>
internal sealed class JobWaiter : IDisposable
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

    /// <summary>The one command that picks up every job still running at fal, wherever a stop tells the user about them.</summary>
    public const string ResumeCommand = "Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo";

    private const int ParentActivityId = 7101;
    private const int MaxChildBars = 10;

    // Bounds how long output waits behind a burst of events (and the size of one journal write).
    private const int MaxBatch = 256;

    private readonly FalCmdletBase _cmdlet;
    private readonly JobFollower _follower;
    private readonly int? _timeoutSeconds;
    private readonly CancellationToken _stopping;
    private readonly CancellationTokenSource _deadline;
    private readonly IJobStore _journal;
    private readonly EventPump _pump;
    // FalJob keeps object identity as its equality, so this set holds each job object once.
    private readonly HashSet<FalJob> _open = new();
    // The first jobs get a progress bar each; the rest are counted.
    private readonly List<FalJob> _shown = new();
    private readonly List<EngineEvent> _batch = new();
    private readonly List<Task> _saveRequests = new();
    // HandleBatch's journal writes not yet done, oldest first, each with the output it holds back.
    private readonly Queue<(Task Write, List<Action> Output)> _writes = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastProgress = TimeSpan.FromSeconds(-1);
    private int _added;
    private bool _finished;
    private bool _disposed;

    /// <summary>Starts a waiter; the timeout (seconds, null = none) counts from now. Call on the pipeline thread.</summary>
    /// <param name="cmdlet">The cmdlet whose pipeline gets the output, progress and errors.</param>
    /// <param name="client">The queue client the workers use.</param>
    /// <param name="queueBaseUrl">fal's queue host, to rebuild status and response URLs of jobs that lack them.</param>
    /// <param name="throttleLimit">Jobs followed at once.</param>
    /// <param name="timeoutSeconds">Overall limit in seconds; null waits as long as it takes.</param>
    /// <param name="stopping">Tripped by Ctrl+C: stop waiting promptly, cancel nothing at fal.</param>
    public JobWaiter(FalCmdletBase cmdlet, FalQueueClient client, Uri queueBaseUrl, int throttleLimit, int? timeoutSeconds, CancellationToken stopping)
    {
        _cmdlet = cmdlet;
        _timeoutSeconds = timeoutSeconds;
        _stopping = stopping;
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (timeoutSeconds is { } t) _deadline.CancelAfter(TimeSpan.FromSeconds(t));
        _journal = FalSettings.Current.Journal;
        _pump = cmdlet.Pump;
        _follower = new JobFollower(client, queueBaseUrl, throttleLimit, new Sink(this), _deadline.Token);
    }

    /// <summary>Hands the follower's events to the pipeline thread, where they are handled in batches.</summary>
    private sealed class Sink(JobWaiter waiter) : IEngineSink
    {
        public void Post(EngineEvent e) => waiter._pump.Post(() =>
        {
            waiter._batch.Add(e);
            if (waiter._batch.Count == MaxBatch) waiter.HandleBatch();
        });
    }

    /// <summary>Jobs added and not yet finished.</summary>
    public int OpenCount => _open.Count;

    /// <summary>Jobs that finished at fal (completed, failed or cancelled) while this waiter followed them.</summary>
    public int FinishedCount { get; private set; }

    /// <summary>
    /// Starts following <paramref name="job"/> (a finished or id-less one is reported at once), then writes whatever
    /// the workers have finished meanwhile. Pipeline thread only.
    /// </summary>
    public void Add(FalJob job)
    {
        if (!_open.Add(job)) return;
        _added++;
        RecordSaveRequest(job);
        if (_shown.Count < MaxChildBars) _shown.Add(job);
        _follower.Follow(job);
        Pump();
    }

    /// <summary>Writes the jobs finished so far, their errors and the progress, without waiting. Pipeline thread only.</summary>
    public void Pump()
    {
        _pump.Drain();
        HandleBatch();
        MaybeWriteProgress(force: false);
    }

    /// <summary>Progress at most every 500 ms, or now with <paramref name="force"/>.</summary>
    private void MaybeWriteProgress(bool force)
    {
        if (!force && _clock.Elapsed - _lastProgress <= TimeSpan.FromMilliseconds(500)) return;
        WriteProgress();
        _lastProgress = _clock.Elapsed;
    }

    /// <summary>Waits until every added job finished, the timeout passed, or Ctrl+C. Pipeline thread only.</summary>
    public void Finish()
    {
        _finished = true;
        _follower.Complete();
        try
        {
            // Everything that arrived in one burst is handled together: one journal write for the lot.
            _pump.WaitUntil(() => _open.Count == 0 && _writes.Count == 0, () =>
            {
                HandleBatch();
                MaybeWriteProgress(force: _open.Count == 0);
            }, 250, _deadline.Token);
            if (_added > 0)
                _cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Waiting for fal jobs", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (PipelineStoppedException) when (_stopping.IsCancellationRequested)
        {
            // Ctrl+C arrived between two checks: Write* refuses now; the host is told below.
        }
        if (_writes.Count > 0 && !_stopping.IsCancellationRequested)
        {
            // A -Timeout ends the wait for fal, not for the store: the jobs that finished go out once recorded.
            foreach (var (write, _) in _writes)
            {
                try { write.Wait(); }
                catch (AggregateException) { }
            }
            WriteRecorded();
        }
        if (_open.Count == 0) return;

        if (_stopping.IsCancellationRequested)
        {
            WarnStopped();
            return;
        }
        foreach (var job in _open)
        {
            var message = $"Timed out after {_timeoutSeconds} s waiting for request {job.RequestId} ({job.Model}); it is {job.Status} at fal and still running. Wait again with Wait-FalJob.";
            _cmdlet.WriteError(ErrorRecords.Create(FalErrorIds.WaitTimeout, message, job, new TimeoutException(message)));
        }
        _open.Clear();
    }

    /// <summary>
    /// Stops the workers. Jobs still open (the pipeline was stopped with Ctrl+C or failed before <see cref="Finish"/>)
    /// are named to the host, with the command that resumes them; nothing is cancelled at fal.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _follower.Complete();
        try { _deadline.Cancel(); } catch (ObjectDisposedException) { }
        if (_open.Count > 0 && !_finished) WarnStopped();
        _deadline.Dispose();
    }

    /// <summary>
    /// With a Save-FalVideo later in this statement, records the save request as the job starts being followed: a kill
    /// while Save-FalVideo downloads earlier videos holds up this thread, so later completions may never be recorded,
    /// and the resume must still know where their videos were meant to go. Not waited for: such entries share the
    /// store's commits, and a failed one is a warning at the next batch.
    /// </summary>
    private void RecordSaveRequest(FalJob job)
    {
        if (string.IsNullOrEmpty(job.RequestId) || !string.IsNullOrEmpty(job.SavedPath) || SaveFolderDownstream() is not { } folder) return;
        var target = folder(job);
        if (string.Equals(job.SaveDirectory, target, StringComparison.Ordinal)) return;
        job.SaveDirectory = target;
        // Off the pipeline thread, as HandleBatch's writes.
        _saveRequests.Add(_journal.AppendManyAsync([JobJournal.Capture(JobJournal.SaveRequestedEntry, job)]));
    }

    /// <summary>Warns about save requests that could not be recorded; pipeline thread only.</summary>
    private void CheckSaveRequests()
    {
        for (var i = _saveRequests.Count - 1; i >= 0; i--)
        {
            var task = _saveRequests[i];
            if (!task.IsCompleted) continue;
            _saveRequests.RemoveAt(i);
            if (task.Exception?.GetBaseException() is { } ex)
                _cmdlet.WriteWarning($"Could not record a save request in the job journal {_journal.FilePath}: {ex.Message}. " +
                                     "If this session ends early, save its jobs with -Directory.");
        }
    }

    /// <summary>The folder a Save-FalVideo later in this statement will save a job to, or null when there is none.</summary>
    private Func<FalJob, string>? SaveFolderDownstream()
    {
        if (!SaveIntents.TryFind(_cmdlet, out var directory)) return null;
        var here = _cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        return job => directory ?? (string.IsNullOrEmpty(job.SaveDirectory) ? here : job.SaveDirectory!);
    }

    private void WarnStopped()
    {
        // The pipeline is stopping: Write* would throw, so tell the host directly. Nothing is cancelled at fal.
        var ids = string.Join(", ", _open.Select(j => string.IsNullOrEmpty(j.RequestId) ? $"(no request id) {j.EndpointId}" : $"{j.RequestId} ({j.EndpointId})"));
        _cmdlet.Host.UI.WriteWarningLine(
            $"Stopped waiting; {_open.Count} fal job(s) are still running at fal and were not cancelled (Stop-FalJob cancels). " +
            $"They are in the job journal: resume with {ResumeCommand} " +
            $"(or one job: Get-FalJob -RequestId <id> -EndpointId <endpoint> | Wait-FalJob). Request ids: {ids}");
        _open.Clear();
    }

    /// <summary>
    /// Applies a batch of events: job states first, then their journal entries in one write, then the output in
    /// event order once that write is committed. Status and error entries are not forced to the disk (see
    /// <see cref="JobJournal.MustReachDisk"/>): a lost one loses nothing, since the job stays resumable from its
    /// <c>submitted</c> entry.
    /// </summary>
    private void HandleBatch()
    {
        if (_saveRequests.Count > 0) CheckSaveRequests();
        if (_batch.Count > 0)
        {
            var records = new List<JournalRecord>();
            var output = new List<Action>();
            foreach (var e in _batch) Handle(e, records, output);
            _batch.Clear();
            // A batch's jobs go downstream once its entries are committed, after every earlier batch's.
            if (records.Count > 0 || _writes.Count > 0) _writes.Enqueue((records.Count > 0 ? StartWrite(records) : Task.CompletedTask, output));
            else foreach (var write in output) write();
        }
        WriteRecorded();
    }

    /// <summary>
    /// Starts the commit of <paramref name="records"/> off the pipeline thread, which every row of the pipeline waits
    /// on: a commit there held up the rows behind it (the PostgreSQL store's, a transaction each, were 13.7 % of a
    /// batch's CPU samples, bench/README.md). The pump is woken when it ends.
    /// </summary>
    private Task StartWrite(List<JournalRecord> records)
    {
        // The store reports a failed commit through the task (IJobStore.AppendManyAsync): WriteRecorded warns of it.
        var write = _journal.AppendManyAsync(records);
        write.ContinueWith(static (_, pump) => ((EventPump)pump!).Post(static () => { }), _pump,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return write;
    }

    /// <summary>Writes the output of the batches whose entries are committed, oldest first (pipeline thread).</summary>
    private void WriteRecorded()
    {
        while (_writes.Count > 0 && _writes.Peek().Write.IsCompleted)
        {
            var (write, output) = _writes.Dequeue();
            if (write.Exception?.GetBaseException() is { } ex)
            {
                if (ex is not (IOException or UnauthorizedAccessException)) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw();
                _cmdlet.WriteWarning($"Could not write the job journal {_journal.FilePath}: {ex.Message}. " +
                                     "The jobs' latest states were not recorded; their submissions were.");
            }
            foreach (var line in output) line();
        }
    }

    private void Handle(EngineEvent e, List<JournalRecord> records, List<Action> output)
    {
        switch (e)
        {
            case JobStatusChanged s when _open.Contains(s.Job):
                var before = s.Job.Status;
                s.Job.Apply(s.Status);
                // A change of state is journaled as it happens, so a crash leaves the latest state on disk;
                // queue position updates are not worth a disk write each.
                if (s.Job.Status != before && !s.Job.IsFinished) records.Add(JobJournal.Capture("status", s.Job));
                break;
            case JobFinished f when _open.Contains(f.Job):
                _open.Remove(f.Job);
                FinishedCount++;
                if (f.Status is not null) f.Job.Apply(f.Status);
                if (f.Result is not null) f.Job.Apply(f.Result);
                // A job that was finished when it came in has nothing new to record.
                var changed = f.Status is not null || f.Result is not null || f.Job.LastError is not null;
                f.Job.LastError = null;
                if (changed) records.Add(JobJournal.Capture("status", f.Job));
                // In the same commit as the completion: a kill while Save-FalVideo downloads the batch's earlier videos
                // must not leave the later ones completed with no record that their save was asked for.
                if (f.Job.Status == FalJobStatus.Completed && SaveFolderDownstream() is { } folder && string.IsNullOrEmpty(f.Job.SavedPath)
                    && !string.Equals(f.Job.SaveDirectory, folder(f.Job), StringComparison.Ordinal))
                {
                    f.Job.SaveDirectory = folder(f.Job);
                    records.Add(JobJournal.Capture(JobJournal.SaveRequestedEntry, f.Job));
                }
                if (f.Job.Status == FalJobStatus.Completed) output.Add(() => _cmdlet.WriteObject(f.Job));
                else output.Add(() => WriteJobFailed(f.Job));
                break;
            case JobFollowFailed x when _open.Contains(x.Job):
                _open.Remove(x.Job);
                var record = string.IsNullOrEmpty(x.Job.RequestId)
                    ? ErrorRecords.Create(FalErrorIds.NoRequestId, x.Error.Message, x.Job, x.Error)
                    : FalCmdletBase.ToErrorRecord(x.Error, x.Job, $"Request {x.Job.RequestId}");
                if (!string.IsNullOrEmpty(x.Job.RequestId))
                {
                    // The job may well be fine at fal: keep it findable and say how to pick it up again.
                    x.Job.LastError = record.ErrorDetails.Message;
                    records.Add(JobJournal.Capture("error", x.Job));
                    var said = record.ErrorDetails.Message.TrimEnd();
                    record.ErrorDetails = new ErrorDetails(said + (said.EndsWith(".", StringComparison.Ordinal) ? "" : ".") +
                        $" The job stays in the journal ({x.Job.Status}); try again with: Get-FalJob -RequestId {x.Job.RequestId} -EndpointId {x.Job.EndpointId} | Wait-FalJob");
                }
                output.Add(() => _cmdlet.WriteError(record));
                break;
        }
    }

    private void WriteJobFailed(FalJob job)
    {
        var message = job.Status == FalJobStatus.Cancelled
            ? $"Request {job.RequestId} ({job.Model}) was cancelled."
            : $"Request {job.RequestId} ({job.Model}) failed at fal: {job.Error ?? "no error text"} (error_type: {job.ErrorType ?? "none"}).";
        _cmdlet.WriteError(ErrorRecords.Create(FalErrorIds.JobFailed, message, job, new InvalidOperationException(message)));
    }

    private void WriteProgress()
    {
        if (_added == 0) return;
        var finished = _added - _open.Count;
        var running = 0;
        var queued = 0;
        var next = int.MaxValue;
        foreach (var job in _open)
        {
            if (job.Status == FalJobStatus.InProgress) running++;
            else if (job.Status == FalJobStatus.InQueue)
            {
                queued++;
                if (job.QueuePosition is { } p && p < next) next = p;
            }
        }
        // The child bars use the same words as this summary: finished, in progress, in queue at position N.
        var status = $"{finished}/{_added} finished, {running} in progress, {queued} in queue" +
                     (next != int.MaxValue ? $" (next at position {next})" : "") + $", {_clock.Elapsed.TotalSeconds:0} s elapsed";
        _cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Waiting for fal jobs", status)
        { PercentComplete = finished * 100 / _added });

        var child = 0;
        foreach (var job in _shown)
        {
            var id = ParentActivityId + 1 + child++;
            var detail = ChildStatus(job) + $" ({job.Model}, request {job.RequestId})";
            _cmdlet.WriteProgress(new ProgressRecord(id, job.Label(), detail)
            {
                ParentActivityId = ParentActivityId,
                RecordType = _open.Contains(job) ? ProgressRecordType.Processing : ProgressRecordType.Completed,
            });
        }
    }

    private static string ChildStatus(FalJob job) => job.Status switch
    {
        FalJobStatus.InQueue => job.QueuePosition is { } p ? $"in queue at position {p}" : "in queue",
        FalJobStatus.InProgress => "in progress",
        FalJobStatus.Completed => "finished",
        FalJobStatus.Failed => "finished: failed",
        FalJobStatus.Cancelled => "finished: cancelled",
        _ => job.Status.ToString(),
    };
}
