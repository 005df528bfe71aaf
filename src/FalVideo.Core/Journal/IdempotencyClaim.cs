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

    /// <summary>The idempotency key claimed.</summary>
    public string Key { get; }

    /// <summary>How many blocking jobs with <see cref="Key"/> may exist for the claim to hold (asked by the store
    /// inside its transaction).</summary>
    public int Allowed => _allowed();

    /// <summary>Tells the claim's owner it held and its record is committed (a lost claim is not settled: the job that
    /// won is counted by the store itself).</summary>
    public void Settle() => _settled?.Invoke();

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
}
