using System.Diagnostics;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Engine;

/// <summary>What <see cref="VideoSaver.SaveAsync"/> will do with a job.</summary>
public enum SaveAction
{
    /// <summary>Nothing: <see cref="SavePlan.Error"/> says why.</summary>
    Refuse,
    /// <summary>Download the video to <see cref="SavePlan.Path"/>.</summary>
    Download,
    /// <summary>The file at <see cref="SavePlan.Path"/> has the video's size: a save stopped before it was recorded.
    /// Record it as saved without downloading.</summary>
    AdoptExisting,
}

/// <summary>One job's save, decided by <see cref="VideoSaver.PlanAsync"/> and carried out by <see cref="VideoSaver.SaveAsync"/>.</summary>
public sealed class SavePlan
{
    internal SavePlan(FalJob job, SaveAction action, string? path, Uri? url, EngineError? error)
    {
        Job = job;
        Action = action;
        Path = path;
        Url = url;
        Error = error;
    }

    /// <summary>The job (owned by the saver until its save ends).</summary>
    public FalJob Job { get; }

    /// <summary>What will happen.</summary>
    public SaveAction Action { get; }

    /// <summary>The final file (folder plus <see cref="VideoFileNames.For"/>); null when refused before a name was known.</summary>
    public string? Path { get; }

    /// <summary>The video's URL at fal's CDN.</summary>
    public Uri? Url { get; }

    /// <summary>Why nothing will happen, for <see cref="SaveAction.Refuse"/>.</summary>
    public EngineError? Error { get; }
}

/// <summary>
/// Saves finished jobs' videos: asks fal for the result when the job lacks it, picks the file name, records in the job
/// store where the save was asked for (so a resume finishes it in the same folder), downloads to a <c>.part</c> file
/// beside the target (FalQueueClient.DownloadFileAsync), checks its size against fal's <c>file_size</c>, moves it into
/// place and records the job as saved (<see cref="JobLifecycle"/>). Several saves may run at once; each reports through
/// the sink it is given. Nothing here knows PowerShell: confirming (-WhatIf) happens between
/// <see cref="PlanAsync"/> and <see cref="SaveAsync"/>, in the caller.
/// </summary>
public sealed class VideoSaver
{
    private readonly FalQueueClient _client;
    private readonly Uri _queueBaseUrl;
    private readonly IJobStore _store;

    /// <summary>A saver using <paramref name="client"/> and recording in <paramref name="store"/>.</summary>
    /// <param name="client">The queue client (results and downloads).</param>
    /// <param name="queueBaseUrl">fal's queue host, to rebuild the URLs of a job that lacks them.</param>
    /// <param name="store">The job store.</param>
    public VideoSaver(FalQueueClient client, Uri queueBaseUrl, IJobStore store)
    {
        _client = client;
        _queueBaseUrl = queueBaseUrl;
        _store = store;
    }

