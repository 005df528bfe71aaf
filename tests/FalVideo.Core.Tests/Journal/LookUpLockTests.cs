using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// A row's look-up (<see cref="EarlierSubmissions.Next"/>) reads the store without holding the batch's lock: the store's
/// commit asks a claim (<see cref="IdempotencyClaim.Allowed"/>, which takes that lock) from inside its transaction, and a
/// look-up waiting on the database while holding the lock waited on that transaction, which waited on the lock.
/// </summary>
public sealed class LookUpLockTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-lookup-lock-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("jobs.db")]
    [InlineData("journal.jsonl")]
    public void A_claim_is_answered_while_a_look_up_reads_the_store(string file)
    {
        var inner = JobStore.Open(Path.Combine(_folder, file));
        inner.Append("submitted", FirstLook.Past("done", "done", FalJobStatus.Completed));
        // The read goes on only once the claim was answered: as the store's transaction, which the read waits on, can
        // only end once the claim it asks has answered.
        var store = new ReadWaitsForClaim(inner);
        var subs = new EarlierSubmissions(store, queueBaseUrl: FirstLook.Fal);
        var claim = subs.Claim("other-key");

        var lookUp = Task.Run(() => subs.Next("done"));
        Assert.True(store.Reading.Wait(TimeSpan.FromSeconds(10)), "the look-up never read the store");
        var asked = Task.Run(() =>
        {
            var allowed = claim.Allowed;
            store.ClaimAnswered.Set();
            return allowed;
        });

        Assert.True(asked.Wait(TimeSpan.FromSeconds(5)), "the claim waited for the look-up's read");
        Assert.Equal(0, asked.Result);
        Assert.True(lookUp.Wait(TimeSpan.FromSeconds(10)));
        Assert.False(store.ReadTimedOut);
        Assert.Equal("req-done", lookUp.Result?.RequestId);
        // The batch knows the key now: its next occurrence is matched without reading the store again.
        var reads = store.Reads;
        Assert.Null(subs.Next("done"));
        Assert.Equal(reads, store.Reads);
    }

    [Fact]
    public void A_look_up_that_fails_leaves_the_key_to_be_read_again()
    {
        var inner = JobStore.Open(Path.Combine(_folder, "jobs.db"));
        inner.Append("submitted", FirstLook.Past("done", "done", FalJobStatus.Completed));
        var store = new ReadWaitsForClaim(inner) { FailReads = 1 };
        var subs = new EarlierSubmissions(store, queueBaseUrl: FirstLook.Fal);
        store.ClaimAnswered.Set();

        Assert.Throws<IOException>(() => subs.Next("done"));
        // Neither waiting forever on a look-up that ended, nor taking the key for one with no earlier job.
        var again = Task.Run(() => subs.Next("done"));
        Assert.True(again.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal("req-done", again.Result?.RequestId);
    }

    /// <summary>A store whose reads of earlier submissions wait (up to 5 s) for <see cref="ClaimAnswered"/>.</summary>
    private sealed class ReadWaitsForClaim(IJobStore inner) : IJobStore
    {
        public ManualResetEventSlim Reading { get; } = new();
        public ManualResetEventSlim ClaimAnswered { get; } = new();
        public bool ReadTimedOut { get; private set; }
        public int FailReads { get; set; }
        public int Reads { get; private set; }

        private IReadOnlyList<FalJob> Read(Func<IReadOnlyList<FalJob>> read)
        {
            Reads++;
            Reading.Set();
            if (!ClaimAnswered.Wait(TimeSpan.FromSeconds(5))) ReadTimedOut = true;
            if (FailReads > 0)
            {
                FailReads--;
                throw new IOException("The job store could not be used: database is locked.");
            }
            return read();
        }

        public IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null) =>
            Read(() => inner.FindByIdempotencyKeys(keys, warn));

        public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null) => Read(() => inner.ReadJobs(warn));

        public string FilePath => inner.FilePath;
        public void Append(string entryKind, FalJob job, string? savedPath = null) => inner.Append(entryKind, job, savedPath);
        public Task AppendAsync(string entryKind, FalJob job, string? savedPath = null) => inner.AppendAsync(entryKind, job, savedPath);
        public Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim) => inner.ClaimAheadAsync(job, claim);
        public void AppendMany(IReadOnlyCollection<JournalRecord> records) => inner.AppendMany(records);
        public Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records) => inner.AppendManyAsync(records);
        public IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null) => inner.ReadJobsByStatus(statuses, warn);
        public IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null) => inner.ReadJobsOf(owners, statuses, warn);
        public IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null) => inner.FindByRequestIds(requestIds, warn);
        public IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null) => inner.ReadUnfinished(out ambiguous, warn);
        public long Count(JobFilter filter) => inner.Count(filter);
        public long Prune(JobFilter filter, Action<long>? progress = null) => inner.Prune(filter, progress);
        public long Import(IEnumerable<JournalRecord> records) => inner.Import(records);
        public IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs) => inner.FindUnknown(jobs);
        public int Remove(IEnumerable<FalJob> jobs) => inner.Remove(jobs);
    }
}
