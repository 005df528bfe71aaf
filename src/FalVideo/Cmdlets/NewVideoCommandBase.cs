using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.PowerShell.Completion;
using FalVideo.Planning;
using FalVideo.PowerShell.Binding;
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
    // With -Wait and a Save-FalVideo later in the statement: where that save goes, recorded with each row's write-ahead
    // and submitted entries, so a kill mid-batch never leaves a paid job without its save request (see SaveIntents).
    private string? _saveFolder;
    private bool _saveFolderKnown;
    private SemaphoreSlim? _gate;
    private UploadProgress? _uploadProgress;
    private int _row;
    private readonly WhatIfBatch _whatIf = new();
    // Resolved once per invocation, like the client options: reading them costs file and environment look-ups per row.
    private FalVideo.Catalog.ModelCatalog? _catalog;
    private FalVideo.Journal.IJobStore? _journal;
    private FalVideo.Journal.EarlierSubmissions? _earlier;
    private JobSubmitter? _submitter;

    // Fail closed: a row is sent only once its write-ahead entry is on disk and nothing has stopped the batch. Rows
    // numbered above _haltAfter are never sent: Ctrl+C, the cmdlet's end before its EndProcessing (a terminating
    // error here or downstream), a row's error under -ErrorAction Stop, or a journal that can't be written.
    private CancellationToken _stop;     // StopToken, kept: still readable by the rows after the token source is disposed
    private bool _stopOnError;
    private int _haltAfter = int.MaxValue;
    private ErrorRecord? _haltError;     // what ends the batch when no row's own error does
    private int _sending;                // rows past their last check before sending, until their outcome is recorded
    private int _accepted;
    private int _cutOff;                 // submissions whose answer a stop cut off: recorded as ambiguous
    private int _notSent;
    private bool _completed;
    private readonly object _storeSync = new();
    private Exception? _lastStoreFailure;
    private int _storeFailures;
    private int _rowsNotWritten;

    /// <summary>Write failures of the journal in a row (each failed write counts once, however many rows it carried)
    /// after which the batch stops, when the failure is not one that stops it at once.</summary>
    private const int StoreFailuresToStop = 3;

    /// <summary>Rows whose records could not be written, in a row, after which the batch stops even when they failed in
    /// fewer writes: a group commit carries every row queued at one moment, so how many writes a failing store takes to
    /// refuse a batch depends on timing, and whether the batch stops must not.</summary>
    private const int RowsNotWrittenToStop = 5;

    /// <summary>The piped row itself (a CSV row, a Group-Object group, any object), filled by PowerShell from the pipeline and
    /// not meant to be given by hand (tab completion leaves it out): its properties bind to the other parameters by name,
    /// and errors about the row carry it as their TargetObject, so <c>$errors.TargetObject | Export-Csv failed.csv</c>
    /// rebuilds the rows that failed. Only its Row property is read from it, for the row number in messages.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

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

    /// <summary>fal's queue priority: Normal (fal's default) or Low, which waits behind every normal-priority request of
    /// the endpoint. Sent as <c>x-fal-queue-priority</c>. Binds from a <c>Priority</c> column.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvPriority]
    [ArgumentCompleter(typeof(PriorityCompleter))]
    public string? Priority { get; set; }

    /// <summary>An absolute http(s) URL fal POSTs the job's outcome to when it ends (sent as <c>?fal_webhook=</c>).
    /// Binds from a <c>WebhookUrl</c> column.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvWebhookUrl]
    public string? WebhookUrl { get; set; }

    /// <summary>Seconds the job may wait at fal before it starts (more than 1, as fal's clients require); if no runner
    /// has started it by then fal ends it with HTTP 504 (not billed). Sent as <c>x-fal-request-timeout</c>. Binds from a
    /// <c>StartTimeout</c> column.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvStartTimeout]
    public double? StartTimeout { get; set; }

    /// <summary>fal must not reroute the request to an equivalent alternative endpoint (which may be priced
    /// differently) when the requested one keeps failing. Sent as <c>x-fal-disable-fallbacks: true</c>. Binds from a
    /// <c>NoFallback</c> column (true/false).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvBoolean("NoFallback")]
    public SwitchParameter NoFallback { get; set; }

    /// <summary>How long fal keeps the output video: immediate (60 s), 1h, 1d, 7d, 30d, 1y, never (the account's
    /// setting), or a whole number of seconds. Sent as <c>x-fal-object-lifecycle-preference</c>. Binds from an
    /// <c>OutputExpiry</c> column. Save the video before it expires.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvOutputExpiry]
    [ArgumentCompleter(typeof(OutputExpiryCompleter))]
    public string? OutputExpiry { get; set; }

    /// <summary>The submit options of the current record (already checked while binding), or null when none is set.</summary>
    internal FalSubmitOptions? CurrentSubmitOptions()
    {
        var options = new FalSubmitOptions
        {
            QueuePriority = Priority,
            Webhook = WebhookUrl is null ? null : FalSubmitOptions.ParseWebhook(WebhookUrl, out _),
            StartTimeoutSeconds = StartTimeout,
            DisableFallbacks = NoFallback.IsPresent,
            ObjectExpirationSeconds = OutputExpiry is not null && FalSubmitOptions.TryParseExpiry(OutputExpiry, out var seconds, out _) ? seconds : null,
        };
        return options.IsEmpty ? null : options;
    }

    /// <summary>Waits for every submitted job to finish and emits them as they complete (see Wait-FalJob); each job is followed from the moment fal accepts it.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: the longest time to wait for all jobs, in seconds from the first job fal accepted (default: no limit).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>Submits rows the job store already has a job for (same model, input and Id: queued, running, completed or
    /// of unknown fate) instead of emitting that job. Each forced row still goes through -WhatIf/-Confirm.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How many submissions run at once; default 256, of which at most 8 upload local files at a time. fal queues what it can't run yet.</summary>
    // Why 64: fal runs 2 requests of a new account at once (up to 40 after credit purchases) and queues the rest
    // without rejecting them (PROTOCOL.md "Concurrency"), so how many submissions are in flight is not bound by the
    // account's limit: a batch is best submitted whole and quickly, then waited for (fal's JS client submits a whole
    // Promise.all batch at once). A submission is a short POST whose time is mostly waiting (the write-ahead journal
    // entry's flush to disk, the round trip), so more in flight means more rows per second, and the journal's group
    // commit shares one flush among all the rows submitting at that moment: 1,000 instant emulated jobs took 1.06 s
    // with 8, 0.91 s with 16, 0.84 s with 32 (IL engine); as the first batch of a process on a precompiled engine,
    // about 0.65 to 0.70 s with 32, 0.54 s with 64 and 0.53 s with 128 (bench/README.md). Once Wait-FalJob's
    // commits left the pipeline thread, the rows waiting for one of 64 slots were what held a batch back: later
    // batches of a session with 64 then 256, alternating, 1,037-1,445 and 837-1,118 ms a batch (2026-12-01). Uploads
    // are the slow part of a row with local files; MaxParallelUploads keeps those from crowding each other out on a
    // home uplink.
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 256;

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
            : VideoRequestPlanner.Plan(row, model, endpointMode, catalog, LocalPaths, problems);
    }

    /// <summary>The price catalog for this invocation (with the session's price overrides), read once at the first row.</summary>
    internal FalVideo.Catalog.ModelCatalog PriceCatalog => _catalog ??= FalSettings.Current.Catalog;

    /// <summary>How a row's local files resolve: as PowerShell paths (<c>~</c>, the current location, PSDrives), on the
    /// pipeline thread, where rows are planned (see <see cref="FalCmdletBase.ResolveMediaPath"/>).</summary>
    internal MediaPaths LocalPaths => _localPaths ??= new MediaPaths(text => ResolveMediaPath(SessionState, text));
    private MediaPaths? _localPaths;

    /// <summary>
    /// A shared (PostgreSQL) job store is connected to and its schema checked before any row: a connection string that
    /// can't be read, an unreachable host or a wrong password is one terminating error (FalJournalUnavailable, as the
    /// embedded store's failure), naming the store without its password, and nothing is sent.
    /// </summary>
    private void VerifySharedStore()
    {
        var settings = FalSettings.Current;
        var setting = settings.JobStoreSetting;
        if (!FalVideo.Journal.PostgresConnection.IsConnectionString(setting)) return;
        var shown = FalVideo.Journal.PostgresConnection.Describe(setting!);
        try
        {
            var store = settings.Journal;
            WriteVerbose($"Job store: {store.FilePath}.");
            FalVideo.Journal.JobStore.Verify(store);
            _journal = store;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or NotSupportedException)
        {
            var message = $"Nothing was sent: the job store {shown} cannot be used ({FalVideo.Journal.PostgresConnection.Mask(ex.Message, setting)}). " +
                          "No row is sent before its record is in the store. Fix the connection string (Set-FalConfiguration -JobStore, or " +
                          $"{FalSettings.JobStoreVariable}), then run the rows again.";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalUnavailable, message, shown, new IOException(message)));
        }
    }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (CommandLineValueError(MyInvocation, "Nothing was sent: a value given on the command line applies to every row.") is { } bad)
            ThrowTerminatingError(bad);
        VerifySharedStore();
        _stop = StopToken;
        _stopOnError = StopsOnError();
        _gate = new SemaphoreSlim(ThrottleLimit);
        _uploadProgress = new UploadProgress(this);
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        DrainResults(block: false);
        if (Volatile.Read(ref _haltAfter) != int.MaxValue) StopBatch();
        if (!_saveFolderKnown) (_saveFolder, _saveFolderKnown) = (Wait ? SaveIntents.FolderFor(this) : null, true);
        _row++;
        var problems = TakeBindingProblems().ToList();
        var plan = PlanRecord(problems, out var row);
        if (plan is not null) plan.SubmitOptions = CurrentSubmitOptions();
        var label = RowLabel(MyInvocation.ExpectingInput, _row, InputObject, row.Id);
        // The row as the user gave it, so the failed rows can be exported again; without pipeline input, its Id or prompt.
        var target = MyInvocation.ExpectingInput && InputObject is not null ? InputObject : row.Id ?? (object?)row.Prompt;
        var seq = _row;
        if (problems.Count > 0 || plan is null)
        {
            Post(seq, () => WriteInputError(label, problems, target));
            if (_stopOnError)
            {
                // The error will end the pipeline: no later row may go out meanwhile, and the earlier ones finish first.
                Halt(seq, null);
                StopBatch();
            }
            DrainResults(block: false);
            return;
        }
        var journal = _journal ??= FalSettings.Current.Journal;
        plan.IdempotencyKey = plan.ComputeIdempotencyKey(row.Id);
        var earlierSubmissions = _earlier ??= new FalVideo.Journal.EarlierSubmissions(journal, WriteWarning, ScopeQueueBaseUrl);
        // On the shared store, a row whose key the batch has not met goes straight to its claim when nothing needs the
        // look-up's answer on this thread first (see ClaimMayLook): the claim reads the key's earlier jobs in its own
        // transaction, where a look-up of its own would cost a round trip to the server per row.
        var firstClaim = plan.Uploads.Count == 0 && earlierSubmissions.LookUpIsRemote && ClaimMayLook()
            ? earlierSubmissions.FirstClaim(plan.IdempotencyKey) : null;
        FalJob? earlier = null;
        try { if (firstClaim is null) earlier = earlierSubmissions.Next(plan.IdempotencyKey); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Without the store's answer a re-run could pay twice: the row is not sent.
            var message = $"{label}: not sent: the job store {journal.FilePath} could not be read to check for an earlier submission of this row ({ex.Message}).";
            var rowError = ErrorRecords.Create(FalErrorIds.JournalNotWritten, message, target, new IOException(message, ex), FalErrorCategory.ReadError);
            // A store that can't answer counts toward stopping the batch as one that can't be written does: on a full
            // disk every later row would fail the same way.
            Post(seq, () => WriteError(rowError));
            if (CountStoreFailure(seq, journal, ex) || _stopOnError) { Halt(seq, null); StopBatch(); }
            DrainResults(block: false);
            return;
        }
        if (earlier is not null && !Force)
        {
            SkipEarlier(seq, label, plan, row, earlier, target);
            DrainResults(block: false);
            return;
        }
        var started = false;
        try
        {
            // ShouldProcess needs the pipeline thread, and earlier rows' output should come first.
            var shown = earlier is null ? plan.Describe(label) : $"{plan.Describe(label)} (a re-submission: {Already(earlier)})";
            if (!ShouldProcess(shown, earlier is null ? "Submit to fal" : "Submit to fal again"))
            {
                if (WhatIfInEffect()) _whatIf.Add(plan.Cost);
                Post(seq, () => { }); DrainResults(block: false); return;
            }

            var client = Client;         // resolved on the pipeline thread: settings belong to this runspace
            _gate!.Wait(StopToken);
            var claim = firstClaim ?? (earlier is null ? earlierSubmissions.Claim(plan.IdempotencyKey) : null);
            // Not kept: SubmitAsync reports every outcome through Post, and EndProcessing waits for all rows' posts. A list of
            // these tasks would hold every finished row's state machine (its plan, input and job) until the pipeline ends.
            _ = Task.Run(async () =>
            {
                var slot = new Slot(_gate);
                try { await SubmitAsync(seq, client, journal, plan, row, label, target, slot, claim).ConfigureAwait(false); }
                // SubmitAsync posts every outcome itself; this catches only a failure of that reporting, so the row still
                // gets its error and EndProcessing does not wait for it forever.
                catch (Exception ex) { Post(seq, () => WriteError(ToErrorRecord(ex, target, label))); }
                finally
                {
                    slot.Release();
                    // A later row with the same key waits for this claim's answer (EarlierSubmissions.Next): it gets it
                    // whatever happened to the row.
                    if (firstClaim is not null) earlierSubmissions.Release(firstClaim);
                }
            });
            started = true;
        }
        finally
        {
            if (!started && firstClaim is not null) earlierSubmissions.Release(firstClaim);
        }
    }

    private bool? _claimMayLook;

    /// <summary>
    /// Whether a row's look for earlier submissions of its key may be left to its write-ahead claim
    /// (<see cref="FalVideo.Journal.EarlierSubmissions.FirstClaim"/>), which answers after the row left the pipeline
    /// thread. Only when the answer changes nothing there: not with -WhatIf (nothing is claimed), -Confirm or a
    /// $ConfirmPreference that asks (the question names a re-submission), -Verbose or $VerbosePreference (ShouldProcess
    /// writes a line for a row it lets through, and a skipped row has none), -Force (a re-submission writes ahead
    /// without a claim), or -ErrorAction Stop (an earlier attempt of unknown fate stops the batch before any later row
    /// is planned). The caller also keeps the look-up for rows with local files, which are uploaded before their claim.
    /// </summary>
    private bool ClaimMayLook() => _claimMayLook ??= !Force && !_stopOnError && !WhatIfInEffect() && !ConfirmMayAsk() && !VerboseInEffect();

    /// <summary>Whether ShouldProcess may ask before a row (-Confirm, or a $ConfirmPreference at or below this cmdlet's
    /// ConfirmImpact).</summary>
    private bool ConfirmMayAsk()
    {
        var impact = GetType().GetCustomAttributes(typeof(CmdletAttribute), inherit: true).OfType<CmdletAttribute>().FirstOrDefault()?.ConfirmImpact ?? ConfirmImpact.Medium;
        if (impact == ConfirmImpact.None) return false;
        ConfirmImpact preference;
        if (MyInvocation.BoundParameters.TryGetValue("Confirm", out var bound)) preference = LanguagePrimitives.IsTrue(bound) ? ConfirmImpact.Low : ConfirmImpact.None;
        else if (!LanguagePrimitives.TryConvertTo(GetVariableValue("ConfirmPreference"), out preference)) return true;
        return preference != ConfirmImpact.None && impact >= preference;
    }

    /// <summary>Whether verbose lines may be written (-Verbose, or $VerbosePreference other than SilentlyContinue or Ignore).</summary>
    private bool VerboseInEffect()
    {
        if (MyInvocation.BoundParameters.TryGetValue("Verbose", out var bound) && LanguagePrimitives.IsTrue(bound)) return true;
        return !(LanguagePrimitives.TryConvertTo<ActionPreference>(GetVariableValue("VerbosePreference"), out var preference) &&
                 preference is ActionPreference.SilentlyContinue or ActionPreference.Ignore);
    }

    /// <summary>
    /// A row the store already has a job for is not sent again: the earlier job is emitted (followed, with -Wait) with a
    /// warning, or, when fal may or may not have the earlier attempt, the row gets an error saying how to settle it.
    /// </summary>
    private void SkipEarlier(int seq, string label, VideoRequestPlan plan, VideoRow row, FalJob earlier, object? target)
    {
        var rowName = RowName(label, plan, row);
        if (WhatIfInEffect())
        {
            ShouldProcess($"{plan.Describe(label)}: {Already(earlier)}; it would not be sent again (-Force sends it)", "Skip");
            _whatIf.Skipped++;
            Post(seq, () => { });
            return;
        }
        if (FalVideo.Journal.EarlierSubmissions.MayBeInFlight(earlier))
        {
            // Another process (or machine) is sending this row right now: wait for fal's answer to it, then stand on it.
            var inFlightClient = Client;
            var store = _journal!;
            var submitter = _submitter ??= new JobSubmitter(inFlightClient, store, Math.Min(ThrottleLimit, MaxParallelUploads));
            _ = Task.Run(async () =>
            {
                FalJob settled;
                try { settled = await submitter.AwaitAnswerAsync(earlier, plan.IdempotencyKey!, _stop).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { settled = earlier; }
                Post(seq, () => EmitEarlier(label, plan, row, settled, inFlightClient, target));
            });
            return;
        }
        if (FalVideo.Journal.EarlierSubmissions.IsAmbiguous(earlier))
        {
            var error = AmbiguousEarlierError(rowName, earlier, target);
            Post(seq, () => WriteError(error));
            if (_stopOnError) { Halt(seq, null); StopBatch(); }
            return;
        }
        var client = Client;
        Post(seq, () => EmitEarlier(label, plan, row, earlier, client, target));
    }

    private static string RowName(string label, VideoRequestPlan plan, VideoRow row)
    {
        // The label names the row's Id when it has one; else a short prompt says which row it is.
        var who = row.Id is null ? (plan.Prompt.Length > 40 ? plan.Prompt[..37] + "..." : plan.Prompt) : null;
        return string.IsNullOrEmpty(who) ? label : $"{label} ({who})";
    }

    private static ErrorRecord AmbiguousEarlierError(string rowName, FalJob earlier, object? target)
    {
        var message = $"{rowName}: not sent: an earlier attempt on {When(earlier)} may or may not have reached fal (no request id was recorded; " +
                      $"journal id {earlier.JournalId}), and sending it again could pay twice. Check fal's dashboard (the request list of " +
                      $"{earlier.EndpointId}). If fal never got it, forget that record (Get-FalJob -Status Unknown | Remove-FalJob) and run the row again; " +
                      "if it did, or to send it anyway, run the row again with -Force.";
        return ErrorRecords.Create(FalErrorIds.AmbiguousEarlierSubmission, message, target);
    }

    /// <summary>On the pipeline thread: emits the earlier job a row stands on (followed, with -Wait) with the re-run's
    /// warning, or the error of an earlier attempt whose fate is unknown.</summary>
    private void EmitEarlier(string label, VideoRequestPlan plan, VideoRow row, FalJob earlier, FalQueueClient client, object? target)
    {
        var rowName = RowName(label, plan, row);
        if (FalVideo.Journal.EarlierSubmissions.IsAmbiguous(earlier))
        {
            WriteError(AmbiguousEarlierError(rowName, earlier, target));
            return;
        }
        WriteWarning($"{rowName}: {Already(earlier)}; not sent again. Use -Force to submit it anyway.");
        if (Wait) (_waiter ??= new JobWaiter(this, client, ClientOptions.QueueBaseUrl, JobWaiter.DefaultThrottleLimit, Timeout, StopToken)).Add(earlier);
        else WriteObject(earlier);
    }

    private static string Already(FalJob earlier) => string.IsNullOrEmpty(earlier.RequestId)
        ? $"already attempted on {When(earlier)} with an unknown outcome"
        : $"already submitted as {earlier.RequestId} on {When(earlier)}";

    private static string When(FalJob job) =>
        job.SubmittedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC";

    private bool WhatIfInEffect()
    {
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)) return LanguagePrimitives.IsTrue(bound);
        return LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        DrainResults(block: true);
        // -WhatIf ends with one line for the whole batch, after every row's own line.
        if (WhatIfInEffect() && _whatIf.Any) ShouldProcess(_whatIf.Describe(), null, null);
        if (Volatile.Read(ref _haltAfter) != int.MaxValue) StopBatch();
        _uploadProgress?.Write(force: true);
        _waiter?.Finish();
        base.EndProcessing();
        _completed = !StopToken.IsCancellationRequested;
    }

    /// <inheritdoc />
    protected override void OnDispose()
    {
        // Nothing is sent from here on. Rows already sending get a moment to record fal's answer (or, cut off by Ctrl+C,
        // an ambiguous entry) before the client goes; their write-ahead entries are on disk whatever happens.
        Interlocked.Exchange(ref _haltAfter, 0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var grace = _stop.IsCancellationRequested ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref _sending) > 0 && clock.Elapsed < grace) Thread.Sleep(10);
        _waiter?.Dispose();
        if (!_completed) WarnStopped();
    }

    /// <summary>
    /// Tells the host, which still listens while a stopped pipeline refuses Write*, what a stop left at fal: the jobs
    /// fal accepted and nobody waited for to the end, the submissions cut off, and the command that resumes them.
    /// </summary>
    private void WarnStopped()
    {
        var running = Volatile.Read(ref _accepted) - (_waiter?.FinishedCount ?? 0);
        var unknown = Volatile.Read(ref _cutOff) + Volatile.Read(ref _sending);
        var notSent = Volatile.Read(ref _notSent);
        if (running <= 0 && unknown == 0) return;
        var text = $"Stopped: {Math.Max(running, 0)} job(s) fal accepted from this command are still running at fal and were not cancelled " +
                   $"(Stop-FalJob cancels). They are in the job journal: resume with {JobWaiter.ResumeCommand}.";
        if (unknown > 0)
            text += $" {unknown} submission(s) were in flight at the stop: fal may have accepted them; the journal lists them with status Unknown " +
                    "(Get-FalJob -Status Unknown). Check fal's dashboard before sending them again.";
        if (notSent > 0) text += $" {notSent} row(s) already prepared were not sent.";
        Host.UI.WriteWarningLine(text);
    }

    /// <summary>Whether this invocation's errors stop the pipeline (-ErrorAction Stop, or $ErrorActionPreference).</summary>
    private bool StopsOnError()
    {
        var preference = MyInvocation.BoundParameters.TryGetValue("ErrorAction", out var bound) ? bound : GetVariableValue("ErrorActionPreference");
        return LanguagePrimitives.TryConvertTo<ActionPreference>(preference, out var p) && p == ActionPreference.Stop;
    }

    /// <summary>No row numbered above <paramref name="seq"/> is sent from now on; <paramref name="error"/> ends the batch
    /// when no row's own error does.</summary>
    private void Halt(int seq, ErrorRecord? error)
    {
        var current = Volatile.Read(ref _haltAfter);
        while (seq < current)
        {
            var seen = Interlocked.CompareExchange(ref _haltAfter, seq, current);
            if (seen == current) break;
            current = seen;
        }
        if (error is not null) Interlocked.CompareExchange(ref _haltError, error, null);
    }

    private bool Halted(int seq) => seq > Volatile.Read(ref _haltAfter) || _stop.IsCancellationRequested;

    /// <summary>Ends a halted batch on the pipeline thread: the rows before the halt are written in order (a row's error
    /// under -ErrorAction Stop throws there), then the error that halted it.</summary>
    private void StopBatch()
    {
        DrainResults(block: true);
        if (StopToken.IsCancellationRequested) throw new PipelineStoppedException();
        ThrowTerminatingError(_haltError ?? ErrorRecords.Create(FalErrorIds.BatchStopped, BatchStoppedMessage, null,
            new OperationCanceledException(BatchStoppedMessage)));
    }

    private const string BatchStoppedMessage = "The batch was stopped by an earlier error; no later row was sent.";

    private static ErrorRecord AccountLockedStop(Exception cause)
    {
        var message = "The batch was stopped: the fal account is locked because its balance is exhausted, so fal would refuse every " +
                      $"later row the same way; no later row was sent and nothing was billed for the refused ones. Top up the balance at " +
                      $"{FalAccountLockedException.BillingUrl}, then run the rows again: rows fal already accepted are not sent twice.";
        return ErrorRecords.Create(FalErrorIds.AccountLocked, message, null, new FalAccountLockedException(message, cause));
    }

    /// <summary>One row's place among the -ThrottleLimit submissions in flight, given back once (early or at the end).</summary>
    private sealed class Slot(SemaphoreSlim gate)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    private async Task SubmitAsync(int seq, FalQueueClient client, FalVideo.Journal.IJobStore journal, VideoRequestPlan plan, VideoRow row, string label, object? target, Slot slot,
        FalVideo.Journal.IdempotencyClaim? claim)
    {
        if (Halted(seq))
        {
            Interlocked.Increment(ref _notSent);
            Post(seq, () => { });
            return;
        }
        var submitter = _submitter ??= new JobSubmitter(client, journal, Math.Min(ThrottleLimit, MaxParallelUploads));
        var uploads = _uploadProgress!;
        var guard = new SubmitGuard
        {
            // The cmdlet's disposal sets the halt before it counts the rows in flight: either this row sees the halt and
            // sends nothing, or the disposal waits for this row's outcome.
            MayStillSend = () => !Halted(seq),
            Sending = () => Interlocked.Increment(ref _sending),
            Settled = () => Interlocked.Decrement(ref _sending),
            Accepted = () =>
            {
                Interlocked.Increment(ref _accepted);
                // fal has answered: the next row may send its request while this one's id is recorded.
                slot.Release();
            },
            UploadStarted = path =>
            {
                var tracked = uploads.Start(path);
                return (tracked.Report, () => tracked.Done = true);
            },
        };
        var result = await submitter.SubmitAsync(plan, row.Id, _saveFolder, guard, _stop, claim).ConfigureAwait(false);
        // Every outcome past the write-ahead record means the store took a write: the failures in a row start again.
        if (result.Outcome is not (SubmitOutcome.WriteAheadFailed or SubmitOutcome.UploadFailed or SubmitOutcome.StoppedBeforeWriteAhead))
            StoreWritten();
        switch (result.Outcome)
        {
            case SubmitOutcome.StoppedBeforeWriteAhead:
                // Stopped while uploading: uploads alone cost nothing and leave no record.
                Post(seq, () => { });
                break;
            case SubmitOutcome.WriteAheadFailed:
                var error = StoreFailed(seq, journal, result.Error!, target, label);
                Post(seq, () => WriteError(error));
                break;
            case SubmitOutcome.UploadFailed:
            case SubmitOutcome.Rejected:
                Post(seq, () => WriteError(ToErrorRecord(result.Error!, target, label)));
                // fal answers every later row of a locked account the same way: the batch stops here.
                if (result.Error is FalAccountLockedException) Halt(seq, AccountLockedStop(result.Error));
                else if (_stopOnError) Halt(seq, null);
                break;
            case SubmitOutcome.ClaimLost:
                // Another run (another process or machine) claimed this row's key first: the row stands on its job, as a
                // re-run does on an earlier one.
                Post(seq, () => EmitEarlier(label, plan, row, result.Job!, client, target));
                break;
            case SubmitOutcome.FoundEarlier:
                // The claim found what a look-up before it would have: the row stands on that job as SkipEarlier has a
                // re-run's row stand on it, waiting first for fal's answer to another run's submission still on its way.
                slot.Release();
                var found = result.Job!;
                if (FalVideo.Journal.EarlierSubmissions.MayBeInFlight(found))
                {
                    try { found = await submitter.AwaitAnswerAsync(found, plan.IdempotencyKey!, _stop).ConfigureAwait(false); }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
                }
                Post(seq, () => EmitEarlier(label, plan, row, found, client, target));
                break;
            case SubmitOutcome.NotSent:
                Interlocked.Increment(ref _notSent);
                Post(seq, () => { });
                break;
            case SubmitOutcome.CutOff:
                Interlocked.Increment(ref _cutOff);
                Post(seq, () => { });
                break;
            case SubmitOutcome.Ambiguous:
                Post(seq, () => WriteError(ToErrorRecord(result.Error!, target,
                    $"{label} (ambiguous submission: fal may have accepted it; check fal's dashboard before resubmitting)")));
                if (_stopOnError) Halt(seq, null);
                break;
            case SubmitOutcome.Accepted:
                var job = result.Job!;
                var storeError = result.StoreError;
                // A failed record of the request id counts towards stopping the batch; the paid job is still emitted.
                if (storeError is not null) StoreFailed(seq, journal, storeError, target, label);
                Post(seq, () =>
                {
                    if (storeError is not null) WriteWarning(JournalWarning(journal, job, storeError.Message));
                    if (Wait) (_waiter ??= new JobWaiter(this, client, ClientOptions.QueueBaseUrl, JobWaiter.DefaultThrottleLimit, Timeout, StopToken)).Add(job);
                    else WriteObject(job);
                });
                break;
        }
    }

    /// <summary>A journal write succeeded: the failures in a row start again from zero.</summary>
    private void StoreWritten()
    {
        lock (_storeSync)
        {
            _storeFailures = 0;
            _rowsNotWritten = 0;
            _lastStoreFailure = null;
        }
    }

    /// <summary>
    /// Counts a journal write that failed and halts the batch when the journal keeps failing or fails in a way that won't
    /// heal (a folder, a path under a file, no permission); returns the row's own error (its row was not sent).
    /// </summary>
    private ErrorRecord StoreFailed(int seq, FalVideo.Journal.IJobStore journal, Exception ex, object? target, string label)
    {
        var cause = StoreFailureCause(journal.FilePath, ex, out _);
        if (!CountStoreFailure(seq, journal, ex) && _stopOnError) Halt(seq, null);
        var rowMessage = $"{label}: not sent: its entry could not be written to the job journal {journal.FilePath} ({cause}). " +
                         "A row is sent only once its journal entry is on disk, so nothing was billed for it.";
        return ErrorRecords.Create(FalErrorIds.JournalNotWritten, rowMessage, target, new IOException(rowMessage, ex));
    }

    /// <summary>
    /// Counts a failed store read or write and halts the batch with FalJournalUnavailable when the store keeps failing
    /// or fails in a way that won't heal; true when the batch was halted.
    /// </summary>
    private bool CountStoreFailure(int seq, FalVideo.Journal.IJobStore journal, Exception ex)
    {
        var cause = StoreFailureCause(journal.FilePath, ex, out var lasting);
        int failures, rows;
        lock (_storeSync)
        {
            // Rows written together fail with the same exception: one failed write, counted once.
            if (!ReferenceEquals(ex, _lastStoreFailure))
            {
                _lastStoreFailure = ex;
                _storeFailures++;
            }
            failures = _storeFailures;
            rows = ++_rowsNotWritten;
        }
        if (lasting || failures >= StoreFailuresToStop || rows >= RowsNotWrittenToStop)
        {
            var why = lasting ? cause : failures >= StoreFailuresToStop ? $"{cause}; {failures} writes failed in a row" : $"{cause}; {rows} rows in a row could not be recorded";
            var message = $"The batch was stopped: the job journal {journal.FilePath} cannot be written ({why}). No row is sent before its " +
                          "journal entry is on disk, so no later row was sent. Fix the journal, or choose another with Set-FalConfiguration " +
                          $"-JournalPath (or {FalVideo.Journal.JobJournal.PathVariable}), then send the remaining rows again.";
            Halt(seq, ErrorRecords.Create(FalErrorIds.JournalUnavailable, message, journal.FilePath, new IOException(message, ex)));
            return true;
        }
        return false;
    }

    /// <summary>Why the journal could not be written, in words; <paramref name="lasting"/> when retrying cannot help.</summary>
    private static string StoreFailureCause(string path, Exception ex, out bool lasting)
    {
        lasting = true;
        if (Directory.Exists(path)) return "the path is a folder, not a file";
        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(dir)) return $"{dir} is a file, not a folder";
        }
        lasting = ex is UnauthorizedAccessException;
        return ex.Message;
    }

    // Results come back from parallel submissions in any order; the pump writes them in row order.
    private void Post(int seq, Action write) => Pump.PostInOrder(seq, write);

    /// <summary>Writes what the background submissions produced; with <paramref name="block"/>, until all have ended.</summary>
    private void DrainResults(bool block)
    {
        var pump = Pump;
        if (!block)
        {
            pump.Drain();
            _uploadProgress?.Write();
            _waiter?.Pump();
            return;
        }
        // With -Wait, finished jobs are written while the last submissions run, at most 50 ms late.
        pump.WaitUntil(() => pump.NextInOrder > _row, () =>
        {
            _uploadProgress?.Write();
            _waiter?.Pump();
        }, _waiter is null ? 100 : 50);
    }
}

