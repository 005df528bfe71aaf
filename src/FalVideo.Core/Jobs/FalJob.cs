using FalVideo.Fal;

namespace FalVideo.Jobs;

/// <summary>Where a fal request stands, as the module reports it.</summary>
public enum FalJobStatus
{
    /// <summary>Not known: a status fal sent that this version does not recognise, or an ambiguous submission.</summary>
    Unknown,
    /// <summary>fal <c>IN_QUEUE</c>: waiting for a runner; see <see cref="FalJob.QueuePosition"/>.</summary>
    InQueue,
    /// <summary>fal <c>IN_PROGRESS</c>: a runner is generating the video.</summary>
    InProgress,
    /// <summary>fal <c>COMPLETED</c> without an error: the result holds the video.</summary>
    Completed,
    /// <summary>fal <c>COMPLETED</c> with <c>error</c>/<c>error_type</c> set: no video.</summary>
    Failed,
    /// <summary>Cancellation was requested and accepted by fal.</summary>
    Cancelled,
    /// <summary>fal refused the submission (e.g. 422, 401) or it never reached fal: nothing to follow, nothing billed.</summary>
    Rejected,
}

/// <summary>
/// One fal queue request for a video: what was sent, what it should cost, and where it stands.
/// Emitted by <c>New-KlingVideo</c>, <c>New-HailuoVideo</c>, <c>Get-FalJob</c> and <c>Wait-FalJob</c>;
/// accepted by <c>Wait-FalJob</c>, <c>Save-FalVideo</c>, <c>Get-FalJob</c> and <c>Stop-FalJob</c>.
/// Its string form is the request id.
/// </summary>
public sealed class FalJob
{
    /// <summary>fal's request id (a UUID) returned by submit.</summary>
    public string RequestId { get; set; } = "";
    /// <summary>fal endpoint id the request was submitted to, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</summary>
    public string EndpointId { get; set; } = "";
    /// <summary>Catalog short name, e.g. <c>kling-v3-pro</c>; empty for endpoints outside the catalog.</summary>
    public string Model { get; set; } = "";
    /// <summary><c>text-to-video</c> or <c>image-to-video</c>.</summary>
    public string Mode { get; set; } = "";
    /// <summary>The row's own identifier (an <c>Id</c> column), carried through for reports.</summary>
    public string? Id { get; set; }
    /// <summary>Current status; refreshed by <c>Get-FalJob</c> and <c>Wait-FalJob</c>.</summary>
    public FalJobStatus Status { get; set; }
    /// <summary>Requests ahead of this one while <see cref="FalJobStatus.InQueue"/>; null otherwise.</summary>
    public int? QueuePosition { get; set; }
    /// <summary>The prompt sent (empty for prompt-less requests).</summary>
    public string Prompt { get; set; } = "";
    /// <summary>Requested output length in seconds; null when the model picks it.</summary>
    public int? DurationSeconds { get; set; }
    /// <summary>Estimated cost in USD from the shipped price catalog; null when no price is known.</summary>
    public decimal? EstimatedCostUsd { get; set; }
    /// <summary>When fal accepted the request (UTC).</summary>
    public DateTimeOffset SubmittedAt { get; set; }
    /// <summary>When the module saw the request complete (UTC), or null.</summary>
    public DateTimeOffset? CompletedAt { get; set; }
    /// <summary>URL of the generated video on fal's CDN (public; kept at least 7 days per fal's FAQ).</summary>
    public string? VideoUrl { get; set; }
    /// <summary>Size of the video in bytes as fal reported it, or null.</summary>
    public long? VideoSize { get; set; }
    /// <summary>File name fal gave the video, or null.</summary>
    public string? VideoFileName { get; set; }
    /// <summary>fal's error text for a failed request.</summary>
    public string? Error { get; set; }
    /// <summary>fal's <c>error_type</c>, e.g. <c>runner_disconnected</c>.</summary>
    public string? ErrorType { get; set; }
    /// <summary>Model run time in seconds (fal <c>metrics.inference_time</c>), or null.</summary>
    public double? InferenceTimeSeconds { get; set; }
    /// <summary>The runner's log lines from the last status read.</summary>
    public FalLogEntry[] Logs { get; set; } = [];
    /// <summary>fal <c>status_url</c> returned by submit.</summary>
    public string? StatusUrl { get; set; }
    /// <summary>fal <c>response_url</c> returned by submit.</summary>
    public string? ResponseUrl { get; set; }
    /// <summary>fal <c>cancel_url</c> returned by submit.</summary>
    public string? CancelUrl { get; set; }
    /// <summary>Why this model was chosen, when New-FalVideo -Route picked it; null otherwise.</summary>
    public string? RouteReason { get; set; }
    /// <summary>The model input sent, as JSON.</summary>
    public string? Input { get; set; }
    /// <summary>The submit options sent with the request (priority, webhook, start timeout, fallback switch, media
    /// expiry; <see cref="FalSubmitOptions"/>); null when none was set.</summary>
    public FalSubmitOptions? SubmitOptions { get; set; }
    /// <summary>What identifies this submission among re-runs of the same rows (<see cref="Jobs.IdempotencyKey"/>): a
    /// later submission with the same key is not sent again unless forced. Null for jobs submitted before keys existed.</summary>
    public string? IdempotencyKey { get; set; }
    /// <summary>Identifies a journal record that has no request id: an ambiguous submission (status
    /// <see cref="FalJobStatus.Unknown"/>), which fal may or may not have accepted. Null for ordinary jobs.</summary>
    public string? JournalId { get; set; }
    /// <summary>The file the video was last saved to, as the journal recorded it (<c>Get-FalJob</c> listings); null when
    /// not saved yet.</summary>
    public string? SavedPath { get; set; }
    /// <summary>The folder a save of this video was asked for (its <c>save_requested</c> journal entry), or null: where
    /// the resume (<c>Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo</c>) saves it when no -Directory is given.</summary>
    public string? SaveDirectory { get; set; }
    /// <summary>The module's own last error while following this request (e.g. a result that could not be fetched or a
    /// download that failed), as the journal recorded it; the request itself may be fine at fal. Null when the latest
    /// journal entry was not an error.</summary>
    public string? LastError { get; set; }

