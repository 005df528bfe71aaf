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
/// batch); the SQLite and PostgreSQL stores are asked per key through their index, or not at all when the row's claim
/// makes the first look (<see cref="FirstClaim"/>): those stores read the key's blocking jobs in the claim's own
/// transaction anyway, so a row whose key the batch has not met costs no read of its own (<c>New-*Video</c> does so on
/// PostgreSQL, where it is one round trip to the server less per row: <see cref="LookUpIsRemote"/>).
/// </remarks>
public sealed class EarlierSubmissions
{
    private readonly IJobStore _store;
    private readonly Action<string>? _warn;
    private readonly Dictionary<string, List<FalJob>> _blocking = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    // Per key fingerprint (64-bit, see Fingerprint): whether the key was met with no earlier job, and the claims of this
    // batch on it won and committed (asked and changed from the store's commit thread). The one per-row state a batch
    // keeps: 12 bytes a slot in one table (about 16 bytes a row at 100,000 rows) where a HashSet<ulong> and a
    // Dictionary<ulong, int> held 75 (bench/README.md, "The memory of 100,000 jobs").
    private readonly FingerprintTable _keys = new();
    private readonly Uri? _queueBaseUrl;
    private bool _preloaded;
    // The journal (JSON Lines) is being read whole by one row's look-up; the others wait for it.
    private bool _preloading;
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
#if NET8_0_OR_GREATER
        ClaimsAtomically = store is SqliteJobStore or PostgresJobStore;
        LookUpIsRemote = store is PostgresJobStore;
#else
        ClaimsAtomically = store is SqliteJobStore;
#endif
    }

    /// <summary>
    /// Whether a look-up (<see cref="Next"/> of a key not met) is a round trip to a database server (the PostgreSQL
    /// store): where <c>New-*Video</c> leaves a row's first look at its key to the row's claim (<see cref="FirstClaim"/>).
    /// The SQLite store answers a look-up in-process through its index (about 23 µs a row, bench/README.md), less than
    /// what a row whose key is held costs on the way to its claim (a task, its write-ahead record captured, a
    /// transaction): it keeps the look-up.
    /// </summary>
    public bool LookUpIsRemote { get; }

    /// <summary>Whether the store reads a key's blocking jobs and decides a claim on it in one transaction (the SQLite and
    /// PostgreSQL stores), so a row's first look at its key can be left to its claim (<see cref="FirstClaim"/>). False for
    /// the JSON Lines journal, which has no transaction to look in.</summary>
    public bool ClaimsAtomically { get; }

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
    /// <remarks>When the key's first occurrence went to its claim without a look (<see cref="FirstClaim"/>) and that
    /// claim is not decided yet, this waits for it: what the claim found is what this occurrence is matched against.</remarks>
    public FalJob? Next(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var fingerprint = Fingerprint(key);
        bool preload;
        lock (_sync)
        {
            // The key's first look is under way (another row's look-up, or a claim that looks, FirstClaim), or the
            // journal is being read whole: its answer is this occurrence's.
            while (_keys.IsPending(fingerprint) || _preloading) Monitor.Wait(_sync);
            if (TryAnswer(key, fingerprint, out var known)) return known;
            preload = _store is JobJournal;
            if (preload) _preloading = true;
            else _keys.MarkPending(fingerprint);
        }
        // The store is read outside the lock. Its commit asks this object from inside its transaction (a claim's Allowed
        // and Settle take the lock), so a look-up that held the lock while waiting on the database waited on that
        // transaction while the transaction waited on the lock: a row failed with "database is locked" after the
        // SQLite store's 15 s, in the test suite on 2 busy cores (2026-12-01).
        Dictionary<string, List<FalJob>>? all = null;
        List<FalJob>? earlier = null;
        try
        {
            if (preload)
            {
                all = new Dictionary<string, List<FalJob>>(StringComparer.Ordinal);
                foreach (var job in _store.ReadJobs(_warn))
                {
                    if (job.IdempotencyKey is not { } k || !BlocksHere(job)) continue;
                    if (!all.TryGetValue(k, out var list)) all[k] = list = [];
                    list.Add(job);
                }
            }
            else
            {
                earlier = _store.FindByIdempotencyKeys([key], _warn).Where(BlocksHere).ToList();
            }
        }
        catch
        {
            lock (_sync)
            {
                if (preload) _preloading = false;
                else _keys.ClearPending(fingerprint);
                Monitor.PulseAll(_sync);
            }
            throw;
        }
        lock (_sync)
        {
            if (preload)
            {
                foreach (var pair in all!)
                {
                    if (!_blocking.ContainsKey(pair.Key)) _blocking[pair.Key] = pair.Value;
                }
                _preloaded = true;
                _preloading = false;
            }
            else
            {
                _keys.ClearPending(fingerprint);
                // Every occurrence of a key with no earlier job is sent: no need to count them.
                if (earlier!.Count == 0) _keys.MarkFresh(fingerprint);
                else _blocking[key] = earlier;
            }
            Monitor.PulseAll(_sync);
            TryAnswer(key, fingerprint, out var answer);
            return answer;
        }
    }

    /// <summary>
    /// The claim of a row whose key this batch has not met yet, made without reading the store first: it goes straight
    /// to its write-ahead claim (<see cref="IJobStore.ClaimAheadAsync"/>), and the claim looks at the key's blocking jobs
    /// in the store's transaction as <see cref="Next"/> would have before it. When some block on the batch's host, the
    /// claim is lost to the newest of them and <see cref="IdempotencyClaim.FoundEarlier"/> says so: the row stands on that
    /// job exactly as on one <see cref="Next"/> returns (re-run warning, an ambiguous attempt's error, waiting for one
    /// still in flight). Once the claim's transaction committed, the batch knows the key as if <see cref="Next"/> had
    /// looked it up: its later occurrences are matched by <see cref="Next"/> without reading the store.
    /// Null when the store's claims are not atomic (<see cref="ClaimsAtomically"/>) or the batch met the key before:
    /// use <see cref="Next"/> and <see cref="Claim"/>. Hand the claim back with <see cref="Release"/> when the row is
    /// done with it, whatever happened.
    /// </summary>
    /// <param name="key">The row's idempotency key.</param>
    public IdempotencyClaim? FirstClaim(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!ClaimsAtomically) return null;
        var fingerprint = Fingerprint(key);
        lock (_sync)
        {
            if (_keys.Contains(fingerprint) || _blocking.ContainsKey(key)) return null;
            _keys.MarkPending(fingerprint);
        }
        return new IdempotencyClaim(key, Look,
            settled: () =>
            {
                lock (_sync) _keys.AddSettled(fingerprint);
            },
            committed: decision => Decided(key, fingerprint, decision));
    }

    /// <summary>
    /// The row is done with a claim <see cref="FirstClaim"/> gave: when no transaction of the store committed its
    /// decision (the row stopped before its write-ahead record, or the store could not be written), the key is left for
    /// <see cref="Next"/> to look up at its next occurrence, since nothing of this batch was written with it. Nothing
    /// happens for a decided claim, or for one <see cref="Claim"/> made.
    /// </summary>
    /// <param name="claim">The row's claim.</param>
    public void Release(IdempotencyClaim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var fingerprint = Fingerprint(claim.Key);
        lock (_sync)
        {
            if (!_keys.IsPending(fingerprint)) return;
            _keys.ClearPending(fingerprint);
            Monitor.PulseAll(_sync);
        }
    }

    // Inside the store's transaction: what Next would have found, from the key's blocking jobs as read there (oldest
    // first). Touches no state of the batch: the transaction may be retried or fail; Decided takes the outcome.
    private ClaimDecision Look(IReadOnlyList<FalJob> blocking, string? ownJournalId)
    {
        // The row's own record, committed by an attempt whose answer was lost: it holds, as a plain claim does.
        if (ownJournalId is { Length: > 0 } && blocking.Any(j => j.JournalId == ownJournalId)) return new ClaimDecision(null, null);
        var earlier = blocking.Where(BlocksHere).ToList();
        if (earlier.Count > 0) return new ClaimDecision(earlier[earlier.Count - 1], earlier);
        // No earlier job here: a fresh key, claimed as Next then Claim would (no claim of this batch on it yet).
        return new ClaimDecision(IdempotencyClaim.Winner(blocking, 0, ownJournalId), null);
    }

    // After the claim's transaction committed: the batch knows the key as a look-up would have left it.
    private void Decided(string key, ulong fingerprint, ClaimDecision decision)
    {
        lock (_sync)
        {
            _keys.ClearPending(fingerprint);
            if (decision.Earlier is { Count: > 0 } earlier)
            {
                _blocking[key] = earlier.ToList();
                // This row was the first occurrence, standing on the newest.
                _seen[key] = 1;
            }
            else _keys.MarkFresh(fingerprint);
            Monitor.PulseAll(_sync);
        }
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
                    return earlier + _keys.Settled(fingerprint);
                }
            },
            settled: () =>
            {
                lock (_sync) _keys.AddSettled(fingerprint);
            });
    }

    // What the batch already knows of the key (the caller holds the lock): true with the earlier job that stands for this
    // occurrence (null: send it), false when the store must be read first. Each answer counts one occurrence.
    private bool TryAnswer(string key, ulong fingerprint, out FalJob? answer)
    {
        answer = null;
        if (_keys.IsFresh(fingerprint)) return true;
        if (!_blocking.TryGetValue(key, out var earlier))
        {
            // The journal was read whole: a key it doesn't hold has no earlier job.
            if (!_preloaded) return false;
            _keys.MarkFresh(fingerprint);
            return true;
        }
        _seen.TryGetValue(key, out var n);
        _seen[key] = n + 1;
        answer = n < earlier.Count ? earlier[earlier.Count - 1 - n] : null;
        return true;
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

/// <summary>
/// What <see cref="EarlierSubmissions"/> keeps per key fingerprint: a fresh flag, a pending flag and a count of claims settled. One
/// open-addressing table of two arrays (linear probing, power-of-two size, at most 80 % full): 12 bytes a slot, no
/// object and no entry links per key, where a <c>HashSet&lt;ulong&gt;</c> (20 bytes an entry) and a
/// <c>Dictionary&lt;ulong, int&gt;</c> (28) each doubled on their own, and their arrays of a 100,000-row batch (7.5 MB,
/// on the large object heap) stayed until the cmdlet ended. Not thread-safe: the caller locks.
/// </summary>
internal sealed class FingerprintTable
{
    // Slot value 0 means empty; a fingerprint 0 is stored as this instead (one more value sharing a slot, 2⁻⁶⁴).
    private const ulong ZeroStandIn = 0x9E3779B97F4A7C15UL;
    private const int FreshFlag = 1 << 30;
    // A first-look claim on the key is not decided yet (EarlierSubmissions.FirstClaim).
    private const int PendingFlag = 1 << 29;
    private const int CountMask = PendingFlag - 1;

    private ulong[] _slots = new ulong[16];
    // Per slot: FreshFlag when the key was met with no earlier job, PendingFlag while its first-look claim is undecided,
    // plus the claims settled on it.
    private int[] _values = new int[16];
    private int _count;

    /// <summary>Keys held.</summary>
    public int Count => _count;

    /// <summary>Whether <paramref name="fingerprint"/> is held (met before, in any state).</summary>
    public bool Contains(ulong fingerprint) => Find(fingerprint) >= 0;

    /// <summary>Whether <paramref name="fingerprint"/> is marked pending.</summary>
    public bool IsPending(ulong fingerprint) => Find(fingerprint) is var i and >= 0 && (_values[i] & PendingFlag) != 0;

    /// <summary>Marks <paramref name="fingerprint"/> pending (its first-look claim undecided), adding it.</summary>
    public void MarkPending(ulong fingerprint)
    {
        var i = Add(fingerprint);
        _values[i] |= PendingFlag;
    }

    /// <summary>Clears the pending mark of <paramref name="fingerprint"/> (kept in the table: the key was met).</summary>
    public void ClearPending(ulong fingerprint)
    {
        if (Find(fingerprint) is var i and >= 0) _values[i] &= ~PendingFlag;
    }

    /// <summary>Whether <paramref name="fingerprint"/> was marked fresh.</summary>
    public bool IsFresh(ulong fingerprint) => Find(fingerprint) is var i and >= 0 && (_values[i] & FreshFlag) != 0;

    /// <summary>Marks <paramref name="fingerprint"/> fresh (met with no earlier job).</summary>
    public void MarkFresh(ulong fingerprint)
    {
        // The slot first: adding may grow the table and replace _values.
        var i = Add(fingerprint);
        _values[i] |= FreshFlag;
    }

    /// <summary>The claims settled on <paramref name="fingerprint"/> (0 when none).</summary>
    public int Settled(ulong fingerprint) => Find(fingerprint) is var i and >= 0 ? _values[i] & CountMask : 0;

    /// <summary>Counts one more claim settled on <paramref name="fingerprint"/>.</summary>
    public void AddSettled(ulong fingerprint)
    {
        var i = Add(fingerprint);
        _values[i]++;
    }

    private static ulong Stored(ulong fingerprint) => fingerprint == 0 ? ZeroStandIn : fingerprint;

    // The fingerprint's high bits mixed into the index, so keys that differ only there still spread out.
    private static int Home(ulong stored, int mask) => (int)((stored ^ (stored >> 32)) & (uint)mask);

    private int Find(ulong fingerprint)
    {
        var stored = Stored(fingerprint);
        var mask = _slots.Length - 1;
        for (var i = Home(stored, mask); ; i = (i + 1) & mask)
        {
            var slot = _slots[i];
            if (slot == stored) return i;
            if (slot == 0) return -1;
        }
    }

    private int Add(ulong fingerprint)
    {
        if (Find(fingerprint) is var found and >= 0) return found;
        // At most 80 % full: linear probing stays short, and the table doubles less often than at 50 or 75 %.
        if ((_count + 1) * 5L > _slots.Length * 4L) Grow();
        _count++;
        return Place(Stored(fingerprint), 0);
    }

    private int Place(ulong stored, int value)
    {
        var mask = _slots.Length - 1;
        var i = Home(stored, mask);
        while (_slots[i] != 0) i = (i + 1) & mask;
        _slots[i] = stored;
        _values[i] = value;
        return i;
    }

    private void Grow()
    {
        var (slots, values) = (_slots, _values);
        _slots = new ulong[slots.Length * 2];
        _values = new int[slots.Length * 2];
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i] != 0) Place(slots[i], values[i]);
        }
    }
}
