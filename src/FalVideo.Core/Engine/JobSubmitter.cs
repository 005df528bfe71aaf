using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Planning;

namespace FalVideo.Engine;

/// <summary>How one row's submission ended (<see cref="JobSubmitter.SubmitAsync"/>).</summary>
public enum SubmitOutcome
{
    /// <summary>Stopped during the uploads: nothing recorded, nothing sent, nothing billed.</summary>
    StoppedBeforeWriteAhead,
    /// <summary>A local file could not be uploaded: nothing recorded, nothing sent.</summary>
    UploadFailed,
    /// <summary>The write-ahead record could not be written: not sent.</summary>
    WriteAheadFailed,
    /// <summary>The batch stopped after the write-ahead record: recorded as rejected, not sent.</summary>
    NotSent,
    /// <summary>fal accepted it: <see cref="SubmitResult.Job"/> has its request id.</summary>
    Accepted,
    /// <summary>fal refused it, or it provably never left: recorded as rejected, nothing billed.</summary>
    Rejected,
    /// <summary>The answer is unknown: recorded as ambiguous; fal may bill it.</summary>
    Ambiguous,
    /// <summary>A stop cut the submission off in flight: recorded as ambiguous.</summary>
    CutOff,
    /// <summary>Another run (another process, another machine) claimed the same idempotency key first: nothing
    /// recorded, nothing sent; <see cref="SubmitResult.Job"/> is that run's job.</summary>
    ClaimLost,
    /// <summary>The row's claim made the batch's first look at its key (<see cref="EarlierSubmissions.FirstClaim"/>)
    /// and found an earlier job that blocks it, the one a look-up before the claim would have found: nothing recorded,
    /// nothing sent; <see cref="SubmitResult.Job"/> is that job, as the store had it (the caller treats it as a re-run's
    /// row, and waits for it when it may still be in flight).</summary>
    FoundEarlier,
}

/// <summary>What <see cref="JobSubmitter.SubmitAsync"/> did with one row.</summary>
public sealed class SubmitResult(SubmitOutcome outcome, FalJob? job, Exception? error, Exception? storeError = null)
{
    /// <summary>How it ended.</summary>
    public SubmitOutcome Outcome { get; } = outcome;

    /// <summary>The job as recorded (null when nothing was recorded).</summary>
    public FalJob? Job { get; } = job;

    /// <summary>The failure, for every outcome but <see cref="SubmitOutcome.Accepted"/> and <see cref="SubmitOutcome.NotSent"/>.</summary>
    public Exception? Error { get; } = error;

    /// <summary>For <see cref="SubmitOutcome.Accepted"/>: the store could not record the request id (the job is paid;
    /// its write-ahead record is durable).</summary>
    public Exception? StoreError { get; } = storeError;
}

/// <summary>
/// What the caller of <see cref="JobSubmitter.SubmitAsync"/> decides and counts while a row is submitted: the batch's
/// stop (checked once more after the write-ahead record is durable, just before the request leaves), the submissions
/// in flight, the moment fal answered, and upload progress.
/// </summary>
public sealed class SubmitGuard
{
    /// <summary>False once the batch stopped: the row is not sent. Asked after <see cref="Sending"/>.</summary>
    public required Func<bool> MayStillSend { get; init; }

    /// <summary>The row passed its write-ahead record and is about to take its last look at <see cref="MayStillSend"/>.</summary>
    public Action? Sending { get; init; }

    /// <summary>The row's outcome is recorded (after <see cref="Sending"/>); runs once.</summary>
    public Action? Settled { get; init; }

    /// <summary>fal accepted the request; runs before its request id is recorded (the next row may go meanwhile).</summary>
    public Action? Accepted { get; init; }

    /// <summary>An upload starts: returns its progress callback (bytes sent, file size) and what to call when it ends.</summary>
    public Func<string, (Action<long, long> Report, Action Done)>? UploadStarted { get; init; }
}

/// <summary>
/// Submits one planned row: uploads its local files, records the write-ahead record, sends the request, and records
/// fal's answer (submitted, rejected, or ambiguous when the answer is unknown), each through <see cref="JobLifecycle"/>,
/// so nothing is sent before its write-ahead record is durable and a paid job always has a record. Several rows may be
/// submitted at once; at most <c>maxParallelUploads</c> of them upload at a time.
/// </summary>
public sealed class JobSubmitter
{
    private readonly FalQueueClient _client;
    private readonly IJobStore _store;
    private readonly SemaphoreSlim _uploadGate;

    /// <summary>A submitter using <paramref name="client"/> and recording in <paramref name="store"/>.</summary>
    /// <param name="client">The queue client.</param>
    /// <param name="store">The job store.</param>
    /// <param name="maxParallelUploads">Rows uploading at once (at least 1).</param>
    public JobSubmitter(FalQueueClient client, IJobStore store, int maxParallelUploads)
    {
        _client = client;
        _store = store;
        _uploadGate = new SemaphoreSlim(Math.Max(1, maxParallelUploads));
    }