    /// <summary>The billed quantity fal reported for this request (<c>x-fal-billable-units</c> on the result fetch,
    /// PROTOCOL.md "Headers worth exposing"), e.g. seconds of video; null when fal sent none. Billed USD is these units
    /// times the unit price (see <c>Measure-VideoCost</c> and <c>Get-FalJobCost</c>).</summary>
    public decimal? BillableUnits { get; set; }

    /// <summary>The host (and port, when not the scheme's default) of the queue base URL the request was sent to, e.g.
    /// <c>queue.fal.run</c> or <c>127.0.0.1:5123</c> for the emulator: jobs are scoped to it, so a rehearsal against the
    /// emulator never mixes with real spend (<c>Get-FalJob</c>, the resume and the spend totals see only the jobs of the
    /// current host unless <c>-AllHosts</c> is given). Null for records written before hosts were kept, which count as
    /// fal's own host (<see cref="DefaultQueueHost"/>).</summary>
    public string? QueueHost { get; set; }

    /// <summary>The name of the machine the job was submitted from (<see cref="Environment.MachineName"/> of the process
    /// that wrote its write-ahead record), so a team sharing one job store can tell whose jobs are whose
    /// (<c>Get-FalJob -Machine</c>). Null for jobs recorded before machines were kept, and for requests the module did
    /// not submit (a bare request id looked up with <c>Get-FalJob</c>).</summary>
    public string? Machine { get; set; }

    /// <summary>The account that submitted the job (<see cref="Environment.UserName"/> of the process that wrote its
    /// write-ahead record: a user name, without a domain), for <c>Get-FalJob -User</c>. Null for jobs recorded before users
    /// were kept, and for requests the module did not submit.</summary>
    public string? User { get; set; }

    /// <summary>fal's own queue host, <c>queue.fal.run</c> (PROTOCOL.md "Endpoints"): the host of a job recorded without one.</summary>
    public const string DefaultQueueHost = "queue.fal.run";

    /// <summary>The host a queue base URL scopes jobs to: its host, with the port when it is not the scheme's default,
    /// lower-case (<c>https://queue.fal.run</c> → <c>queue.fal.run</c>, <c>http://127.0.0.1:5123/</c> → <c>127.0.0.1:5123</c>).</summary>
    /// <param name="queueBaseUrl">An absolute queue base URL.</param>
    public static string HostOf(Uri queueBaseUrl)
    {
        if (queueBaseUrl is null) throw new ArgumentNullException(nameof(queueBaseUrl));
        return (queueBaseUrl.IsDefaultPort ? queueBaseUrl.Host : queueBaseUrl.Authority).ToLowerInvariant();
    }

