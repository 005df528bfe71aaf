using System.Collections.Concurrent;
using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.PowerShell.Completion;
using FalVideo.PowerShell.Requests;
using FalVideo.PowerShell.Settings;
using FalVideo.PowerShell.Waiting;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// The submit flow shared by the New-*Video cmdlets: check the row, say what it costs (-WhatIf), then upload
/// local files and submit one fal queue request in the background (up to -ThrottleLimit at once), journal it,
/// and emit the job on the pipeline thread. With -Wait the jobs are waited for together at the end.
/// </summary>
public abstract class NewVideoCommandBase : FalCmdletBase
{
    // With -Wait: follows each job from the moment it is emitted in row order, while later rows still submit.
    private JobWaiter? _waiter;
    // Results come back from parallel submissions in any order; they are written in row order.
    private readonly BlockingCollection<(int Seq, Action Write)> _results = new();
    private readonly SortedDictionary<int, Action> _ready = new();
    private int _nextToWrite = 1;
    private SemaphoreSlim? _gate;
    private SemaphoreSlim? _uploadGate;
    private UploadProgress? _uploadProgress;
    private int _row;
    // Resolved once per invocation, like the client options: reading them costs file and environment look-ups per row.
    private FalVideo.Catalog.ModelCatalog? _catalog;
    private FalVideo.Journal.IJobStore? _journal;
    private string? _locationPsPath;
    private string? _locationProviderPath;

    /// <summary>Text prompt describing the video. Required for text-to-video. Binds from a <c>Prompt</c> column.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Prompt { get; set; }

    /// <summary>Catalog model name or a full fal endpoint id. An empty cell means the default model.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>Your own identifier for the row (an <c>Id</c> column, or a group's <c>Name</c>), carried onto the job for reports and file names.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string? Id { get; set; }

    /// <summary>Waits for every submitted job to finish and emits them as they complete (see Wait-FalJob); each job is followed from the moment fal accepts it.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: the longest time to wait for all jobs, in seconds from the first job fal accepted (default: no limit).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>How many submissions run at once; default 64, of which at most 8 upload local files at a time. fal queues what it can't run yet.</summary>
    // Why 64: fal runs 2 requests of a new account at once (up to 40 after credit purchases) and queues the rest
    // without rejecting them (PROTOCOL.md "Concurrency"), so how many submissions are in flight is not bound by the
    // account's limit: a batch is best submitted whole and quickly, then waited for (fal's JS client submits a whole
    // Promise.all batch at once). A submission is a short POST whose time is mostly waiting (the write-ahead journal
    // entry's flush to disk, the round trip), so more in flight means more rows per second, and the journal's group
    // commit shares one flush among all the rows submitting at that moment: 1,000 instant emulated jobs took 1.06 s
    // with 8, 0.91 s with 16, 0.84 s with 32 (IL engine); as the first batch of a process on a precompiled engine,
    // about 0.65 to 0.70 s with 32, 0.54 s with 64 and 0.53 s with 128 (bench/README.md). Uploads are the slow part
    // of a row with local files; MaxParallelUploads keeps those from crowding each other out on a home uplink.
    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = 64;

    /// <summary>At most this many rows upload their local files at once, whatever -ThrottleLimit allows.</summary>
    private const int MaxParallelUploads = 8;

    /// <summary>Model family this cmdlet submits to (<c>Kling</c>, <c>Hailuo</c>), or null for any catalog model.</summary>
    protected abstract string? Family { get; }

    /// <summary>Catalog name used when -Model is not given.</summary>
    protected abstract string DefaultModel { get; }

    /// <summary>The bound parameters of the current record as a row; adds problems found reading shots or elements.</summary>
    internal abstract VideoRow CurrentRow(List<string> problems);

    /// <summary>Turns the current record into a request, or adds problems. Invoke-FalModel and New-FalVideo -Route override this.</summary>
    internal virtual VideoRequestPlan? PlanRecord(List<string> problems, out VideoRow row)
    {
        row = CurrentRow(problems);
        var catalog = PriceCatalog;
        var model = ModelResolver.Resolve(row.Model, Family, DefaultModel, catalog, problems, out var endpointMode);
        return model is null ? null
            : VideoRequestPlanner.Plan(row, model, endpointMode, catalog, CurrentDirectory, problems);
    }

    /// <summary>The price catalog for this invocation (with the session's price overrides), read once at the first row.</summary>
    internal FalVideo.Catalog.ModelCatalog PriceCatalog => _catalog ??= FalSettings.Current.Catalog;

