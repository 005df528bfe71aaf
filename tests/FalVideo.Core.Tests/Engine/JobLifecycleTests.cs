using FalVideo.Engine;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Engine;

/// <summary>The job state machine: which transitions are legal, and that each is in the store before the next effect.</summary>
public sealed class JobLifecycleTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-life-" + Guid.NewGuid().ToString("N"));

    public JobLifecycleTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static readonly (JobState From, JobState To)[] LegalPairs =
    [
        (JobState.Planned, JobState.WriteAhead),
        (JobState.WriteAhead, JobState.Submitted),
        (JobState.WriteAhead, JobState.Rejected),
        (JobState.WriteAhead, JobState.Ambiguous),
        (JobState.Submitted, JobState.Queued),
        (JobState.Submitted, JobState.Running),
        (JobState.Submitted, JobState.Completed),
        (JobState.Submitted, JobState.Failed),
        (JobState.Submitted, JobState.Cancelled),
        (JobState.Queued, JobState.Running),
        (JobState.Queued, JobState.Completed),
        (JobState.Queued, JobState.Failed),
        (JobState.Queued, JobState.Cancelled),
        (JobState.Running, JobState.Completed),
        (JobState.Running, JobState.Failed),
        (JobState.Running, JobState.Cancelled),
        (JobState.Completed, JobState.Saved),
        (JobState.Saved, JobState.Saved),
    ];

    public static TheoryData<JobState, JobState> Legal
    {
        get
        {
            var data = new TheoryData<JobState, JobState>();
            foreach (var (from, to) in LegalPairs) data.Add(from, to);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Legal))]
    public async Task A_legal_transition_is_in_the_store_when_it_returns(JobState from, JobState to)
    {
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        var job = Job(from is JobState.Planned or JobState.WriteAhead ? "" : "req-1");
        var life = new JobLifecycle(store, job, from);
        var file = Path.Combine(_folder, "a.mp4");

        await life.MoveToAsync(to, to == JobState.Saved ? file : null);

        Assert.Equal(to, life.State);
        var stored = Assert.Single(store.ReadJobs());
        // What the store gives back is the state the machine is in, as far as a status can tell: a write-ahead record
        // read back without its outcome is of unknown fate, and a submitted job is queued (fal's answer to a submit).
        var expected = to switch { JobState.WriteAhead => JobState.Ambiguous, JobState.Submitted => JobState.Queued, _ => to };
        Assert.Equal(expected, JobLifecycle.StateOf(stored));
        if (to == JobState.Saved) Assert.Equal(file, stored.SavedPath);
    }

    [Fact]
    public void Every_pair_not_listed_is_illegal()
    {
        var legal = LegalPairs.ToHashSet();
        foreach (JobState from in Enum.GetValues(typeof(JobState)))
            foreach (JobState to in Enum.GetValues(typeof(JobState)))
                Assert.Equal(legal.Contains((from, to)), JobLifecycle.IsLegal(from, to));
    }

    [Theory]
    [InlineData(JobState.Planned, JobState.Submitted)]      // sent without a write-ahead record
    [InlineData(JobState.Ambiguous, JobState.Submitted)]    // an unknown answer is never turned into a known one
    [InlineData(JobState.Rejected, JobState.WriteAhead)]
    [InlineData(JobState.Running, JobState.Queued)]
    [InlineData(JobState.Failed, JobState.Saved)]
    [InlineData(JobState.Queued, JobState.Saved)]
    public async Task An_illegal_transition_throws_and_records_nothing(JobState from, JobState to)
    {
        var store = new CountingStore();
        var life = new JobLifecycle(store, Job("req-1"), from);
        await Assert.ThrowsAsync<InvalidOperationException>(() => life.MoveToAsync(to, "x.mp4"));
        Assert.Equal(from, life.State);
        Assert.Equal(0, store.Appends);
    }

    [Fact]
    public async Task A_store_that_fails_stops_the_next_effect_and_keeps_the_state()
    {
        var store = new CountingStore { Fail = true };
        var job = Job("");
        var life = new JobLifecycle(store, job);
        var sent = false;

        async Task SubmitAsync()
        {
            await life.MoveToAsync(JobState.WriteAhead);
            sent = true; // the effect the write-ahead record allows
        }

        await Assert.ThrowsAsync<IOException>(SubmitAsync);
        Assert.False(sent);
        Assert.Equal(JobState.Planned, life.State);
        Assert.Equal(1, store.Appends);

        // Saving too: a completed job whose saved record fails is still completed, not saved.
        var done = Job("req-2");
        done.Status = FalJobStatus.Completed;
        var saving = new JobLifecycle(store, done, JobState.Completed);
        await Assert.ThrowsAsync<IOException>(() => saving.MoveToAsync(JobState.Saved, "v.mp4"));
        Assert.Equal(JobState.Completed, saving.State);
        Assert.Null(done.SavedPath);
        Assert.Equal(FalJobStatus.Completed, done.Status);
    }

    [Fact]
    public async Task The_whole_happy_path_leaves_a_saved_job()
    {
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        var job = Job("");
        var life = new JobLifecycle(store, job);
        await life.MoveToAsync(JobState.WriteAhead);
        Assert.Equal(JobJournal.SubmittingEntry, JobLifecycle.EntryKind(JobState.WriteAhead));
        job.RequestId = "req-9";
        foreach (var next in new[] { JobState.Submitted, JobState.Queued, JobState.Running, JobState.Completed })
            await life.MoveToAsync(next);
        await life.MoveToAsync(JobState.Saved, Path.Combine(_folder, "v.mp4"));
        var stored = Assert.Single(store.ReadJobs());
        Assert.Equal(JobState.Saved, JobLifecycle.StateOf(stored));
        Assert.Equal("req-9", stored.RequestId);
    }

    private static FalJob Job(string requestId) => new()
    {
        RequestId = requestId,
        EndpointId = "fal-ai/kling-video/v3/pro/text-to-video",
        Model = "kling-v3-pro",
        Mode = "text-to-video",
        Prompt = "A lighthouse",
        SubmittedAt = DateTimeOffset.UtcNow,
    };
}
