using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// A row's claim on its idempotency key (<see cref="FalJob.IdempotencyKey"/>), checked and recorded atomically with its
/// write-ahead record by <see cref="IJobStore.ClaimAheadAsync"/>: the claim holds when the store has at most
/// <see cref="Allowed"/> jobs with this key that block a re-send (<see cref="EarlierSubmissions.Blocks"/>), counted
/// inside the same transaction that writes the record. Two processes running the same rows at the same moment then
/// send each row once: the second to commit finds the first one's record and loses.
/// </summary>
/// <remarks>
/// <see cref="Allowed"/> is asked inside the store's transaction: the earlier jobs the batch already stands on (the
/// ones it emitted instead of sending) plus the claims on the same key this batch already won, so a key given
/// twice in one batch on purpose is still sent twice, in any order the rows commit.
/// </remarks>
public sealed class IdempotencyClaim
{
    private readonly Func<int> _allowed;
    private readonly Action? _settled;
    private readonly Func<IReadOnlyList<FalJob>, string?, ClaimDecision>? _firstLook;
    private readonly Action<ClaimDecision>? _committed;
    private ClaimDecision? _decision;

    /// <summary>A claim on <paramref name="key"/>.</summary>
    /// <param name="key">The row's idempotency key.</param>
    /// <param name="allowed">How many blocking jobs with this key may already exist for the claim to hold.</param>
    /// <param name="settled">Called once the claim held and its record is committed.</param>
    public IdempotencyClaim(string key, Func<int> allowed, Action? settled = null)
    {
        Key = key ?? throw new ArgumentNullException(nameof(key));
        _allowed = allowed ?? throw new ArgumentNullException(nameof(allowed));
        _settled = settled;
    }

    /// <summary>A claim that is also the batch's first look at earlier submissions of its key
    /// (<see cref="EarlierSubmissions.FirstClaim"/>): <paramref name="firstLook"/> decides it from the key's blocking jobs
    /// read inside the store's transaction, and <paramref name="committed"/> hears the decision once that transaction
    /// committed.</summary>
    internal IdempotencyClaim(string key, Func<IReadOnlyList<FalJob>, string?, ClaimDecision> firstLook, Action settled,
        Action<ClaimDecision> committed)
        : this(key, static () => 0, settled)
    {
        _firstLook = firstLook;
        _committed = committed;
    }

    /// <summary>The idempotency key claimed.</summary>
    public string Key { get; }

    /// <summary>How many blocking jobs with <see cref="Key"/> may exist for the claim to hold (asked by the store
    /// inside its transaction).</summary>
    public int Allowed => _allowed();

    /// <summary>Tells the claim's owner it held and its record is committed (a lost claim is not settled: the job that
    /// won is counted by the store itself).</summary>
    public void Settle() => _settled?.Invoke();

    /// <summary>
    /// True when the job <see cref="Decide"/> last returned is one the store already had when the batch first met the
    /// key: what a look-up before the claim would have found, so the row stands on it exactly as on a job found by
    /// <see cref="EarlierSubmissions.Next"/> (a re-run's row), rather than on another run's claim won meanwhile.
    /// Always false for a claim made by <see cref="EarlierSubmissions.Claim"/>.
    /// </summary>
    public bool FoundEarlier => _decision?.Earlier is { Count: > 0 };

    /// <summary>
    /// Decides the claim inside the store's transaction from the key's blocking jobs as they stand in it, oldest first
    /// (<see cref="EarlierSubmissions.Blocks"/>, this transaction's earlier entries applied): null when it holds and the
    /// record may be written, else the job that stands for this row. A plain claim is <see cref="Winner"/> with
    /// <see cref="Allowed"/>; a first look (<see cref="EarlierSubmissions.FirstClaim"/>) stands on the newest job that
    /// blocks on the batch's host, as <see cref="EarlierSubmissions.Next"/> would have, and else is a plain claim
    /// allowing none. Called again when the transaction is retried; the last call counts.
    /// </summary>
    /// <param name="blocking">The key's blocking jobs, oldest first.</param>
    /// <param name="ownJournalId">The journal id of the write-ahead record being claimed.</param>
    public FalJob? Decide(IReadOnlyList<FalJob> blocking, string? ownJournalId)
    {
        ArgumentNullException.ThrowIfNull(blocking);
        if (_firstLook is null) return Winner(blocking, Allowed, ownJournalId);
        _decision = _firstLook(blocking, ownJournalId);
        return _decision.Winner;
    }

    /// <summary>The store committed the transaction that decided this claim (won or lost): called once, by the store
    /// (through <see cref="ClaimTicket.Committed"/>), after <see cref="Settle"/>.</summary>
    internal void Committed()
    {
        if (_committed is not null && _decision is { } decision) _committed(decision);
    }

    /// <summary>
    /// Decides a claim from the blocking jobs with its key, oldest first, as read inside the store's transaction:
    /// null when it holds, else the job that stands for this row (the one at position <paramref name="allowed"/>, or
    /// the newest). A claim whose own write-ahead record is among them (a commit retried after its answer was lost)
    /// holds.
    /// </summary>
    /// <param name="blocking">Blocking jobs with the key, oldest first.</param>
    /// <param name="allowed">What <see cref="Allowed"/> said.</param>
    /// <param name="ownJournalId">The journal id of the write-ahead record being claimed.</param>
    public static FalJob? Winner(IReadOnlyList<FalJob> blocking, int allowed, string? ownJournalId)
    {
        ArgumentNullException.ThrowIfNull(blocking);
        if (blocking.Count <= allowed) return null;
        if (ownJournalId is { Length: > 0 } && blocking.Any(j => j.JournalId == ownJournalId)) return null;
        return blocking[Math.Min(Math.Max(allowed, 0), blocking.Count - 1)];
    }
}

/// <summary>A claim queued with its write-ahead record in a store's group commit; the commit fills <see cref="Winner"/>.</summary>
internal sealed class ClaimTicket(IdempotencyClaim claim, string? journalId)
{
    public IdempotencyClaim Claim { get; } = claim;
    public string? JournalId { get; } = journalId;
    public FalJob? Winner { get; set; }

    /// <summary>Decides the claim inside the store's transaction (<see cref="IdempotencyClaim.Decide"/>): true when it
    /// holds and its record is to be written.</summary>
    public bool Decide(IReadOnlyList<FalJob> blocking)
    {
        Winner = Claim.Decide(blocking, JournalId);
        return Winner is null;
    }

    /// <summary>After the transaction committed: a claim that held is settled, then every claim hears its decision.</summary>
    public void Committed()
    {
        if (Winner is null) Claim.Settle();
        Claim.Committed();
    }
}

/// <summary>What a first-look claim (<see cref="EarlierSubmissions.FirstClaim"/>) decided in the store's transaction:
/// the job that stands for the row (null: the claim held), and the earlier jobs with the key that block on the batch's
/// host, oldest first, when the row stands on the newest of them (null otherwise).</summary>
internal sealed record ClaimDecision(FalJob? Winner, IReadOnlyList<FalJob>? Earlier);