    /// <summary>The job a plan becomes, before it is sent (no request id, status Unknown).</summary>
    /// <param name="plan">The planned request (its uploads resolved).</param>
    /// <param name="rowId">The row's Id, if any.</param>
    public static FalJob NewJob(VideoRequestPlan plan, string? rowId) => new()
    {
        RequestId = "",
        EndpointId = plan.EndpointId,
        Model = plan.ModelName,
        Mode = plan.Mode,
        Id = rowId,
        Status = FalJobStatus.Unknown,
        Prompt = plan.Prompt,
        DurationSeconds = plan.DurationSeconds,
        EstimatedCostUsd = plan.Cost?.TotalUsd,
        SubmittedAt = DateTimeOffset.UtcNow,
        Input = plan.Input.ToJsonString(),
        RouteReason = plan.RouteReason,
        IdempotencyKey = plan.IdempotencyKey,
        SubmitOptions = plan.SubmitOptions is { IsEmpty: false } options ? options : null,
    };

    /// <summary>Submits one row. Never throws for the row's own failure: the result says what happened.</summary>
    /// <param name="plan">The planned request.</param>
    /// <param name="rowId">The row's Id, if any.</param>
    /// <param name="saveDirectory">Where a save later in the pipeline goes, recorded with the job; null for none.</param>
    /// <param name="guard">The caller's stop check and counters.</param>
    /// <param name="stop">Ctrl+C: stops uploads; a submission it cuts off is recorded as ambiguous.</param>
    /// <param name="claim">The row's claim on its idempotency key, checked atomically with the write-ahead record
    /// (<see cref="IJobStore.ClaimAheadAsync"/>); null to write ahead without one (-Force).</param>
    public async Task<SubmitResult> SubmitAsync(VideoRequestPlan plan, string? rowId, string? saveDirectory, SubmitGuard guard, CancellationToken stop,
        IdempotencyClaim? claim = null)
    {
        try { await UploadAsync(plan, guard, stop).ConfigureAwait(false); }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return new SubmitResult(SubmitOutcome.StoppedBeforeWriteAhead, null, null);
        }
        catch (Exception ex) { return new SubmitResult(SubmitOutcome.UploadFailed, null, ex); }

        // Write-ahead: the row is durable before the request leaves, so no death in between can lose a paid job.
        // Rows submitting at the same moment share one commit (the store's group commit).
        var job = NewJob(plan, rowId);
        job.SaveDirectory = saveDirectory;
        // Scopes the job to the host it goes to, so a rehearsal against the emulator never mixes with real spend.
        job.QueueHost = FalJob.HostOf(_client.QueueBaseUrl);
        // Who sent it, kept in the job's own record so every store (and a copy between stores) knows whose job it is.
        job.Machine = Environment.MachineName;
        job.User = Environment.UserName;
        var life = new JobLifecycle(_store, job);
        try
        {
            if (claim is null) await life.MoveToAsync(JobState.WriteAhead).ConfigureAwait(false);
            else if (await ClaimAsync(life, claim, stop).ConfigureAwait(false) is { } winner)
                return new SubmitResult(claim.FoundEarlier ? SubmitOutcome.FoundEarlier : SubmitOutcome.ClaimLost, winner, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new SubmitResult(SubmitOutcome.WriteAheadFailed, job, ex);
        }

        // Counted before the last look at the stop: the caller either sees this row in flight or the row sees the stop.
        guard.Sending?.Invoke();
        try
        {
            if (!guard.MayStillSend())
            {
                job.Error = "Not sent: the batch was stopped before this row's request left.";
                await TryMoveAsync(life, JobState.Rejected).ConfigureAwait(false);
                return new SubmitResult(SubmitOutcome.NotSent, job, null);
            }
            return await SendAsync(plan, life, guard, stop).ConfigureAwait(false);
        }
        finally { guard.Settled?.Invoke(); }
    }