    /// <summary>
    /// The current file-system location as a provider path, which relative file names in a row are resolved against.
    /// PowerShell's <c>ProviderPath</c> costs about a tenth of a millisecond (it walks the provider and the mounts),
    /// more than planning the rest of a row, so it is kept for as long as the location stays the same.
    /// </summary>
    internal string CurrentDirectory
    {
        get
        {
            var location = SessionState.Path.CurrentFileSystemLocation;
            if (_locationProviderPath is null || !string.Equals(location.Path, _locationPsPath, StringComparison.Ordinal))
            {
                _locationProviderPath = location.ProviderPath;
                _locationPsPath = location.Path;
            }
            return _locationProviderPath;
        }
    }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        _gate = new SemaphoreSlim(ThrottleLimit);
        _uploadGate = new SemaphoreSlim(Math.Min(ThrottleLimit, MaxParallelUploads));
        _uploadProgress = new UploadProgress(this);
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        DrainResults(block: false);
        _row++;
        var label = MyInvocation.ExpectingInput ? $"Row {_row}" : "Input";
        var problems = TakeBindingProblems().ToList();
        var plan = PlanRecord(problems, out var row);
        var seq = _row;
        if (problems.Count > 0 || plan is null)
        {
            var target = row.Id ?? row.Prompt;
            Post(seq, () => WriteInputError(label, problems, target));
            DrainResults(block: false);
            return;
        }
        // ShouldProcess needs the pipeline thread, and earlier rows' output should come first.
        if (!ShouldProcess(plan.Describe(label), "Submit to fal")) { Post(seq, () => { }); DrainResults(block: false); return; }

