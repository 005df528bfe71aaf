using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Engine;

/// <summary>A store double for the engine tests: counts appends; with <see cref="Fail"/>, every write fails as a full disk would.</summary>
internal sealed class CountingStore : IJobStore
{
    public bool Fail { get; init; }
    public int Appends;
    public string FilePath => "/nowhere/jobs.db";
    public void Append(string entryKind, FalJob job, string? savedPath = null) => AppendAsync(entryKind, job, savedPath).GetAwaiter().GetResult();
    public Task AppendAsync(string entryKind, FalJob job, string? savedPath = null)
    {
        Interlocked.Increment(ref Appends);
        return Fail ? Task.FromException(new IOException("No space left on device")) : Task.CompletedTask;
    }
    public async Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim)
    {
        await AppendAsync(JobJournal.SubmittingEntry, job);
        claim.Settle();
        return null;
    }
    public void AppendMany(IReadOnlyCollection<JournalRecord> records) =>
        throw (Fail ? new IOException("No space left on device") : new NotSupportedException());
    public Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records) =>
        Task.FromException(Fail ? new IOException("No space left on device") : new NotSupportedException());
    public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null) => [];
    public IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null) => [];
    public IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null) => [];
    public IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null) => [];
    public IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null) => [];
    public IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null) { ambiguous = 0; return []; }
    public long Count(JobFilter filter) => 0;
    public long Prune(JobFilter filter, Action<long>? progress = null) => 0;
    public long Import(IEnumerable<JournalRecord> records) => throw new NotSupportedException();
    public IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs) => jobs.ToList();
    public int Remove(IEnumerable<FalJob> jobs) => 0;
}
