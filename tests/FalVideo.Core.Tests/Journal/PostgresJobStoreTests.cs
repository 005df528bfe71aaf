#if NET8_0_OR_GREATER
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Postgres;
using Npgsql;

using static FalVideo.Core.Tests.Journal.StoreHistory;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// The PostgreSQL job store against a real server these tests start (<see cref="PostgresServer"/>), each test on its own
/// database and a role with rights on that database's schema only: the SQLite store's contract (same history read
/// back, removal, pruning, unfinished jobs), the version table, atomic claims across writers, a server restart, and
/// errors that never show the password.
/// </summary>
public sealed class PostgresJobStoreTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public void It_reads_back_what_the_sqlite_store_reads_back_for_the_same_history_with_a_role_that_owns_only_its_tables()
    {
        var cs = server.NewDatabase();
        Assert.Equal(false, PostgresServer.Scalar(cs, "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"));
        var folder = Directory.CreateTempSubdirectory("falvideo-pg-sqlite-");
        try
        {
            var sqlite = new SqliteJobStore(Path.Combine(folder.FullName, "jobs.db"));
            var store = new PostgresJobStore(cs);
            Assert.Empty(store.ReadJobs());
            WriteHistory(sqlite);
            WriteHistory(store);
            Assert.Equal(sqlite.ReadJobs().Select(Describe), store.ReadJobs().Select(Describe));
            Assert.Equal(3, store.ReadJobs().Count);
            Assert.Equal(["r-b"], store.ReadJobsByStatus([FalJobStatus.InProgress]).Select(j => j.RequestId));
            Assert.Equal(PostgresJobStore.SchemaVersion.ToString(), Convert.ToString(PostgresServer.Scalar(cs, "SELECT max(version) FROM falvideo_schema")));
            var indexes = Convert.ToString(PostgresServer.Scalar(cs, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'falvideo_jobs'"))!;
            Assert.Contains("falvideo_jobs_status", indexes);
            Assert.Contains("falvideo_jobs_idempotency", indexes);
            Assert.Contains("falvideo_jobs_unfinished", indexes);
            Assert.Equal("build-02", PostgresServer.Scalar(cs, "SELECT machine FROM falvideo_jobs WHERE job_key = 'r-b'"));
            Assert.Equal("bob", PostgresServer.Scalar(cs, "SELECT user_name FROM falvideo_jobs WHERE job_key = 'r-b'"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Jobs_keep_their_submitter_and_are_filtered_by_machine_and_user_in_the_query_as_in_the_embedded_stores()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        OwnerHistory.Write(store);
        // The columns a filter reads hold what each job's own record says.
        Assert.Equal("build-02|Alice", PostgresServer.Scalar(cs, "SELECT machine || '|' || user_name FROM falvideo_jobs WHERE job_key = 'a2'"));
        Assert.Equal(true, PostgresServer.Scalar(cs, "SELECT machine IS NULL AND user_name IS NULL FROM falvideo_jobs WHERE job_key = 'old'"));
        OwnerHistory.AssertFilters(store);
    }

    [Fact]
    public void A_prune_by_owner_goes_through_many_steps_among_other_owners_jobs() =>
        OwnerHistory.AssertPruneInSteps(new PostgresJobStore(server.NewDatabase()));

    [Fact]
    public void A_copy_from_the_embedded_store_and_back_keeps_each_jobs_submitter()
    {
        var folder = Directory.CreateTempSubdirectory("falvideo-pg-owners-");
        try
        {
            var sqlite = new SqliteJobStore(Path.Combine(folder.FullName, "jobs.db"));
            OwnerHistory.Write(sqlite);
            var shared = new PostgresJobStore(server.NewDatabase());
            // What Copy-FalJob writes: each job's latest state as one submission entry.
            static IEnumerable<JournalRecord> Copy(IJobStore from) =>
                from.ReadJobs().Select(j => JobJournal.Capture(string.IsNullOrEmpty(j.RequestId) ? JobJournal.AmbiguousEntry : "submitted", j));
            shared.Import(Copy(sqlite));
            OwnerHistory.AssertFilters(shared);
            var back = new SqliteJobStore(Path.Combine(folder.FullName, "back.db"));
            back.Import(Copy(shared));
            Assert.Equal(["b1|build-02|bob", "old||"], back.ReadJobs().Select(j => $"{j.RequestId}|{j.Machine}|{j.User}"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Schema_1s_machine_and_user_columns_move_into_each_jobs_state()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        store.Append("submitted", OwnerHistory.Job("r-1", FalJobStatus.Completed, null, null));
        store.Append("submitted", OwnerHistory.Job("r-2", FalJobStatus.Completed, "kept", "own"));
        // A schema 1 store: the columns named the process that first recorded the job, the state did not.
        PostgresServer.Execute(cs, "UPDATE falvideo_schema SET version = 1; UPDATE falvideo_jobs SET machine = 'runbook-07', user_name = 'svc-video' WHERE job_key = 'r-1'");
        // Another application name: a store this process has not checked yet, as a newer module's first use is.
        var upgraded = new PostgresJobStore(cs + ";Application Name=upgraded");
        Assert.Equal(["r-1|runbook-07|svc-video", "r-2|kept|own"], upgraded.ReadJobsOf(new(["*"], null), null).Select(j => $"{j.RequestId}|{j.Machine}|{j.User}"));
        upgraded.Verify();
        Assert.Equal(2, PostgresServer.Scalar(cs, "SELECT max(version) FROM falvideo_schema"));
        Assert.Equal(["r-1|runbook-07|svc-video", "r-2|kept|own"], upgraded.ReadJobsOf(new(["runbook-*", "KEPT"], null), null).Select(j => $"{j.RequestId}|{j.Machine}|{j.User}"));
    }

    [Fact]
    public void Unfinished_jobs_removal_and_pruning_follow_the_embedded_stores_contract()
    {
        var store = new PostgresJobStore(server.NewDatabase());
        store.Append("submitted", Job("queued"));
        store.Append(JobJournal.AmbiguousEntry, Job("", FalJobStatus.Unknown));
        var asked = Job("asked", FalJobStatus.Completed);
        asked.SaveDirectory = "/videos/out";
        store.Append(JobJournal.SaveRequestedEntry, asked);
        var records = Enumerable.Range(0, 600).Select(i => JobJournal.Capture("status", Job($"done-{i}", FalJobStatus.Completed))).ToList();
        Assert.Equal(600, store.Import(records));

        Assert.Equal(["queued", "asked"], UnfinishedJobs.Read(store, out var ambiguous).Select(j => j.RequestId));
        Assert.Equal(1, ambiguous);
        var filter = new JobFilter(Job("x").SubmittedAt.AddMinutes(1), [FalJobStatus.Completed]);
        Assert.Equal(601, store.Count(filter));
        var steps = new List<long>();
        Assert.Equal(601, store.Prune(filter, steps.Add));
        Assert.Equal([256L, 512L, 601L], steps);
        var left = store.ReadJobs();
        Assert.Equal(["queued", ""], left.Select(j => j.RequestId));
        Assert.Equal(1, store.Remove([left[0]]));
        Assert.Equal([left[0]], store.FindUnknown([left[0]]));
    }

    [Fact]
    public async Task Three_writers_claiming_the_same_keys_at_once_win_each_key_once()
    {
        var cs = server.NewDatabase();
        // Different application names: three connection strings, so three group commits racing as three processes do.
        var stores = Enumerable.Range(0, 3).Select(w => new PostgresJobStore(cs + $";Application Name=worker{w}")).ToList();
        stores[0].Verify();
        var keys = Enumerable.Range(0, 60).Select(i => $"key-{i}").ToList();
        var wins = 0;
        var losses = 0;
        // Every writer looks the keys up before any claims one: the race a lookup alone loses.
        var batches = stores.Select(store =>
        {
            var earlier = new EarlierSubmissions(store);
            foreach (var key in keys) Assert.Null(earlier.Next(key));
            return (store, earlier);
        }).ToList();
        await Task.WhenAll(batches.Select(b => Task.Run(async () =>
        {
            var (store, earlier) = b;
            await Task.WhenAll(keys.Select(async key =>
            {
                var job = Job("", FalJobStatus.Unknown);
                job.IdempotencyKey = key;
                var winner = await store.ClaimAheadAsync(job, earlier.Claim(key));
                if (winner is null) Interlocked.Increment(ref wins);
                else
                {
                    Assert.Equal(key, winner.IdempotencyKey);
                    Interlocked.Increment(ref losses);
                }
            }));
        })));
        Assert.Equal(60, wins);
        Assert.Equal(120, losses);
        Assert.Equal(60L, PostgresServer.Scalar(cs, "SELECT count(*) FROM falvideo_jobs"));
        Assert.Equal(60L, PostgresServer.Scalar(cs, "SELECT count(DISTINCT idem_key) FROM falvideo_jobs"));
    }

    [Fact]
    public async Task A_key_given_twice_in_one_batch_is_claimed_twice_and_a_failed_job_does_not_block()
    {
        var store = new PostgresJobStore(server.NewDatabase());
        var earlier = new EarlierSubmissions(store);
        var first = Job("", FalJobStatus.Unknown);
        first.IdempotencyKey = "twice";
        var second = Job("", FalJobStatus.Unknown);
        second.IdempotencyKey = "twice";
        Assert.Null(earlier.Next("twice"));
        Assert.Null(earlier.Next("twice"));
        // The second occurrence commits first: both still hold.
        Assert.Null(await store.ClaimAheadAsync(second, earlier.Claim("twice")));
        Assert.Null(await store.ClaimAheadAsync(first, earlier.Claim("twice")));
        // Another batch finds both and claims nothing.
        var other = new EarlierSubmissions(store);
        Assert.NotNull(other.Next("twice"));
        Assert.NotNull(other.Next("twice"));
        var third = Job("", FalJobStatus.Unknown);
        third.IdempotencyKey = "twice";
        Assert.NotNull(await store.ClaimAheadAsync(third, new EarlierSubmissions(store).Claim("twice")));
        // A failed job no longer blocks: once both failed, a claim holds again.
        foreach (var j in new[] { first, second })
        {
            j.Status = FalJobStatus.Failed;
            store.Append("status", j);
        }
        Assert.Null(await store.ClaimAheadAsync(third, new EarlierSubmissions(store).Claim("twice")));
    }

    [Fact]
    public void A_newer_schema_is_refused_naming_both_versions()
    {
        var cs = server.NewDatabase();
        new PostgresJobStore(cs).Append("submitted", Job("r-1"));
        var db = new NpgsqlConnectionStringBuilder(cs).Database!;
        PostgresServer.Execute(server.SuperConnectionString(db), "UPDATE falvideo_schema SET version = 7");
        // Another connection string: what another process (which never saw the store ready) opens.
        var error = Assert.Throws<IOException>(() => new PostgresJobStore(cs + ";Application Name=newer").Verify());
        Assert.Contains("schema 7", error.Message);
        Assert.Contains($"knows {PostgresJobStore.SchemaVersion}", error.Message);
    }

    [Fact]
    public void A_wrong_password_or_a_closed_port_fails_naming_the_store_never_the_password()
    {
        var cs = new NpgsqlConnectionStringBuilder(server.NewDatabase()) { Password = "wrong-Pa55word-xyz" }.ConnectionString;
        var error = Assert.Throws<IOException>(() => new PostgresJobStore(cs).Verify());
        Assert.Contains("postgresql://falvideo_worker_", error.Message);
        Assert.Contains("28P01", error.Message);
        Assert.DoesNotContain("wrong-Pa55word-xyz", error.ToString());
        var closed = new NpgsqlConnectionStringBuilder(cs) { Port = 1, Password = "another-Pa55word" }.ConnectionString;
        var refused = Assert.Throws<IOException>(() => new PostgresJobStore(closed).Verify());
        Assert.Contains(":1/", refused.Message);
        Assert.DoesNotContain("another-Pa55word", refused.ToString());
        Assert.Throws<IOException>(() => new PostgresJobStore(closed).Append("submitted", Job("r-1")));
    }

    [Fact]
    public async Task A_write_during_a_server_restart_waits_for_the_server_and_is_kept()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        store.Append("submitted", Job("before"));
        server.Stop();
        var writing = Task.Run(() => store.Append("submitted", Job("during")));
        await Task.Delay(1500);
        Assert.False(writing.IsCompleted);
        server.Start();
        await writing.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(["before", "during"], store.ReadJobs().Select(j => j.RequestId));
    }

    [Fact]
    public void A_request_id_finds_its_job_with_its_host_id_prompt_and_cost_and_a_write_ahead_key_never_matches()
    {
        var store = new PostgresJobStore(server.NewDatabase());
        var emulated = Job("r-emu");
        emulated.Id = "row-emu";
        emulated.QueueHost = "127.0.0.1:8787";
        store.Append("submitted", emulated);
        store.Append("submitted", Job("r-old"));
        var ahead = Job("");
        ahead.Status = FalJobStatus.Unknown;
        store.Append(JobJournal.SubmittingEntry, ahead);
        // A status entry of a job rebuilt without its host (e.g. from a webhook) leaves the recorded host alone.
        store.Append("status", new FalJob { RequestId = "r-emu", Status = FalJobStatus.Completed });

        var found = store.FindByRequestIds(["r-emu", "r-old", "r-unknown", "journal:" + ahead.JournalId, ""]);
        Assert.Equal(["r-emu", "r-old"], found.Select(j => j.RequestId));
        Assert.Equal("127.0.0.1:8787", found[0].QueueHost);
        Assert.Equal(FalJobStatus.Completed, found[0].Status);
        Assert.Equal("row-emu", found[0].Id);
        Assert.Equal("A lighthouse at dusk r-emu", found[0].Prompt);
        Assert.Equal(0.56m, found[0].EstimatedCostUsd);
        Assert.Null(found[1].QueueHost);
        Assert.Empty(store.FindByRequestIds([]));
    }

    [Fact]
    public async Task One_batch_applies_two_claims_of_a_key_and_a_write_ahead_with_its_answer_as_the_sqlite_store_does_one_by_one()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        var blocker = Job("blocker");
        store.Append("submitted", blocker);
        // Two workers that each looked the key up before either claimed it.
        var lookups = new[] { new EarlierSubmissions(store), new EarlierSubmissions(store) };
        foreach (var l in lookups) Assert.Null(l.Next("same"));
        var before = CommitsFor(cs);

        // Another session holds the blocker's row: the next commit waits for it, and what is queued meanwhile goes
        // into the one commit after it.
        await using var holder = new NpgsqlConnection(cs + ";Application Name=holder");
        holder.Open();
        var hold = holder.BeginTransaction();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM falvideo_jobs WHERE job_key = 'blocker' FOR UPDATE", holder, hold)) lockRow.ExecuteScalar();
        blocker.Status = FalJobStatus.InProgress;
        // The caller that finds nobody writing commits on its own thread.
        var waiting = Task.Run(() => store.AppendAsync("status", blocker));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Convert.ToInt64(PostgresServer.Scalar(cs, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")) == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the blocker's commit never waited for the row lock");
            await Task.Delay(20);
        }

        FalJob Claimed() => new() { RequestId = "", Status = FalJobStatus.Unknown, IdempotencyKey = "same", Prompt = "same", SubmittedAt = Job("x").SubmittedAt };
        var (a, b) = (Claimed(), Claimed());
        var claimA = store.ClaimAheadAsync(a, lookups[0].Claim("same"));
        var claimB = store.ClaimAheadAsync(b, lookups[1].Claim("same"));
        var c = Job("");
        c.Status = FalJobStatus.Unknown;
        var ahead = store.AppendAsync(JobJournal.SubmittingEntry, c);
        c.RequestId = "r-c";
        c.Status = FalJobStatus.InQueue;
        var answer = store.AppendAsync("submitted", c);
        c.Status = FalJobStatus.Completed;
        c.VideoUrl = "https://v3.fal.media/files/r-c.mp4";
        var done = store.AppendAsync("status", c);
        Assert.False(claimA.IsCompleted || claimB.IsCompleted || ahead.IsCompleted || done.IsCompleted);
        await hold.CommitAsync();
        await Task.WhenAll(waiting, claimA, claimB, ahead, answer, done).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, CommitsFor(cs) - before);
        Assert.Null(await claimA);
        // The second claim saw the first one's write-ahead, written earlier in the same transaction.
        Assert.Equal(a.JournalId, (await claimB)?.JournalId);

        // The same entries one by one in the SQLite store.
        var folder = Directory.CreateTempSubdirectory("falvideo-pg-batch-");
        try
        {
            var sqlite = new SqliteJobStore(Path.Combine(folder.FullName, "jobs.db"));
            var sb = Job("blocker");
            sqlite.Append("submitted", sb);
            var sqliteLookups = new[] { new EarlierSubmissions(sqlite), new EarlierSubmissions(sqlite) };
            foreach (var l in sqliteLookups) Assert.Null(l.Next("same"));
            sb.Status = FalJobStatus.InProgress;
            sqlite.Append("status", sb);
            Assert.Null(await sqlite.ClaimAheadAsync(Claimed(), sqliteLookups[0].Claim("same")));
            Assert.NotNull(await sqlite.ClaimAheadAsync(Claimed(), sqliteLookups[1].Claim("same")));
            var sc = Job("");
            sc.Status = FalJobStatus.Unknown;
            sqlite.Append(JobJournal.SubmittingEntry, sc);
            sc.RequestId = "r-c";
            sc.Status = FalJobStatus.InQueue;
            sqlite.Append("submitted", sc);
            sc.Status = FalJobStatus.Completed;
            sc.VideoUrl = "https://v3.fal.media/files/r-c.mp4";
            sqlite.Append("status", sc);
            Assert.Equal(sqlite.ReadJobs().Select(Describe), store.ReadJobs().Select(Describe));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
        Assert.Equal(["blocker", "", "r-c"], store.ReadJobs().Select(j => j.RequestId));
        // One row for the write-ahead and its answer, its three entries in order; no row for the lost claim.
        Assert.Equal($"{JobJournal.SubmittingEntry},submitted,status", PostgresServer.Scalar(cs,
            "SELECT string_agg(e.kind, ',' ORDER BY e.id) FROM falvideo_entries e JOIN falvideo_jobs j ON j.seq = e.job_seq WHERE j.job_key = 'r-c'"));
        Assert.Equal(3L, PostgresServer.Scalar(cs, "SELECT count(*) FROM falvideo_jobs"));
        Assert.Equal(Job("x").SubmittedAt.ToUnixTimeMilliseconds(), PostgresServer.Scalar(cs, "SELECT submitted_time FROM falvideo_jobs WHERE job_key = 'r-c'"));
    }

    [Fact]
    public void A_batch_that_fails_midway_writes_nothing()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        store.Append("submitted", Job("kept"));
        // The jobs' statements of the next batch succeed; its entries' insert is refused.
        PostgresServer.Execute(cs, "REVOKE INSERT ON falvideo_entries FROM CURRENT_USER");
        var error = Assert.Throws<IOException>(() => store.AppendMany(
            [JobJournal.Capture("status", Job("kept", FalJobStatus.Completed)), JobJournal.Capture("submitted", Job("new"))]));
        Assert.Contains("falvideo_entries", error.Message);
        Assert.Equal(["kept|InQueue"], store.ReadJobs().Select(j => j.RequestId + "|" + j.Status));
        Assert.Equal(1L, PostgresServer.Scalar(cs, "SELECT count(*) FROM falvideo_entries"));
        Assert.Equal("InQueue", PostgresServer.Scalar(cs, "SELECT status FROM falvideo_jobs WHERE job_key = 'kept'"));
    }

    [Fact]
    public async Task A_rows_claim_finds_what_a_look_up_before_it_finds_as_in_the_embedded_stores()
    {
        var looked = new PostgresJobStore(server.NewDatabase());
        var claimed = new PostgresJobStore(server.NewDatabase());
        FirstLook.WriteHistory(looked);
        FirstLook.WriteHistory(claimed);
        Assert.True(new EarlierSubmissions(claimed).ClaimsAtomically);
        var byLookUp = await FirstLook.RunAsync(looked, FirstLook.Rerun, firstLook: false);
        var byClaim = await FirstLook.RunAsync(claimed, FirstLook.Rerun, firstLook: true);
        Assert.Equal(byLookUp, byClaim);
        Assert.Equal(
            ["stands on done", "sent", "stands on queued", "sent", "sent", "stands on unknown", "stands on twice-2", "stands on twice-1", "sent",
             "lost to emulated", "stands on mixed-fal", "lost to mixed-fal", "sent", "sent"],
            byClaim);
        Assert.Equal(looked.ReadJobs().Select(j => $"{j.Prompt}|{j.Status}|{j.IdempotencyKey}"), claimed.ReadJobs().Select(j => $"{j.Prompt}|{j.Status}|{j.IdempotencyKey}"));
    }

    [Fact]
    public async Task A_batch_reads_the_store_for_no_row_whose_claim_makes_the_first_look_at_its_key()
    {
        var cs = server.NewDatabase();
        var store = new PostgresJobStore(cs);
        store.Verify();
        var keys = Enumerable.Range(0, 40).Select(i => $"key-{i}").ToList();
        // A first run of 40 fresh rows, then a re-run of the same rows with one given twice: counted queries of the store.
        var before = QueriesFor(cs);
        var first = await FirstLook.RunAsync(store, keys, firstLook: true);
        Assert.All(first, line => Assert.Equal("sent", line));
        Assert.Equal(0, QueriesFor(cs) - before);
        var rerun = await FirstLook.RunAsync(store, [.. keys, keys[0]], firstLook: true);
        Assert.Equal([.. keys.Select(k => "stands on new " + k), "sent"], rerun);
        Assert.Equal(0, QueriesFor(cs) - before);
        Assert.Equal(41L, PostgresServer.Scalar(cs, "SELECT count(*) FROM falvideo_jobs"));

        // With a look-up before each claim, the same re-run reads the store once per key.
        var again = QueriesFor(cs);
        Assert.Equal([.. keys.Select(k => "stands on new " + k), "stands on new " + keys[0]], await FirstLook.RunAsync(store, [.. keys, keys[0]], firstLook: false));
        Assert.Equal(40, QueriesFor(cs) - again);
    }

    private static long QueriesFor(string connectionString) =>
        (long)typeof(PostgresJobStore).GetMethod("QueriesFor", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .Invoke(null, [connectionString])!;

    // Internal (a test hook, not API), reached by reflection as in the SQLite store's tests.
    private static long CommitsFor(string connectionString) =>
        (long)typeof(PostgresJobStore).GetMethod("CommitsFor", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .Invoke(null, [connectionString])!;
}
#endif
