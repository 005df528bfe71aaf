using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// A batch's rows as <c>New-*Video</c> takes them through <see cref="EarlierSubmissions"/> and the store's claim, one
/// after the other: with the look-up before each claim (<see cref="EarlierSubmissions.Next"/>, then
/// <see cref="EarlierSubmissions.Claim"/>), or with the first look at each key left to the claim
/// (<see cref="EarlierSubmissions.FirstClaim"/>). Each row's outcome is a line, so both ways can be compared.
/// </summary>
internal static class FirstLook
{
    public const string Endpoint = "fal-ai/kling-video/v3/pro/text-to-video";
    public static readonly Uri Fal = new("https://queue.fal.run");

    /// <summary>A past job (its prompt names it) with an idempotency key.</summary>
    public static FalJob Past(string name, string key, FalJobStatus status, string? host = null, string? error = null) => new()
    {
        RequestId = status is FalJobStatus.Unknown or FalJobStatus.Rejected ? "" : "req-" + name, EndpointId = Endpoint, Status = status,
        Prompt = name, IdempotencyKey = key, QueueHost = host, Error = error,
        SubmittedAt = new DateTimeOffset(2026, 11, 30, 14, 2, 0, TimeSpan.Zero),
    };

    /// <summary>Keys whose past jobs differ in every way a look-up tells apart: a completed job, a queued one, a failed
    /// one (does not block), a refused one (does not block), an attempt of unknown fate, a row sent twice with -Force
    /// (newest first), one sent only to another host (the emulator), one on both hosts, and none.</summary>
    public static void WriteHistory(IJobStore store)
    {
        store.Append("submitted", Past("done", "done", FalJobStatus.Completed));
        store.Append("submitted", Past("queued", "queued", FalJobStatus.InQueue));
        store.Append("submitted", Past("failed", "failed", FalJobStatus.Failed));
        store.Append(JobJournal.RejectedEntry, Past("rejected", "rejected", FalJobStatus.Rejected));
        store.Append(JobJournal.AmbiguousEntry, Past("unknown", "unknown", FalJobStatus.Unknown, error: "The connection was reset."));
        store.Append("submitted", Past("twice-1", "twice", FalJobStatus.Completed));
        store.Append("submitted", Past("twice-2", "twice", FalJobStatus.Completed));
        store.Append("submitted", Past("emulated", "other-host", FalJobStatus.Completed, host: "127.0.0.1:8787"));
        store.Append("submitted", Past("mixed-emulated", "mixed", FalJobStatus.Completed, host: "127.0.0.1:8787"));
        store.Append("submitted", Past("mixed-fal", "mixed", FalJobStatus.Completed));
    }

    /// <summary>The rows of a re-run over <see cref="WriteHistory"/>: some keys given twice or three times.</summary>
    public static readonly string[] Rerun =
        ["done", "done", "queued", "failed", "rejected", "unknown", "twice", "twice", "twice", "other-host", "mixed", "mixed", "never", "never"];

    /// <summary>Runs <paramref name="keys"/> as one batch's rows, one after the other; a line per row.</summary>
    public static async Task<List<string>> RunAsync(IJobStore store, IEnumerable<string> keys, bool firstLook)
    {
        var batch = new EarlierSubmissions(store, queueBaseUrl: Fal);
        var lines = new List<string>();
        foreach (var key in keys) lines.Add(await RowAsync(store, batch, key, firstLook));
        return lines;
    }

    /// <summary>One row, as the cmdlet takes it: "sent", "stands on X" (a job found before the row's claim, by the
    /// look-up or by the claim's first look) or "lost to X" (a claim that found more than it allowed).</summary>
    public static async Task<string> RowAsync(IJobStore store, EarlierSubmissions batch, string key, bool firstLook)
    {
        var claim = firstLook ? batch.FirstClaim(key) : null;
        var first = claim;
        try
        {
            if (claim is null)
            {
                if (batch.Next(key) is { } earlier) return "stands on " + earlier.Prompt;
                claim = batch.Claim(key);
            }
            var job = new FalJob
            {
                RequestId = "", EndpointId = Endpoint, Status = FalJobStatus.Unknown, Prompt = "new " + key, IdempotencyKey = key,
                QueueHost = FalJob.HostOf(Fal), SubmittedAt = DateTimeOffset.UtcNow,
            };
            var winner = await store.ClaimAheadAsync(job, claim);
            if (winner is null) return "sent";
            return (claim.FoundEarlier ? "stands on " : "lost to ") + winner.Prompt;
        }
        finally
        {
            if (first is not null) batch.Release(first);
        }
    }
}
