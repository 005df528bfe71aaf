using System.Diagnostics;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// The store's promises at scale, on both kinds (SQLite and a JSON Lines journal): pruning by date and status in
/// steps that never hold a writer back for long, the bulk import, the unfinished jobs read through their own index,
/// the schema 2 to 3 migration and the refusal of a newer schema, unknown jobs found for Remove-FalJob, and the
/// route reason kept with a job.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class JobStoreScaleTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-scale-" + Guid.NewGuid().ToString("N"));

    public JobStoreScaleTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private IJobStore Store(string kind) => JobStore.Open(Path.Combine(_folder, kind == "sqlite" ? "jobs.db" : "journal.jsonl"));

    private static FalJob Job(string requestId, FalJobStatus status, DateTimeOffset submitted) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
        Mode = "text-to-video", Status = status, Prompt = "A lighthouse at dusk " + requestId, DurationSeconds = 5,
        EstimatedCostUsd = 0.56m, SubmittedAt = submitted,
    };

    /// <summary>Jobs as a lazy sequence of captured entries: even numbers finished two days ago, odd ones queued now.</summary>
    private static IEnumerable<JournalRecord> Seed(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return i % 2 == 0
                ? JobJournal.Capture("submitted", Job($"old-{i}", FalJobStatus.Completed, Now.AddDays(-2)))
                : JobJournal.Capture("submitted", Job($"live-{i}", FalJobStatus.InQueue, Now));
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("jsonl")]
    public void Import_writes_every_job_and_prune_counts_and_forgets_only_what_the_filter_matches(string kind)
    {
        var store = Store(kind);
        Assert.Equal(2000, store.Import(Seed(2000)));
        var cancelled = Job("cancelled-old", FalJobStatus.Cancelled, Now.AddDays(-3));
        store.Append("submitted", cancelled);
        Assert.Equal(2001, store.ReadJobs().Count);

        var oldFinished = new JobFilter(Now.AddDays(-1), [FalJobStatus.Completed, FalJobStatus.Cancelled]);
        Assert.Equal(1001, store.Count(oldFinished));
        Assert.Equal(0, store.Count(new JobFilter(null, null)));
        Assert.Equal(0, store.Prune(new JobFilter(null, null)));
        Assert.Equal(1000, store.Count(new JobFilter(null, [FalJobStatus.InQueue])));
        Assert.Equal(1, store.Count(new JobFilter(Now.AddDays(-2.5), null)));

        Assert.Equal(1001, store.Prune(oldFinished));
        var left = store.ReadJobs();
        Assert.Equal(1000, left.Count);
        Assert.All(left, j => Assert.Equal(FalJobStatus.InQueue, j.Status));
        Assert.Equal(0, store.Count(oldFinished));
    }

    [Theory]
    [InlineData("sqlite", 60_000)]
    [InlineData("jsonl", 60_000)]
    public async Task A_writer_is_never_held_back_long_while_a_large_prune_runs(string kind, int jobs)
    {
        var path = Path.Combine(_folder, kind == "sqlite" ? "jobs.db" : "journal.jsonl");
        JobStore.Open(path).Import(Seed(jobs));
        var pruner = JobStore.Open(path);
        // Another store object of the same file, as another session or process has, keeps appending write-ahead rows.
        var writer = JobStore.Open(path);
        var prune = Task.Run(() => pruner.Prune(new JobFilter(Now.AddDays(-1), [FalJobStatus.Completed])));
        var longest = TimeSpan.Zero;
        var appended = new List<string>();
        var clock = new Stopwatch();
        while (!prune.IsCompleted)
        {
            var job = Job($"during-{appended.Count}", FalJobStatus.InQueue, Now);
            clock.Restart();
            writer.Append("submitted", job);
            clock.Stop();
            if (clock.Elapsed > longest) longest = clock.Elapsed;
            appended.Add(job.RequestId);
            Thread.Sleep(5);
        }

        Assert.Equal(jobs / 2, await prune);
        Assert.NotEmpty(appended);
        var ids = writer.ReadJobs().Select(j => j.RequestId).ToHashSet();
        Assert.All(appended, id => Assert.Contains(id, ids));
        Assert.Equal(jobs / 2 + appended.Count, ids.Count);
        // The promise is about a second; the bound leaves room for a busy shared machine's slow flushes. Before pruning
        // went in steps, a prune of this size held writers for its whole run.
        Assert.True(longest < TimeSpan.FromSeconds(2),
            $"An append waited {longest.TotalMilliseconds:0} ms while {jobs / 2} jobs were pruned ({appended.Count} appends).");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("jsonl")]
    public void Unfinished_jobs_are_the_open_ones_and_the_completed_ones_never_saved(string kind)
    {
        var store = Store(kind);
        store.Append("submitted", Job("queued", FalJobStatus.InQueue, Now));
        var unsaved = Job("unsaved", FalJobStatus.Completed, Now);
        unsaved.SaveDirectory = "/videos";
        store.Append(JobJournal.SaveRequestedEntry, unsaved);
        var saved = Job("saved", FalJobStatus.Completed, Now);
        saved.SaveDirectory = "/videos";
        store.Append(JobJournal.SaveRequestedEntry, saved);
        store.Append("saved", saved, "/videos/saved.mp4");
        store.Append("submitted", Job("done-no-save", FalJobStatus.Completed, Now));
        store.Append(JobJournal.AmbiguousEntry, Job("", FalJobStatus.Unknown, Now));
        var running = Job("", FalJobStatus.Unknown, Now);
        store.Append(JobJournal.SubmittingEntry, running);
        running.RequestId = "running";
        running.Status = FalJobStatus.InProgress;
        store.Append("submitted", running);
        // A queued job that completes and is saved leaves the unfinished ones.
        var later = Job("later", FalJobStatus.InQueue, Now);
        store.Append("submitted", later);
        later.Status = FalJobStatus.Completed;
        later.SaveDirectory = "/videos";
        store.Append(JobJournal.SaveRequestedEntry, later);
        store.Append("saved", later, "/videos/later.mp4");

        var unfinished = UnfinishedJobs.Read(store, out var ambiguous);
        Assert.Equal(["queued", "running", "unsaved"], unfinished.Select(j => j.RequestId));
        Assert.Equal(1, ambiguous);
        Assert.Equal(unfinished.Select(j => j.RequestId).Order(), store.ReadJobs().Where(UnfinishedJobs.IsResumable).Select(j => j.RequestId).Order());
    }

    [Fact]
    public void The_status_unfinished_and_prune_queries_read_through_indexes()
    {
        var path = Path.Combine(_folder, "jobs.db");
        new SqliteJobStore(path).Import(Seed(100));
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        string Plan(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read()) rows.Add(reader.GetString(3));
            return string.Join("\n", rows);
        }
        var status = Plan(Internal<string>("StatusQuery", new[] { FalJobStatus.InQueue, FalJobStatus.InProgress }));
        Assert.Contains("USING INDEX jobs_status", status);
        Assert.DoesNotContain("SCAN jobs", status.Replace("SCAN jobs USING", ""));
        Assert.Contains("USING INDEX jobs_unfinished", Plan(Internal<string>("UnfinishedQuery")));
        Assert.Contains("jobs_unfinished", Plan(Internal<string>("AmbiguousQuery")));
        Assert.Contains("jobs_submitted", Plan("SELECT seq FROM jobs WHERE submitted_time < 5 LIMIT 256"));
    }

    /// <summary>An internal query text of the store (reached by reflection: see SqliteJobStoreTests.CommitsFor).</summary>
    private static T Internal<T>(string name, params object[] arguments)
    {
        const System.Reflection.BindingFlags Flags = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;
        var type = typeof(SqliteJobStore);
        if (type.GetField(name, Flags) is { } field) return (T)field.GetValue(null)!;
        return (T)type.GetMethod(name, Flags)!.Invoke(null, arguments)!;
    }

    [Fact]
    public void A_schema_2_store_gains_submission_times_and_unfinished_marks_from_its_jobs()
    {
        // SQLite's native provider is set up by a store's first use.
        new SqliteJobStore(Path.Combine(_folder, "first.db")).Append("submitted", Job("first", FalJobStatus.InQueue, Now));
        var path = Path.Combine(_folder, "v2.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE jobs (seq INTEGER PRIMARY KEY, job_key TEXT NOT NULL UNIQUE, journal_id TEXT, status TEXT,
                    first_time INTEGER NOT NULL, updated_time INTEGER NOT NULL, state TEXT NOT NULL, idem_key TEXT);
                CREATE INDEX jobs_status ON jobs (status, seq);
                CREATE INDEX jobs_idempotency ON jobs (idem_key);
                CREATE INDEX jobs_updated ON jobs (updated_time);
                CREATE TABLE entries (id INTEGER PRIMARY KEY, job_seq INTEGER NOT NULL, kind TEXT NOT NULL, time INTEGER NOT NULL, line TEXT NOT NULL);
                CREATE INDEX entries_job ON entries (job_seq);
                CREATE TABLE imports (source TEXT NOT NULL, imported_at INTEGER NOT NULL, lines INTEGER NOT NULL, skipped INTEGER NOT NULL);
                INSERT INTO jobs (job_key, status, first_time, updated_time, state) VALUES
                    ('queued', 'InQueue', 1000, 1000, '{"request_id":"queued","status":"InQueue","submitted_at":"2026-01-02T03:04:05.678+01:00"}'),
                    ('unsaved', 'Completed', 2000, 2000, '{"request_id":"unsaved","status":"Completed","save_directory":"/v"}'),
                    ('saved', 'Completed', 3000, 3000, '{"request_id":"saved","status":"Completed","save_directory":"/v","saved_path":"/v/a.mp4"}'),
                    ('journal:j1', 'Unknown', 4000, 4000, '{"journal_id":"j1","status":"Unknown"}'),
                    ('failed', 'Failed', 5000, 5000, '{"request_id":"failed","status":"Failed"}');
                PRAGMA user_version = 2;
                """;
            create.ExecuteNonQuery();
        }

        var store = new SqliteJobStore(path);
        var unfinished = store.ReadUnfinished(out var ambiguous);
        Assert.Equal(["queued", "unsaved"], unfinished.Select(j => j.RequestId));
        Assert.Equal(1, ambiguous);
        var submitted = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(1));
        // The submission time comes from the state; a job without one keeps the time first recorded.
        Assert.Equal(1, store.Count(new JobFilter(submitted.AddMilliseconds(1), [FalJobStatus.InQueue])));
        Assert.Equal(0, store.Count(new JobFilter(submitted, [FalJobStatus.InQueue])));
        Assert.Equal(1, store.Count(new JobFilter(DateTimeOffset.FromUnixTimeMilliseconds(5001), [FalJobStatus.Failed])));
        Assert.Equal(0, store.Count(new JobFilter(DateTimeOffset.FromUnixTimeMilliseconds(5000), [FalJobStatus.Failed])));
        store.Append("submitted", Job("new", FalJobStatus.InQueue, Now));
        Assert.Equal(["queued", "new", "unsaved"], store.ReadUnfinished(out _).Select(j => j.RequestId));
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal(SqliteJobStore.SchemaVersion, Convert.ToInt32(version.ExecuteScalar()));
    }

    [Fact]
    public void A_store_of_a_newer_schema_is_refused_with_an_error_naming_it()
    {
        var path = Path.Combine(_folder, "newer.db");
        new SqliteJobStore(path).Append("submitted", Job("r-1", FalJobStatus.InQueue, Now));
        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var bump = connection.CreateCommand();
            bump.CommandText = $"PRAGMA user_version = {SqliteJobStore.SchemaVersion + 1}";
            bump.ExecuteNonQuery();
        }
        // A fresh copy of the file, so this process's memory of having opened it does not skip the check.
        var copy = Path.Combine(_folder, "newer-copy.db");
        File.Copy(path, copy);

        var error = Assert.Throws<IOException>(() => new SqliteJobStore(copy).ReadJobs());
        Assert.Contains(copy, error.Message);
        Assert.Contains("newer FalVideo", error.Message);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("jsonl")]
    public void Unknown_jobs_are_found_and_the_route_reason_is_kept(string kind)
    {
        var store = Store(kind);
        var routed = Job("routed", FalJobStatus.InQueue, Now);
        routed.RouteReason = "cheapest with audio: kling-v3-pro";
        store.Append("submitted", routed);
        var ahead = Job("", FalJobStatus.Unknown, Now);
        store.Append(JobJournal.SubmittingEntry, ahead);
        var stranger = Job("never-seen", FalJobStatus.Completed, Now);

        Assert.Equal([stranger], store.FindUnknown([routed, ahead, stranger]));
        Assert.Equal("cheapest with audio: kling-v3-pro", store.ReadJobs().Single(j => j.RequestId == "routed").RouteReason);
    }
}