/// <summary>What a -WhatIf run would have sent: the batch line's request count and estimated total.</summary>
internal sealed class WhatIfBatch
{
    private int _requests;
    private int _unpriced;
    private bool _upperBound;
    private decimal _total;

    /// <summary>Rows not sent because the job store already has them (-Force sends them).</summary>
    public int Skipped { get; set; }

    public bool Any => _requests > 0 || Skipped > 0;

    public void Add(FalVideo.Catalog.CostBreakdown? cost)
    {
        _requests++;
        if (cost is null) { _unpriced++; return; }
        _total += cost.TotalUsd;
        _upperBound |= cost.IsUpperBound;
    }

    /// <summary>e.g. <c>Batch: 5 request(s), estimated total 6.58 USD; 1 with price unknown not in the total</c>; "price unknown"
    /// when no request has a price.</summary>
    public string Describe()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var line = $"Batch: {_requests} request(s)";
        line += _requests == 0 ? ""
            : _unpriced == _requests ? ", price unknown"
            : $", estimated total {(_upperBound ? "at most " : "")}{_total.ToString("0.00", inv)} USD" + (_unpriced > 0 ? $"; {_unpriced} with price unknown not in the total" : "");
        if (Skipped > 0) line += $"; {Skipped} already submitted, not sent again";
        return line;
    }
}