        var client = Client;         // resolved on the pipeline thread: settings belong to this runspace
        var journal = _journal ??= FalSettings.Current.Journal;
        _gate!.Wait(StopToken);
        // Not kept: SubmitAsync reports every outcome through Post, and EndProcessing waits for all rows' posts. A list of
        // these tasks would hold every finished row's state machine (its plan, input and job) until the pipeline ends.
        _ = Task.Run(async () =>
        {
            var slot = new Slot(_gate);
            try { await SubmitAsync(seq, client, journal, plan, row, label, slot).ConfigureAwait(false); }
            // SubmitAsync posts every outcome itself; this catches only a failure of that reporting, so the row still
            // gets its error and EndProcessing does not wait for it forever.
            catch (Exception ex) { Post(seq, () => WriteError(ToErrorRecord(ex, row.Id ?? (object?)row.Prompt, label))); }
            finally { slot.Release(); }
        });
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        DrainResults(block: true);
        _uploadProgress?.Write(force: true);
        _waiter?.Finish();
        base.EndProcessing();
    }

    /// <inheritdoc />
    protected override void OnDispose() => _waiter?.Dispose();

    /// <summary>One row's place among the -ThrottleLimit submissions in flight, given back once (early or at the end).</summary>
    private sealed class Slot(SemaphoreSlim gate)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    private async Task SubmitAsync(int seq, FalQueueClient client, FalVideo.Journal.IJobStore journal, VideoRequestPlan plan, VideoRow row, string label, Slot slot)
    {
        var target = row.Id ?? (object?)row.Prompt;
        FalJob? ahead = null;
        try
        {
            if (plan.Uploads.Count > 0)
            {
                await _uploadGate!.WaitAsync(StopToken).ConfigureAwait(false);
                try
                {
                    foreach (var upload in plan.Uploads)
                    {
                        var tracked = _uploadProgress!.Start(upload.Path);
                        try
                        {
                            var url = await client.UploadFileAsync(upload.Path, null, tracked.Report, StopToken).ConfigureAwait(false);
                            plan.ResolveUpload(upload, url);
                        }
                        finally { tracked.Done = true; }
                    }
                }
                finally { _uploadGate.Release(); }
            }
            // Write-ahead: the row is on disk before the request leaves, so no death in between can lose a paid job.
            // Rows submitting at the same moment share one flush to disk (the journal's group commit), and each
            // row's own entry is on disk before its await returns.
            var input = plan.Input.ToJsonString();
            ahead = NewJob(plan, row, "", FalJobStatus.Unknown, input);
            await TryAppendAsync(journal, FalVideo.Journal.JobJournal.SubmittingEntry, ahead).ConfigureAwait(false);
            var submitted = await client.SubmitAsync(plan.EndpointId, plan.Input, null, StopToken).ConfigureAwait(false);
            // fal has answered: the next row may send its request while this one's id is flushed to disk. The job is
            // still emitted only after that flush.
            slot.Release();
            var job = NewJob(plan, row, submitted.RequestId, FalJobStatus.InQueue, input);
            job.JournalId = ahead.JournalId;
            job.QueuePosition = submitted.QueuePosition;
            job.StatusUrl = submitted.StatusUrl.ToString();
            job.ResponseUrl = submitted.ResponseUrl.ToString();
            job.CancelUrl = submitted.CancelUrl.ToString();
            // The request id reaches the disk before anything else can fail, and before the job is emitted. Flushing
            // here, in the row's own task, keeps the flush off the pipeline thread (which feeds the submissions), and
            // the rows that finish at the same moment still share one flush (group commit).
            var journalError = await TryAppendAsync(journal, "submitted", job).ConfigureAwait(false);
            Post(seq, () =>
            {
                if (journalError is not null)
                    WriteWarning(JournalWarning(journal, job, journalError));
                if (Wait) (_waiter ??= new JobWaiter(this, client, ClientOptions.QueueBaseUrl, JobWaiter.DefaultThrottleLimit, Timeout, StopToken)).Add(job);
                else WriteObject(job);
            });
        }
        catch (FalAmbiguousSubmissionException ex)
        {
            // fal may have accepted (and will bill) this request; there is no request id to follow. Never resubmit.
            var job = ahead ?? NewJob(plan, row, "", FalJobStatus.Unknown, plan.Input.ToJsonString());
            job.Error = ex.Message;
            await TryAppendAsync(journal, FalVideo.Journal.JobJournal.AmbiguousEntry, job).ConfigureAwait(false);
            Post(seq, () => WriteError(ToErrorRecord(ex, target,
                $"{label} (ambiguous submission: fal may have accepted it; check fal's dashboard before resubmitting)")));
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            // Stopped with the submit in flight: fal may have it. Uploads alone cost nothing and leave no entry.
            if (ahead is not null)
            {
                ahead.Error = "Stopped (Ctrl+C) while the submission was in flight; fal may have accepted it.";
                await TryAppendAsync(journal, FalVideo.Journal.JobJournal.AmbiguousEntry, ahead).ConfigureAwait(false);
            }
            Post(seq, () => { });
        }
        catch (Exception ex)
        {
            // fal refused it or never got it (the client throws the ambiguous exception otherwise): close the write-ahead entry.
            if (ahead is not null)
            {
                ahead.Status = FalJobStatus.Rejected;
                ahead.Error = ex.Message;
                await TryAppendAsync(journal, FalVideo.Journal.JobJournal.RejectedEntry, ahead).ConfigureAwait(false);
            }
            Post(seq, () => WriteError(ToErrorRecord(ex, target, label)));
        }
    }

    private static FalJob NewJob(VideoRequestPlan plan, VideoRow row, string requestId, FalJobStatus status, string input) => new()
    {
        RequestId = requestId,
        EndpointId = plan.EndpointId,
        Model = plan.ModelName,
        Mode = plan.Mode,
        Id = row.Id,
        Status = status,
        Prompt = plan.Prompt,
        DurationSeconds = plan.DurationSeconds,
        EstimatedCostUsd = plan.Cost?.TotalUsd,
        SubmittedAt = DateTimeOffset.UtcNow,
        Input = input,
        RouteReason = plan.RouteReason,
    };

    private static async Task<string?> TryAppendAsync(FalVideo.Journal.IJobStore journal, string kind, FalJob job)
    {
        try
        {
            await journal.AppendAsync(kind, job).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ex.Message; }
    }

    private void Post(int seq, Action write)
    {
        try { _results.Add((seq, write)); } catch (InvalidOperationException) { }
    }

    private void Accept((int Seq, Action Write) result)
    {
        _ready[result.Seq] = result.Write;
        while (_ready.Remove(_nextToWrite, out var write))
        {
            _nextToWrite++;
            write();
        }
    }

    /// <summary>Writes what the background submissions produced; with <paramref name="block"/>, until all have ended.</summary>
    private void DrainResults(bool block)
    {
        while (true)
        {
            while (_results.TryTake(out var result)) Accept(result);
            _uploadProgress?.Write();
            _waiter?.Pump();
            FlushVerbose();
            if (!block) return;
            if (_nextToWrite > _row) return;
            if (StopToken.IsCancellationRequested) return;
            // With -Wait, finished jobs are written while the last submissions run, at most 50 ms late.
            if (_results.TryTake(out var next, _waiter is null ? 100 : 50)) Accept(next);
        }
    }
}