    /// <summary>How long a row that lost its claim waits for the winner's submission to get fal's answer.</summary>
    private static readonly TimeSpan s_winnerWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Claims the row's key with its write-ahead record; null when the claim held. A claim lost to another run's
    /// submission still on its way (written ahead, no request id yet) waits for fal's answer to it, so the row stands
    /// on a job with a request id; when that submission ended without one that blocks (fal refused it), the claim is
    /// tried again. A first-look claim that found an earlier job (<see cref="IdempotencyClaim.FoundEarlier"/>) returns it
    /// at once, as the store had it: the caller decides as for a job a look-up found.
    /// </summary>
    private async Task<FalJob?> ClaimAsync(JobLifecycle life, IdempotencyClaim claim, CancellationToken stop)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await life.ClaimWriteAheadAsync(claim).ConfigureAwait(false) is not { } winner) return null;
            if (claim.FoundEarlier) return winner;
            winner = await AwaitAnswerAsync(winner, claim.Key, stop).ConfigureAwait(false);
            if (EarlierSubmissions.Blocks(winner) || attempt >= 2) return winner;
        }
    }

    /// <summary>
    /// Waits (up to 30 s, reading the store every 200 ms) while <paramref name="earlier"/>, another run's submission of
    /// the same row, is on its way to fal (written ahead, no request id yet); returns it as the store last knew it: with
    /// its request id, refused, ambiguous, or still waiting when the time ran out or <paramref name="stop"/> fired.
    /// </summary>
    /// <param name="earlier">The other run's job.</param>
    /// <param name="idempotencyKey">The row's key (the job is found again by it and its journal id).</param>
    /// <param name="stop">Stops the wait.</param>
    /// <exception cref="IOException">The store can't be read.</exception>
    public async Task<FalJob> AwaitAnswerAsync(FalJob earlier, string idempotencyKey, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        var started = DateTime.UtcNow;
        while (EarlierSubmissions.IsAmbiguous(earlier) && DateTime.UtcNow - started < s_winnerWait && !stop.IsCancellationRequested)
        {
            try { await Task.Delay(200, stop).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            var now = _store.FindByIdempotencyKeys([idempotencyKey])
                .FirstOrDefault(j => j.JournalId is { Length: > 0 } id && id == earlier.JournalId);
            if (now is null) break;
            earlier = now;
        }
        return earlier;
    }

    private async Task UploadAsync(VideoRequestPlan plan, SubmitGuard guard, CancellationToken stop)
    {
        if (plan.Uploads.Count == 0) return;
        await _uploadGate.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            foreach (var upload in plan.Uploads)
            {
                var (report, done) = guard.UploadStarted?.Invoke(upload.Path) ?? ((_, _) => { }, () => { });
                try
                {
                    var url = await _client.UploadFileAsync(upload.Path, null, report, stop).ConfigureAwait(false);
                    plan.ResolveUpload(upload, url);
                }
                finally { done(); }
            }
        }
        finally { _uploadGate.Release(); }
    }

    private async Task<SubmitResult> SendAsync(VideoRequestPlan plan, JobLifecycle life, SubmitGuard guard, CancellationToken stop)
    {
        var job = life.Job;
        FalSubmitResult submitted;
        try { submitted = await _client.SubmitAsync(plan.EndpointId, plan.Input, plan.SubmitOptions, stop).ConfigureAwait(false); }
        catch (Exception ex) when (ex is FalException and not FalAmbiguousSubmissionException || ex is ArgumentException)
        {
            // fal refused it, or it provably never left (the client says so with these): close the write-ahead record.
            job.Error = ex.Message;
            await TryMoveAsync(life, JobState.Rejected).ConfigureAwait(false);
            return new SubmitResult(SubmitOutcome.Rejected, job, ex);
        }
        catch (Exception ex)
        {
            // Anything else leaves the answer unknown: fal may have accepted (and will bill) this request, and there is
            // no request id to follow. A stop that cut the request off is one of these. Never resubmitted, never rejected.
            var cutOff = stop.IsCancellationRequested;
            job.Error = cutOff ? "Stopped while the submission was in flight; fal may have accepted it." : ex.Message;
            await TryMoveAsync(life, JobState.Ambiguous).ConfigureAwait(false);
            return new SubmitResult(cutOff ? SubmitOutcome.CutOff : SubmitOutcome.Ambiguous, job, ex);
        }

        guard.Accepted?.Invoke();
        job.RequestId = submitted.RequestId;
        job.SubmittedAt = DateTimeOffset.UtcNow;
        job.QueuePosition = submitted.QueuePosition;
        job.StatusUrl = submitted.StatusUrl.ToString();
        job.ResponseUrl = submitted.ResponseUrl.ToString();
        job.CancelUrl = submitted.CancelUrl.ToString();
        // The request id is recorded before the job is emitted. If that fails, the job is paid and its write-ahead
        // record is durable: it is still emitted (queued, as fal said), and the caller warns.
        var storeError = await TryMoveAsync(life, JobState.Submitted).ConfigureAwait(false);
        if (storeError is not null) job.Status = FalJobStatus.InQueue;
        return new SubmitResult(SubmitOutcome.Accepted, job, null, storeError);
    }

    private static async Task<Exception?> TryMoveAsync(JobLifecycle life, JobState to)
    {
        try
        {
            await life.MoveToAsync(to).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ex; }
    }
}