    /// <summary>True when this job was sent to the queue at <paramref name="queueBaseUrl"/>'s host (<see cref="HostOf"/>);
    /// a job without a recorded host belongs to fal's own (<see cref="DefaultQueueHost"/>).</summary>
    /// <param name="queueBaseUrl">The current queue base URL.</param>
    public bool IsOnHost(Uri queueBaseUrl) =>
        string.Equals(string.IsNullOrEmpty(QueueHost) ? DefaultQueueHost : QueueHost, HostOf(queueBaseUrl), StringComparison.OrdinalIgnoreCase);

    /// <summary>True once the request has ended (completed, failed or cancelled).</summary>
    public bool IsFinished => Status is FalJobStatus.Completed or FalJobStatus.Failed or FalJobStatus.Cancelled;

    /// <summary>The handle the queue client needs: submit's URLs when known, else rebuilt from the ids.</summary>
    public FalRequestHandle ToHandle(Uri queueBaseUrl)
    {
        var rebuilt = FalRequestHandle.FromIds(EndpointId, RequestId, queueBaseUrl);
        if (Uri.TryCreate(StatusUrl, UriKind.Absolute, out var s)) rebuilt.StatusUrl = s;
        if (Uri.TryCreate(ResponseUrl, UriKind.Absolute, out var r)) rebuilt.ResponseUrl = r;
        if (Uri.TryCreate(CancelUrl, UriKind.Absolute, out var c)) rebuilt.CancelUrl = c;
        return rebuilt;
    }

    /// <summary>Takes the fields of a status read.</summary>
    public void Apply(FalStatus status)
    {
        Status = status.Status switch
        {
            FalQueueStatus.InQueue => FalJobStatus.InQueue,
            FalQueueStatus.InProgress => FalJobStatus.InProgress,
            FalQueueStatus.Completed when status.IsFailed && IsCancellation(status.ErrorType) => FalJobStatus.Cancelled,
            FalQueueStatus.Completed => status.IsFailed ? FalJobStatus.Failed : FalJobStatus.Completed,
            _ => FalJobStatus.Unknown,
        };
        QueuePosition = status.Status == FalQueueStatus.InQueue ? status.QueuePosition : null;
        if (status.Logs.Count > 0) Logs = status.Logs.ToArray();
        if (status.InferenceTimeSeconds is { } t) InferenceTimeSeconds = t;
        if (status.IsFailed) { Error = status.Error; ErrorType = status.ErrorType; }
        if (status.IsCompleted) CompletedAt ??= DateTimeOffset.UtcNow;
    }

    // fal does not document how a cancelled request reads afterwards; an error_type naming a cancellation is taken as one.
    private static bool IsCancellation(string? errorType) =>
        errorType is not null && errorType.Contains("cancel", StringComparison.OrdinalIgnoreCase);

    /// <summary>Takes the video of a result.</summary>
    public void Apply(FalResult result)
    {
        if (result.Video is { } v)
        {
            VideoUrl = v.Url.ToString();
            VideoSize = v.FileSize;
            VideoFileName = v.FileName;
        }
        if (result.BillableUnits is { } units) BillableUnits = units;
    }

    /// <summary>
    /// How prompts, progress bars and completion lists name this job to the user: the row's <see cref="Id"/> (else the
    /// request id, else the journal id) and the start of the prompt, e.g. <c>pottery "A ceramic bowl on a potter's…"</c>.
    /// </summary>
    /// <param name="promptChars">The most characters of the prompt to show (an ellipsis ends a cut prompt).</param>
    public string Label(int promptChars = 30)
    {
        var who = !string.IsNullOrEmpty(Id) ? Id! : !string.IsNullOrEmpty(RequestId) ? RequestId : JournalId ?? EndpointId;
        var text = (Prompt ?? "").Replace('\r', ' ').Replace('\n', ' ').Trim();
        if (text.Length > promptChars) text = text.Substring(0, Math.Max(1, promptChars - 1)).TrimEnd() + "…";
        return text.Length == 0 ? who : $"{who} \"{text}\"";
    }

    /// <summary>A copy, so cmdlets emit new objects instead of changing the ones piped in.</summary>
    public FalJob Clone() => (FalJob)MemberwiseClone();

    /// <inheritdoc />
    public override string ToString() => RequestId;
}
