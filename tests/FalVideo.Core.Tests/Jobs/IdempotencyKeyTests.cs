using System.Text.Json.Nodes;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Jobs;

/// <summary>The idempotency key (what makes a re-run of the same row the same submission) and its look-up in both stores.</summary>
// Alone: A_batch_keeps_a_few_bytes_per_fresh_key measures the whole heap, which tests running beside it grew by 43 and
// 75 MB in two runs of the suite (2026-12-01).
[Collection(nameof(FalVideo.Core.Tests.Journal.RunsAlone))]
public sealed class IdempotencyKeyTests : IDisposable
{
    private const string Endpoint = "fal-ai/kling-video/v3/pro/text-to-video";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-idem-" + Guid.NewGuid().ToString("N"));

    public IdempotencyKeyTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void The_same_input_in_another_property_order_gives_the_same_key()
    {
        var a = JsonNode.Parse("""{"prompt":"A lighthouse","duration":"5","extra":{"b":1,"a":[{"y":2,"x":1}]}}""");
        var b = JsonNode.Parse("""{ "extra": { "a": [ { "x": 1, "y": 2 } ], "b": 1 }, "duration": "5", "prompt": "A lighthouse" }""");
        var key = IdempotencyKey.Compute(Endpoint, a, null);
        Assert.Equal(key, IdempotencyKey.Compute(Endpoint, b, null));
        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal("""{"duration":"5","extra":{"a":[{"x":1,"y":2}],"b":1},"prompt":"A lighthouse"}""", IdempotencyKey.Canonical(b));
    }

    [Fact]
    public void Another_input_endpoint_or_row_id_gives_another_key()
    {
        var input = JsonNode.Parse("""{"prompt":"A lighthouse","duration":"5"}""");
        var key = IdempotencyKey.Compute(Endpoint, input, null);
        Assert.NotEqual(key, IdempotencyKey.Compute(Endpoint, JsonNode.Parse("""{"prompt":"A lighthouse","duration":"10"}"""), null));
        Assert.NotEqual(key, IdempotencyKey.Compute("fal-ai/kling-video/v3/standard/text-to-video", input, null));
        var withId = IdempotencyKey.Compute(Endpoint, input, "lighthouse");
        Assert.NotEqual(key, withId);
        Assert.NotEqual(withId, IdempotencyKey.Compute(Endpoint, input, "lighthouse-2"));
        Assert.Equal(withId, IdempotencyKey.Compute(Endpoint, JsonNode.Parse("""{"duration":"5","prompt":"A lighthouse"}"""), "lighthouse"));
        // An empty Id is an Id, not the absence of one.
        Assert.NotEqual(key, IdempotencyKey.Compute(Endpoint, input, ""));
    }

    [Fact]
    public void A_local_file_stands_by_path_size_and_time_so_an_edited_file_is_a_new_request()
    {
        var path = Path.Combine(_folder, "start.png");
        File.WriteAllBytes(path, [1, 2, 3]);
        var first = IdempotencyKey.FileReference(path);
        Assert.Equal(first, IdempotencyKey.FileReference(path));
        File.WriteAllBytes(path, [1, 2, 3, 4]);
        Assert.NotEqual(first, IdempotencyKey.FileReference(path));
    }

    private static FalJob Job(string requestId, string? key, FalJobStatus status) => new()
    {
        RequestId = requestId, EndpointId = Endpoint, Status = status, Prompt = "p " + requestId, IdempotencyKey = key,
        SubmittedAt = new DateTimeOffset(2026, 11, 30, 14, 2, 0, TimeSpan.Zero),
    };

    public static TheoryData<string> Stores => new() { "jobs.db", "journal.jsonl" };

