using System.Threading.Channels;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.Engine;

/// <summary>A followed job's status changed at fal (queue position included).</summary>
public sealed class JobStatusChanged(FalJob job, FalStatus status) : EngineEvent
{
    /// <summary>The job (not changed by the follower: the receiver applies <see cref="Status"/>).</summary>
    public FalJob Job { get; } = job;

    /// <summary>What fal said.</summary>
    public FalStatus Status { get; } = status;
}

/// <summary>A followed job finished at fal: completed (with its result), failed or cancelled.</summary>
public sealed class JobFinished(FalJob job, FalStatus? status, FalResult? result) : EngineEvent
{
    /// <summary>The job (not changed by the follower).</summary>
    public FalJob Job { get; } = job;

    /// <summary>fal's final status; null for a job that had finished before it was followed.</summary>
    public FalStatus? Status { get; } = status;

    /// <summary>The result of a completed job; null for a failed or cancelled one.</summary>
    public FalResult? Result { get; } = result;
}

/// <summary>Following a job failed (fal unreachable, an unknown request...); the job itself may be fine at fal.</summary>
public sealed class JobFollowFailed(FalJob job, Exception error) : EngineEvent
{
    /// <summary>The job.</summary>
    public FalJob Job { get; } = job;

    /// <summary>Why.</summary>
    public Exception Error { get; } = error;
}

/// <summary>
/// Follows fal jobs until they finish, many at once: a fixed set of worker tasks (at most the throttle limit, started
/// as jobs arrive) takes the jobs in arrival order, holds one status stream each (FalQueueClient.WaitForCompletionAsync)
/// and fetches the result of a completed job. It reports <see cref="JobStatusChanged"/>, <see cref="JobFinished"/> and
/// <see cref="JobFollowFailed"/> to its sink and never changes a job object itself, so the receiver owns the jobs.
/// Nothing is cancelled at fal when following stops.
/// </summary>
public sealed class JobFollower
{
    private readonly FalQueueClient _client;
    private readonly Uri _queueBaseUrl;
    private readonly int _throttleLimit;
    private readonly IEngineSink _sink;
    private readonly CancellationToken _ct;
    private readonly Channel<FalJob> _toFollow = Channel.CreateUnbounded<FalJob>(new UnboundedChannelOptions { SingleWriter = true });
    private int _workers;

    /// <summary>A follower; <paramref name="ct"/> ends all following (Ctrl+C, a timeout).</summary>
    /// <param name="client">The queue client.</param>
    /// <param name="queueBaseUrl">fal's queue host, to rebuild the URLs of jobs that lack them.</param>
    /// <param name="throttleLimit">Jobs followed at once (at least 1).</param>
    /// <param name="sink">Receives the events, from worker threads.</param>
    /// <param name="ct">Stops following.</param>
    public JobFollower(FalQueueClient client, Uri queueBaseUrl, int throttleLimit, IEngineSink sink, CancellationToken ct)
    {
        _client = client;
        _queueBaseUrl = queueBaseUrl;
        _throttleLimit = Math.Max(1, throttleLimit);
        _sink = sink;
        _ct = ct;
    }

    /// <summary>
    /// Starts following <paramref name="job"/>. A job without a request id is reported failed at once, one that already
    /// failed, was cancelled, or completed with its video known is reported finished at once. Call from one thread at a time.
    /// </summary>
    /// <param name="job">The job; not changed here.</param>
    public void Follow(FalJob job)
    {
        if (string.IsNullOrEmpty(job.RequestId))
        {
            _sink.Post(new JobFollowFailed(job, NoRequestId(job)));
            return;
        }
        // A completed job whose video is known (a re-run's earlier job, one read from the store) has nothing left to
        // ask fal: asking again cost two requests per job, 20,000 for a finished 10,000-row CSV run again.
        if (job.IsFinished && (job.Status != FalJobStatus.Completed || !string.IsNullOrEmpty(job.VideoUrl)))
        {
            _sink.Post(new JobFinished(job, null, null));
            return;
        }
        _toFollow.Writer.TryWrite(job);
        // No task exists per waiting job: at most throttleLimit workers, each taking the next job when one ends.
        if (_workers < _throttleLimit)
        {
            _workers++;
            _ = Task.Run(FollowQueuedAsync);
        }
    }

    /// <summary>No more jobs will be added; the workers end when the queue is empty.</summary>
    public void Complete() => _toFollow.Writer.TryComplete();

    // An ambiguous submission from the store has no request id: there is nothing at fal to follow.
    private static InvalidOperationException NoRequestId(FalJob job) =>
        new($"This job has no request id: its submission to {job.EndpointId} was ambiguous (fal may or may not have accepted it), " +
            "so it cannot be waited for. Look for it in fal's dashboard; forget it with Remove-FalJob.");

    private async Task FollowQueuedAsync()
    {
        try
        {
            while (await _toFollow.Reader.WaitToReadAsync(_ct).ConfigureAwait(false))
            {
                while (!_ct.IsCancellationRequested && _toFollow.Reader.TryRead(out var job))
                    await FollowAsync(job).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_ct.IsCancellationRequested) { }
    }

    private async Task FollowAsync(FalJob job)
    {
        try
        {
            var handle = job.ToHandle(_queueBaseUrl);
            var final = await _client.WaitForCompletionAsync(handle, s => _sink.Post(new JobStatusChanged(job, s)), _ct).ConfigureAwait(false);
            FalResult? result = null;
            if (!final.IsFailed) result = await _client.GetResultAsync(handle, _ct).ConfigureAwait(false);
            _sink.Post(new JobFinished(job, final, result));
        }
        catch (OperationCanceledException) when (_ct.IsCancellationRequested) { }
        catch (Exception ex) { _sink.Post(new JobFollowFailed(job, ex)); }
    }
}