    /// <summary>
    /// Decides what to do with <paramref name="job"/>: fetches its status and result from fal when it has no video URL
    /// yet, and refuses (with an error) a job without a request id, one not completed, one without a video, or another
    /// file at the target without <paramref name="force"/>. A failure to reach fal is recorded on the job in the store
    /// (<c>error</c>) and refuses too.
    /// </summary>
    /// <param name="job">The job; its result fields are filled in from fal when missing.</param>
    /// <param name="folder">The folder to save into (full path).</param>
    /// <param name="force">Overwrite another file at the target.</param>
    /// <param name="ct">Ctrl+C.</param>
    public async Task<SavePlan> PlanAsync(FalJob job, string folder, bool force, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(job.RequestId))
        {
            return Refuse(job, FalErrorIds.NoRequestId,
                $"This job has no request id (an ambiguous submission to {job.EndpointId}), so there is no video to fetch; look for it in fal's dashboard.");
        }
        try
        {
            if (job.VideoUrl is null)
            {
                var handle = job.ToHandle(_queueBaseUrl);
                if (!job.IsFinished) job.Apply(await _client.GetStatusAsync(handle, false, ct).ConfigureAwait(false));
                if (job.Status != FalJobStatus.Completed)
                {
                    return Refuse(job, FalErrorIds.JobNotCompleted, job.Status switch
                    {
                        FalJobStatus.Failed => $"Request {job.RequestId} failed at fal ({job.ErrorType}: {job.Error}); there is no video to save.",
                        // Waiting would never give a video: the request ended without one.
                        FalJobStatus.Cancelled => $"Request {job.RequestId} was cancelled at fal; there is no video to save.",
                        FalJobStatus.Rejected => $"Request {job.RequestId} was refused by fal at submission; there is no video to save.",
                        _ => $"Request {job.RequestId} is {job.Status}; wait for it first: ... | Wait-FalJob | Save-FalVideo.",
                    });
                }
                job.Apply(await _client.GetResultAsync(handle, ct).ConfigureAwait(false));
            }
            if (job.VideoUrl is null || !Uri.TryCreate(job.VideoUrl, UriKind.Absolute, out var url))
                return Refuse(job, FalErrorIds.NoVideo, $"Request {job.RequestId} completed but its result has no video URL.");

            var path = System.IO.Path.Combine(folder, VideoFileNames.For(job));
            if (!File.Exists(path) || force) return new SavePlan(job, SaveAction.Download, path, url, null);
            if (job.VideoSize is null) job.Apply(await _client.GetResultAsync(job.ToHandle(_queueBaseUrl), ct).ConfigureAwait(false));
            if (job.VideoSize is { } size && new FileInfo(path).Length == size) return new SavePlan(job, SaveAction.AdoptExisting, path, url, null);
            return new SavePlan(job, SaveAction.Refuse, path, url,
                new EngineError(FalErrorIds.FileExists, $"{path} already exists; use -Force to overwrite it.", path, new IOException($"{path} already exists; use -Force to overwrite it.")));
        }
        catch (Exception ex) when (ex is FalException or IOException or UnauthorizedAccessException)
        {
            return new SavePlan(job, SaveAction.Refuse, null, null, await FailedAsync(job, ex).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// Carries out <paramref name="plan"/>: posts the saved file (<see cref="JobSaved"/>), warnings and errors to
    /// <paramref name="sink"/>, and progress under <paramref name="progressId"/> at most every 200 ms. Never throws for
    /// one job's failure (it becomes an <see cref="EngineError"/> and an <c>error</c> record); a stop ends it with
    /// nothing under the final name and at most a <c>.part</c> file, which the next save of the same video removes.
    /// </summary>
    /// <param name="plan">A plan from <see cref="PlanAsync"/> (a refused one posts its error).</param>
    /// <param name="sink">Receives this job's events.</param>
    /// <param name="progressId">The progress bar's id.</param>
    /// <param name="ct">Ctrl+C.</param>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task SaveAsync(SavePlan plan, IEngineSink sink, int progressId, CancellationToken ct)
    {
        var job = plan.Job;
        if (plan.Action == SaveAction.Refuse)
        {
            sink.Post(plan.Error!);
            return;
        }
        var path = plan.Path!;
        try
        {
            if (plan.Action == SaveAction.Download)
            {
                var folder = System.IO.Path.GetDirectoryName(path)!;
                if (!string.Equals(job.SaveDirectory, folder, StringComparison.Ordinal))
                {
                    job.SaveDirectory = folder;
                    await TryRecordAsync(JobJournal.SaveRequestedEntry, job, sink).ConfigureAwait(false);
                }
                Directory.CreateDirectory(folder);
                RemoveLeftovers(path, sink);
                await DownloadAsync(plan, path, sink, progressId, ct).ConfigureAwait(false);
            }
            else RemoveLeftovers(path, sink);
        }
        catch (Exception ex) when (ex is FalException or IOException or UnauthorizedAccessException)
        {
            sink.Post(await FailedAsync(job, ex).ConfigureAwait(false));
            return;
        }

        var life = new JobLifecycle(_store, job, JobLifecycle.StateOf(job) == JobState.Saved ? JobState.Saved : JobState.Completed);
        job.LastError = null;
        try { await life.MoveToAsync(JobState.Saved, path).ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The video is in place: the job is still output, and the user told to keep its request id.
            job.SavedPath = path;
            sink.Post(new WarningReported(JobLifecycle.StoreWarning(_store, job, ex.Message)));
        }
        sink.Post(new JobSaved(job, path));
    }

    private async Task DownloadAsync(SavePlan plan, string path, IEngineSink sink, int progressId, CancellationToken ct)
    {
        // Named by the user's row (Id and prompt) as the wait's bars are; the file name goes in the status.
        var activity = $"Saving {plan.Job.Label()}";
        var file = System.IO.Path.GetFileName(path);
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        void Report(long bytes, long? size)
        {
            if (clock.Elapsed - last < TimeSpan.FromMilliseconds(200)) return;
            last = clock.Elapsed;
            var total = size ?? plan.Job.VideoSize ?? -1;
            sink.Post(new ProgressReported
            {
                ActivityId = progressId,
                Activity = activity,
                Status = total > 0 ? $"{file}: {bytes:N0} of {total:N0} bytes" : $"{file}: {bytes:N0} bytes",
                PercentComplete = total > 0 ? (int)Math.Min(100, bytes * 100 / total) : -1,
            });
        }
        try { await _client.DownloadFileAsync(plan.Url!, path, plan.Job.VideoSize, Report, ct).ConfigureAwait(false); }
        finally { sink.Post(new ProgressReported { ActivityId = progressId, Activity = activity, Status = "Done", Completed = true }); }
    }

    /// <summary>A save that failed: the job stays in the store, with the reason, for another try.</summary>
    private async Task<EngineError> FailedAsync(FalJob job, Exception ex)
    {
        var error = new EngineError(ex, job, $"Request {job.RequestId}");
        job.LastError = error.Text;
        try { await _store.AppendAsync("error", job).ConfigureAwait(false); }
        catch (Exception storeError) when (storeError is IOException or UnauthorizedAccessException)
        {
            // The error itself still reaches the user; the store keeps the job's earlier state.
        }
        return error;
    }

    private async Task TryRecordAsync(string kind, FalJob job, IEngineSink sink)
    {
        try { await _store.AppendAsync(kind, job).ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            sink.Post(new WarningReported(JobLifecycle.StoreWarning(_store, job, ex.Message)));
        }
    }

    private static SavePlan Refuse(FalJob job, FalErrorId id, string message) =>
        new(job, SaveAction.Refuse, null, null, new EngineError(id, message, job));

    /// <summary>Removes the temporary files (".&lt;name&gt;.&lt;guid&gt;.part", FalQueueClient.DownloadFileAsync's pattern) that an
    /// interrupted save of this same file left beside it; no other file is touched.</summary>
    /// <param name="path">The final file.</param>
    /// <param name="sink">Receives a verbose line per file removed, a warning per file that could not be.</param>
    public static void RemoveLeftovers(string path, IEngineSink sink)
    {
        var folder = System.IO.Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder)) return;
        var prefix = "." + System.IO.Path.GetFileName(path) + ".";
        foreach (var part in Directory.EnumerateFiles(folder, prefix + "*.part"))
        {
            var name = System.IO.Path.GetFileName(part);
            var guid = name.Substring(prefix.Length, name.Length - prefix.Length - ".part".Length);
            if (guid.Length != 32 || !Guid.TryParseExact(guid, "N", out _)) continue;
            try
            {
                File.Delete(part);
                sink.Post(new VerboseReported($"Removed {part}, left by an interrupted save of {System.IO.Path.GetFileName(path)}."));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                sink.Post(new WarningReported($"Could not remove {part}, left by an interrupted save: {ex.Message}"));
            }
        }
    }
}