    [Theory]
    [MemberData(nameof(Stores))]
    public void Both_stores_find_jobs_by_key_with_their_latest_state(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        Assert.Empty(store.FindByIdempotencyKeys(["k1"]));
        // A write-ahead entry without a request id, then fal's answer: one job, found by its key in its latest state.
        var ahead = Job("", "k1", FalJobStatus.Unknown);
        store.Append(JobJournal.SubmittingEntry, ahead);
        var answered = Job("req-1", "k1", FalJobStatus.InQueue);
        answered.JournalId = ahead.JournalId;
        store.Append("submitted", answered);
        answered.Status = FalJobStatus.Completed;
        answered.IdempotencyKey = null; // status entries don't repeat the key; the store keeps it
        store.Append("status", answered);
        store.Append("submitted", Job("req-2", "k2", FalJobStatus.InQueue));
        store.Append("submitted", Job("req-3", null, FalJobStatus.InQueue));

        var found = store.FindByIdempotencyKeys(["k1", "k2", "nope"]);
        Assert.Equal(["req-1", "req-2"], found.Select(j => j.RequestId));
        Assert.Equal(FalJobStatus.Completed, found[0].Status);
        Assert.Equal("k1", found[0].IdempotencyKey);
        Assert.Equal("k1", store.ReadJobs().Single(j => j.RequestId == "req-1").IdempotencyKey);
        Assert.Empty(store.FindByIdempotencyKeys(["nope"]));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void Earlier_submissions_block_live_completed_and_unknown_jobs_but_not_failed_ones(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        store.Append("submitted", Job("done", "done", FalJobStatus.Completed));
        store.Append("submitted", Job("queued", "queued", FalJobStatus.InQueue));
        store.Append("submitted", Job("failed", "failed", FalJobStatus.Failed));
        store.Append(JobJournal.RejectedEntry, Job("", "rejected", FalJobStatus.Rejected));
        store.Append(JobJournal.AmbiguousEntry, Job("", "unknown", FalJobStatus.Unknown));
        store.Append("submitted", Job("twice-1", "twice", FalJobStatus.Completed));
        store.Append("submitted", Job("twice-2", "twice", FalJobStatus.Completed));

        var earlier = new EarlierSubmissions(store);
        Assert.Equal("done", earlier.Next("done")?.RequestId);
        Assert.Null(earlier.Next("done")); // a second occurrence in the batch is a new row
        Assert.Equal("queued", earlier.Next("queued")?.RequestId);
        Assert.Null(earlier.Next("failed"));
        Assert.Null(earlier.Next("rejected"));
        var unknown = earlier.Next("unknown");
        Assert.NotNull(unknown);
        Assert.True(EarlierSubmissions.IsAmbiguous(unknown!));
        Assert.Equal("twice-2", earlier.Next("twice")?.RequestId);
        Assert.Equal("twice-1", earlier.Next("twice")?.RequestId);
        Assert.Null(earlier.Next("twice"));
        Assert.Null(earlier.Next("never"));

        // What this batch writes after a key was first met is not an earlier submission.
        store.Append("submitted", Job("new", "never", FalJobStatus.InQueue));
        Assert.Null(earlier.Next("never"));
    }

    [Fact]
    public void A_large_batch_keeps_every_fresh_key_and_its_claims_apart()
    {
        // An empty journal: every key is fresh, and the batch's own state is all there is to go on.
        var earlier = new EarlierSubmissions(JobStore.Open(Path.Combine(_folder, "journal.jsonl")));
        const int keys = 50_000;
        for (var i = 0; i < keys; i++) Assert.Null(earlier.Next(Key(i)));
        // Claims settled on some keys (a key given two or three times in one batch), met while the table grows.
        for (var i = 0; i < keys; i += 3) earlier.Claim(Key(i)).Settle();
        for (var i = 0; i < keys; i += 7) earlier.Claim(Key(i)).Settle();
        for (var i = 0; i < keys; i++)
        {
            var expected = (i % 3 == 0 ? 1 : 0) + (i % 7 == 0 ? 1 : 0);
            Assert.Equal(expected, earlier.Claim(Key(i)).Allowed);
            // A later occurrence of a fresh key is still sent.
            Assert.Null(earlier.Next(Key(i)));
        }
        Assert.Equal(0, earlier.Claim("never met").Allowed);
    }

    [Fact]
    public void A_batch_keeps_a_few_bytes_per_fresh_key()
    {
        // What a batch of fresh rows keeps per row until it ends: its key's fingerprint and settled claims. With a
        // HashSet and a Dictionary per fingerprint this was about 84 bytes a row at 100,000 rows.
        var earlier = new EarlierSubmissions(JobStore.Open(Path.Combine(_folder, "journal.jsonl")));
        Assert.Null(earlier.Next(Key(-1)));
        var before = GC.GetTotalMemory(forceFullCollection: true);
        const int keys = 100_000;
        for (var i = 0; i < keys; i++)
        {
            Assert.Null(earlier.Next(Key(i)));
            earlier.Claim(Key(i)).Settle();
        }
        var kept = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(earlier);
        Assert.True(kept < 32L * keys, $"{kept} bytes kept for {keys} keys ({(double)kept / keys:0.0} a key)");
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_rows_claim_finds_what_a_look_up_before_it_finds(string file)
    {
        // The same history in two stores: one batch looks each key up before its claim, the other leaves the first look
        // at each key to the claim (the JSON Lines journal has no transaction to look in: it keeps the look-up).
        var looked = JobStore.Open(Path.Combine(_folder, "looked-" + file));
        var claimed = JobStore.Open(Path.Combine(_folder, "claimed-" + file));
        FalVideo.Core.Tests.Journal.FirstLook.WriteHistory(looked);
        FalVideo.Core.Tests.Journal.FirstLook.WriteHistory(claimed);
        Assert.Equal(file.EndsWith(".db", StringComparison.Ordinal), new EarlierSubmissions(claimed).ClaimsAtomically);

        var rows = FalVideo.Core.Tests.Journal.FirstLook.Rerun;
        var byLookUp = await FalVideo.Core.Tests.Journal.FirstLook.RunAsync(looked, rows, firstLook: false);
        var byClaim = await FalVideo.Core.Tests.Journal.FirstLook.RunAsync(claimed, rows, firstLook: true);

        Assert.Equal(byLookUp, byClaim);
        // What every store answers alike (a key whose only blocking jobs went to another host is left out: the journal
        // sends it, the transactional stores' claims count those jobs, in both ways alike).
        Assert.Equal(
            ["stands on done", "sent", "stands on queued", "sent", "sent", "stands on unknown", "stands on twice-2", "stands on twice-1", "sent",
             "stands on mixed-fal", "sent", "sent"],
            byClaim.Where((_, i) => rows[i] != "other-host" && !(rows[i] == "mixed" && i > 0 && rows[i - 1] == "mixed")));
        Assert.Equal(Describe(looked.ReadJobs()), Describe(claimed.ReadJobs()));

        static IEnumerable<string> Describe(IEnumerable<FalJob> jobs) => jobs.Select(j => $"{j.Prompt}|{j.Status}|{j.RequestId}|{j.IdempotencyKey}");
    }

    [Fact]
    public async Task A_later_row_of_a_key_waits_for_the_first_rows_claim_and_a_claim_never_committed_leaves_the_key_to_a_look_up()
    {
        var store = JobStore.Open(Path.Combine(_folder, "jobs.db"));
        store.Append("submitted", FalVideo.Core.Tests.Journal.FirstLook.Past("done", "done", FalJobStatus.Completed));
        var batch = new EarlierSubmissions(store, queueBaseUrl: FalVideo.Core.Tests.Journal.FirstLook.Fal);
        var claim = batch.FirstClaim("done");
        Assert.NotNull(claim);
        // The key is met: its next occurrence is matched by Next, which waits for the first one's claim to be decided.
        Assert.Null(batch.FirstClaim("done"));
        var second = Task.Run(() => batch.Next("done"));
        await Task.Delay(200);
        Assert.False(second.IsCompleted);
        var job = new FalJob { RequestId = "", Status = FalJobStatus.Unknown, Prompt = "new", IdempotencyKey = "done", QueueHost = "queue.fal.run" };
        var winner = await store.ClaimAheadAsync(job, claim!);
        Assert.True(claim!.FoundEarlier);
        Assert.Equal("done", winner?.Prompt);
        Assert.Same(second, await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(60))));
        // The first occurrence stood on the one earlier job: the second is a new row.
        Assert.Null(await second);
        batch.Release(claim);

        // A row that stopped before its claim was decided (halted, or the store failed) hands its key back: the next
        // occurrence looks it up, and finds what another run wrote meanwhile.
        var stopped = batch.FirstClaim("later");
        Assert.NotNull(stopped);
        store.Append("submitted", FalVideo.Core.Tests.Journal.FirstLook.Past("later", "later", FalJobStatus.InQueue));
        batch.Release(stopped!);
        Assert.Null(batch.FirstClaim("later"));
        Assert.Equal("later", batch.Next("later")?.Prompt);
        Assert.Null(batch.Next("later"));
        Assert.Equal(["done", "later"], store.ReadJobs().Select(j => j.Prompt));
    }

