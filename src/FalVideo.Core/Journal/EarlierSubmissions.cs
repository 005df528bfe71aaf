using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// Finds, for each row of a batch, the job an earlier run already submitted for it (same
/// <see cref="FalJob.IdempotencyKey"/>), so a re-run pays only for rows that never reached fal or ended without a video.
/// </summary>
/// <remarks>
/// What a key finds is read from the store once, the first time the batch meets that key, before any row of this
/// batch with that key is written: the batch's own submissions never count as earlier ones. A key that occurs n times
/// in a batch (the same row given twice on purpose) is matched with the latest n earlier jobs that block it, newest
/// first (after a -Force re-submission, the re-submitted job), so a re-run of such a batch sends nothing either. The JSON Lines journal is read whole at the first row (one read per
/// batch); the SQLite store is asked per key through its index.
/// </remarks>
public sealed class EarlierSubmissions
{
    private readonly IJobStore _store;
    private readonly Action<string>? _warn;
    private readonly Dictionary<string, List<FalJob>> _blocking = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    // Keys met with no earlier job, by a 64-bit fingerprint: almost every key of a large first run is one, and a
    // fingerprint costs a tenth of the key and its dictionary entries (a 100,000-row batch held ~25 MB of them).
    private readonly HashSet<ulong> _fresh = [];
    private readonly Uri? _queueBaseUrl;
    private bool _preloaded;
    // Claims of this batch won and committed, per key fingerprint: asked and changed from the store's commit thread.
    private readonly Dictionary<ulong, int> _settled = [];
    private readonly object _sync = new();

    /// <summary>Looks up earlier submissions in <paramref name="store"/>.</summary>
    /// <param name="store">The job store.</param>
    /// <param name="warn">Receives one message per store entry that could not be read.</param>
    /// <param name="queueBaseUrl">The queue the batch goes to: only earlier jobs sent to its host count
    /// (<see cref="FalJob.IsOnHost"/>), so a rehearsal against the emulator never stands in for a real submission. Null:
    /// jobs of every host count.</param>
    public EarlierSubmissions(IJobStore store, Action<string>? warn = null, Uri? queueBaseUrl = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _warn = warn;
        _queueBaseUrl = queueBaseUrl;
    }

    private bool BlocksHere(FalJob job) => Blocks(job) && (_queueBaseUrl is null || job.IsOnHost(_queueBaseUrl));

    /// <summary>Whether an earlier job with this state keeps the same row from being sent again: one fal has or may have
    /// (queued, running, unknown) or one that completed. Failed, cancelled and rejected jobs don't: a re-run retries them.</summary>
    /// <param name="job">The earlier job.</param>
    public static bool Blocks(FalJob job) => job.Status is FalJobStatus.InQueue or FalJobStatus.InProgress or FalJobStatus.Completed or FalJobStatus.Unknown;

    /// <summary>Whether <paramref name="job"/> is a submission whose fate is unknown: written ahead, with no request id,
    /// so fal may or may not have it.</summary>
    /// <param name="job">The earlier job.</param>
    public static bool IsAmbiguous(FalJob job) => job.Status == FalJobStatus.Unknown && string.IsNullOrEmpty(job.RequestId);

    /// <summary>Whether <paramref name="job"/> is an ambiguous-looking record that is most likely another run's submission
    /// still on its way (written ahead in the last two minutes, no error recorded): worth waiting for fal's answer to it
    /// (<see cref="Engine.JobSubmitter.AwaitAnswerAsync"/>) rather than calling it ambiguous.</summary>
    /// <param name="job">The earlier job.</param>
    public static bool MayBeInFlight(FalJob job) =>
        IsAmbiguous(job) && string.IsNullOrEmpty(job.Error) && job.SubmittedAt > DateTimeOffset.UtcNow.AddMinutes(-2);

    /// <summary>
    /// The earlier job that stands for this occurrence of <paramref name="key"/> in the batch, or null when the row
    /// should be sent. Each call counts one occurrence.
    /// </summary>
    /// <param name="key">The row's idempotency key.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    public FalJob? Next(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_sync) return NextLocked(key);
    }

    /// <summary>
    /// The claim a row that <see cref="Next"/> let through makes on its key when it writes ahead
    /// (<see cref="IJobStore.ClaimAheadAsync"/>): it holds while the store has no more blocking jobs with the key than
    /// this batch already knows of, the earlier ones it stands on and its own claims on the key won so far. A run
    /// in another process that claimed the key meanwhile makes it lose.
    /// </summary>
    /// <param name="key">The row's idempotency key.</param>
    public IdempotencyClaim Claim(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var fingerprint = Fingerprint(key);
        return new IdempotencyClaim(key,
            allowed: () =>
            {
                lock (_sync)
                {
                    var earlier = _blocking.TryGetValue(key, out var list) ? list.Count : 0;
                    return earlier + (_settled.TryGetValue(fingerprint, out var n) ? n : 0);
                }
            },
            settled: () =>
            {
                lock (_sync) _settled[fingerprint] = (_settled.TryGetValue(fingerprint, out var n) ? n : 0) + 1;
            });
    }

    private FalJob? NextLocked(string key)
    {
        var fingerprint = Fingerprint(key);
        if (_fresh.Contains(fingerprint)) return null;
        if (!_blocking.TryGetValue(key, out var earlier))
        {
            if (_store is JobJournal && !_preloaded)
            {
                _preloaded = true;
                foreach (var job in _store.ReadJobs(_warn))
                {
                    if (job.IdempotencyKey is not { } k || !BlocksHere(job)) continue;
                    if (!_blocking.TryGetValue(k, out var list)) _blocking[k] = list = [];
                    list.Add(job);
                }
            }
            if (!_blocking.TryGetValue(key, out earlier))
            {
                earlier = _preloaded ? [] : _store.FindByIdempotencyKeys([key], _warn).Where(BlocksHere).ToList();
                if (earlier.Count == 0)
                {
                    // Every occurrence of this key in the batch is sent: no need to count them.
                    _fresh.Add(fingerprint);
                    return null;
                }
                _blocking[key] = earlier;
            }
        }
        _seen.TryGetValue(key, out var n);
        _seen[key] = n + 1;
        return n < earlier.Count ? earlier[earlier.Count - 1 - n] : null;
    }

    // FNV-1a over the key's UTF-16 code units: stable within the process, and two keys of one batch share a value with
    // a chance of about n²/2⁶⁵ (3·10⁻¹⁰ for 100,000 keys).
    private static ulong Fingerprint(string key)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in key)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
