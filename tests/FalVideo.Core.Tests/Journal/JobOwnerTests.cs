using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// Whose jobs: each store keeps the machine and user a job was submitted from across its later entries, and
/// <see cref="IJobStore.ReadJobsOf"/>, <see cref="IJobStore.Count"/> and <see cref="IJobStore.Prune"/> take wildcard
/// patterns for them (<see cref="JobOwnerFilter"/>), matched case-insensitively; an old record without them is matched
/// by <c>*</c> only. The PostgreSQL store runs the same history in <see cref="PostgresJobStoreTests"/>.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class JobOwnerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-owners-" + Guid.NewGuid().ToString("N"));

    public JobOwnerTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string> Stores => new() { "jobs.db", "journal.jsonl" };

    [Theory]
    [MemberData(nameof(Stores))]
    public void Jobs_keep_their_submitter_and_are_listed_counted_and_pruned_by_machine_and_user(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        OwnerHistory.Write(store);
        OwnerHistory.AssertFilters(store);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void Names_beyond_ascii_match_without_regard_to_case(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        store.Append(JobJournal.SubmittingEntry, OwnerHistory.Job("", FalJobStatus.Unknown, "WS-ÉLAN", "Zoë"));
        Assert.Single(store.ReadJobsOf(new(["ws-élan"], ["ZOË"]), null));
        Assert.Equal(1, store.Count(new JobFilter(null, [FalJobStatus.Unknown], new(["ws-é*"], null))));
        Assert.Equal(0, store.Count(new JobFilter(null, [FalJobStatus.Unknown], new(["ws-e*"], null))));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void A_prune_by_owner_goes_through_many_steps_among_other_owners_jobs(string file) =>
        OwnerHistory.AssertPruneInSteps(JobStore.Open(Path.Combine(_folder, file)));

    [Fact]
    public void A_copy_between_the_embedded_stores_keeps_each_jobs_submitter()
    {
        var from = JobStore.Open(Path.Combine(_folder, "journal.jsonl"));
        OwnerHistory.Write(from);
        var to = JobStore.Open(Path.Combine(_folder, "jobs.db"));
        // What Copy-FalJob writes: each job's latest state as one submission entry.
        to.Import(from.ReadJobs().Select(j => JobJournal.Capture(string.IsNullOrEmpty(j.RequestId) ? JobJournal.AmbiguousEntry : "submitted", j)));
        Assert.Equal(from.ReadJobs().Select(j => $"{j.RequestId}|{j.Machine}|{j.User}"), to.ReadJobs().Select(j => $"{j.RequestId}|{j.Machine}|{j.User}"));
        OwnerHistory.AssertFilters(to);
    }

    [Theory]
    [InlineData("build-0?", "BUILD-01", true)]
    [InlineData("build-0?", "build-010", false)]
    [InlineData("*", "", true)]
    [InlineData("*", null, true)]
    [InlineData("b*", null, false)]
    [InlineData("host.x", "hostyx", false)]
    [InlineData("host.x", "HOST.X", true)]
    [InlineData("lab[1-3]", "lab2", true)]
    [InlineData("lab[1-3]", "lab4", false)]
    [InlineData("lab[ab-]", "lab-", true)]
    [InlineData("lab`[1`]", "lab[1]", true)]
    [InlineData("lab`[1`]", "lab1", false)]
    [InlineData("lab[1", "lab[1", true)]
    [InlineData("DOMAIN\\*", "domain\\alice", true)]
    [InlineData("a+b", "a+b", true)]
    [InlineData("a+b", "aab", false)]
    public void Patterns_match_as_powershell_wildcards_do(string pattern, string? value, bool expected) =>
        Assert.Equal(expected, JobOwnerFilter.IsMatch(pattern, value));

    [Fact]
    public void A_filter_says_whose_jobs_and_alone_is_no_condition()
    {
        var filter = new JobFilter(null, [FalJobStatus.Completed], new(["build-*"], ["alice", "bob"]));
        Assert.Equal("with status Completed from machine build-* by user alice or bob", filter.ToString());
        Assert.True(new JobFilter(null, null, new(["build-*"], null)).IsEmpty);
        Assert.False(filter.Matches(FalJobStatus.Completed, DateTimeOffset.UtcNow, "build-1", "carol"));
        Assert.True(filter.Matches(FalJobStatus.Completed, DateTimeOffset.UtcNow, "build-1", "Bob"));
        Assert.Null(JobOwnerFilter.Of(null, null));
    }
}

/// <summary>One history of several submitters, written to any store, and what its filters must answer.</summary>
internal static class OwnerHistory
{
    internal static FalJob Job(string requestId, FalJobStatus status, string? machine, string? user) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
        Mode = "text-to-video", Status = status, Prompt = "A harbour at dawn " + requestId, DurationSeconds = 5,
        EstimatedCostUsd = 0.56m, SubmittedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
        Machine = machine, User = user,
    };

    /// <summary>Jobs of alice on BUILD-01 and build-02, of bob on build-02, one of a machine named with a dot, and one
    /// recorded before submitters were kept; each submitted through its write-ahead, then moved on by entries that
    /// carry no submitter.</summary>
    internal static void Write(IJobStore store)
    {
        foreach (var (id, machine, user, status) in new[]
                 {
                     ("a1", "BUILD-01", "alice", FalJobStatus.Completed), ("a2", "build-02", "Alice", FalJobStatus.Failed),
                     ("b1", "build-02", "bob", FalJobStatus.InQueue), ("d1", "host.x", "dora", FalJobStatus.Completed),
                     ("old", null, null, FalJobStatus.Completed),
                 })
        {
            var job = Job("", FalJobStatus.Unknown, machine, user);
            store.Append(JobJournal.SubmittingEntry, job);
            job.RequestId = id;
            job.Status = FalJobStatus.InQueue;
            store.Append("submitted", job);
            // A later status read knows nothing of the submitter (a job rebuilt from a request id has none).
            var later = Job(id, status, null, null);
            later.JournalId = job.JournalId;
            store.Append("status", later);
        }
    }

    /// <summary>600 finished jobs, every other one of build-a: a prune of build-a's takes 300 in steps of the store's
    /// batch, and leaves every job of build-b.</summary>
    internal static void AssertPruneInSteps(IJobStore store)
    {
        store.Import(Enumerable.Range(0, 600).Select(i => JobJournal.Capture("submitted", Job($"r-{i}", FalJobStatus.Completed, i % 2 == 0 ? "build-a" : "build-b", "ci"))));
        var filter = new JobFilter(null, [FalJobStatus.Completed], new(["BUILD-A"], null));
        Assert.Equal(300, store.Count(filter));
        var steps = new List<long>();
        Assert.Equal(300, store.Prune(filter, steps.Add));
        Assert.Equal(300, steps.Last());
        var left = store.ReadJobs();
        Assert.Equal(300, left.Count);
        Assert.All(left, j => Assert.Equal("build-b", j.Machine));
    }

    internal static void AssertFilters(IJobStore store)
    {
        string[] Ids(IEnumerable<FalJob> jobs) => jobs.Select(j => j.RequestId).ToArray();
        var a1 = store.FindByRequestIds(["a1"]).Single();
        Assert.Equal(("BUILD-01", "alice", FalJobStatus.Completed), (a1.Machine, a1.User, a1.Status));
        var old = store.FindByRequestIds(["old"]).Single();
        Assert.Null(old.Machine);
        Assert.Null(old.User);

        Assert.Equal(["a1", "a2", "b1"], Ids(store.ReadJobsOf(new(["build-0?"], null), null)));
        Assert.Equal(["a1"], Ids(store.ReadJobsOf(new(null, ["ALICE"]), [FalJobStatus.Completed])));
        Assert.Equal(["a1", "a2"], Ids(store.ReadJobsOf(new(null, ["alice"]), null)));
        Assert.Equal(["b1"], Ids(store.ReadJobsOf(new(["build-0[2-3]"], ["b*", "nobody"]), null)));
        Assert.Equal(["d1"], Ids(store.ReadJobsOf(new(["host.x"], null), null)));
        Assert.Empty(store.ReadJobsOf(new(["host?x"], ["alice"]), null));
        Assert.Equal(["a1", "a2", "b1", "d1", "old"], Ids(store.ReadJobsOf(new(["*"], null), null)));
        Assert.Equal(["a1", "d1"], Ids(store.ReadJobsOf(new(["*"], ["?*"]), [FalJobStatus.Completed])));
        Assert.Empty(store.ReadJobsOf(new(null, ["alice"]), []));

        var finished = new[] { FalJobStatus.Completed, FalJobStatus.Failed };
        Assert.Equal(4, store.Count(new JobFilter(null, finished)));
        Assert.Equal(2, store.Count(new JobFilter(null, finished, new(null, ["alice"]))));
        Assert.Equal(0, store.Count(new JobFilter(null, null, new(null, ["alice"]))));
        Assert.Equal(2, store.Prune(new JobFilter(null, finished, new(["build-*"], ["alice"]))));
        Assert.Equal(["b1", "d1", "old"], Ids(store.ReadJobs()));
        Assert.Equal(1, store.Prune(new JobFilter(DateTimeOffset.UtcNow, null, new(["HOST.X"], null))));
        Assert.Equal(["b1", "old"], Ids(store.ReadJobs()));
    }
}