    private static string Key(int i) => "key-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void A_schema_1_store_gains_the_key_column_and_keeps_its_jobs()
    {
        var path = Path.Combine(_folder, "old.db");
        // SqliteJobStore sets up SQLite's native provider on first use; this test opens a connection of its own, so a
        // store is used first (in a test run alone, nothing else would have).
        new SqliteJobStore(Path.Combine(_folder, "first.db")).Append("submitted", Job("first", "first-key", FalJobStatus.InQueue));
        // A store as schema 1 wrote it, with one job.
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE jobs (seq INTEGER PRIMARY KEY, job_key TEXT NOT NULL UNIQUE, journal_id TEXT, status TEXT,
                    first_time INTEGER NOT NULL, updated_time INTEGER NOT NULL, state TEXT NOT NULL);
                CREATE INDEX jobs_status ON jobs (status, seq);
                CREATE INDEX jobs_updated ON jobs (updated_time);
                CREATE TABLE entries (id INTEGER PRIMARY KEY, job_seq INTEGER NOT NULL, kind TEXT NOT NULL, time INTEGER NOT NULL, line TEXT NOT NULL);
                CREATE TABLE imports (source TEXT NOT NULL, imported_at INTEGER NOT NULL, lines INTEGER NOT NULL, skipped INTEGER NOT NULL);
                INSERT INTO jobs (job_key, status, first_time, updated_time, state)
                    VALUES ('req-old', 'Completed', 1, 1, '{"entry":"state","time":"2026-11-30T12:00:00+00:00","request_id":"req-old","status":"Completed"}');
                PRAGMA user_version = 1;
                """;
            create.ExecuteNonQuery();
        }

        var store = new SqliteJobStore(path);
        store.Append("submitted", Job("req-new", "k", FalJobStatus.InQueue));
        Assert.Equal(["req-old", "req-new"], store.ReadJobs().Select(j => j.RequestId));
        Assert.Equal("req-new", store.FindByIdempotencyKeys(["k"]).Single().RequestId);
    }
}
