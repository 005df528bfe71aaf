using System.Diagnostics;
using System.Runtime.InteropServices;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

using static FalVideo.Core.Tests.Journal.StoreHistory;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// The SQLite job store on this runtime (the native e_sqlite3 found from the test's output folder: on .NET through the
/// deps file, under Mono by SqliteNative's preload): the journal's semantics (latest state per job, write-ahead rows
/// moving to their request id, removal), group commit, the status index, pruning in small transactions, owner-only
/// files, and the one-time import of a JSON Lines journal.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class SqliteJobStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-store-" + Guid.NewGuid().ToString("N"));

    public SqliteJobStoreTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void It_reads_back_what_the_json_lines_journal_reads_back_for_the_same_history()
    {
        var journal = new JobJournal(Path.Combine(_folder, "jobs.jsonl"));
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        WriteHistory(journal);
        WriteHistory(store);

        var expected = journal.ReadJobs().Select(Describe).ToList();
        var actual = store.ReadJobs().Select(Describe).ToList();
        Assert.Equal(3, actual.Count);
        // Journal ids differ between the two histories; everything else is the same.
        Assert.Equal(expected, actual);
        Assert.Equal("r-a", actual[0].Split('|')[0]);
        Assert.StartsWith("|id|Unknown", actual[2]);

        var saved = store.ReadJobs()[0];
        Assert.Equal("/videos/r-a.mp4", saved.SavedPath);
        Assert.Equal(FalJobStatus.Completed, saved.Status);
    }

    [Fact]
    public void A_store_file_that_does_not_exist_reads_as_empty_and_is_not_created()
    {
        var path = Path.Combine(_folder, "none", "jobs.db");
        var store = new SqliteJobStore(path);
        Assert.Empty(store.ReadJobs());
        Assert.Equal(0, store.Remove([Job("r-1")]));
        Assert.False(File.Exists(path));
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [Fact]
    public async Task Writers_racing_on_one_store_lose_no_entry_and_share_commits()
    {
        var path = Path.Combine(_folder, "jobs.db");
        new SqliteJobStore(path).Append("submitted", Job("first"));
        var before = CommitsFor(path);
        // Separate instances, as separate sessions and runspaces have, each appending from its own tasks.
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = new SqliteJobStore(path);
            for (var i = 0; i < 25; i++) await store.AppendAsync("submitted", Job($"w{w}-{i}"));
        }));
        await Task.WhenAll(writers);

        var ids = new SqliteJobStore(path).ReadJobs().Select(j => j.RequestId).ToList();
        Assert.Equal(201, ids.Count);
        Assert.Equal(201, ids.Distinct().Count());
        var commits = CommitsFor(path) - before;
        Assert.True(commits < 200, $"200 appends from 8 writers at once took {commits} commits: none were shared.");
    }

    // Internal (a test hook, not API); reached by reflection because InternalsVisibleTo would also expose the
    // Polyfill types compiled into FalVideo.Core, which clash with the runtime's own in this project.
    [Fact]
    public void Every_rent_of_the_pooled_connection_has_the_stores_pragmas_also_after_the_pool_closed_it()
    {
        // The pragmas run once per native connection: a rent that reuses it must still see them, and a native
        // connection opened after the pool closed the old one must get them again.
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        store.Append("submitted", new FalJob { RequestId = "req-1", EndpointId = "fal-ai/x", Status = FalJobStatus.InQueue });
        var open = typeof(SqliteJobStore).GetMethod("Open", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, Type.EmptyTypes, null)!;
        var seen = new List<string>();
        for (var round = 0; round < 2; round++)
        {
            for (var rent = 0; rent < 3; rent++)
            {
                using var connection = (SqliteConnection)open.Invoke(store, null)!;
                using var command = connection.CreateCommand();
                string Pragma(string name)
                {
                    command.CommandText = "PRAGMA " + name;
                    return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
                }
                seen.Add($"{Pragma("busy_timeout")} {Pragma("synchronous")} {Pragma("foreign_keys")} {Pragma("journal_mode")}");
            }
            SqliteConnection.ClearAllPools();
        }
        // synchronous 2 is FULL.
        Assert.Equal(Enumerable.Repeat("15000 2 0 wal", 6), seen);
    }

    private static long CommitsFor(string path) =>
        (long)typeof(SqliteJobStore).GetMethod("CommitsFor", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .Invoke(null, [path])!;

    [Fact]
    public void Commits_give_the_freed_native_heap_back_on_linux()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return; // malloc_trim is glibc's; nothing is trimmed elsewhere.
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        var trims = NativeHeapTrims();
        // At most one trim a second per process: commits keep coming until one is due (a wrong library or entry point
        // would switch trimming off for good, and none would come).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        for (var i = 0; NativeHeapTrims() == trims && DateTime.UtcNow < deadline; i++)
        {
            store.Append("submitted", Job($"r-{i}"));
            Thread.Sleep(50);
        }
        Assert.True(NativeHeapTrims() > trims, "no commit trimmed the native heap within 10 s");
    }

    private static long NativeHeapTrims() =>
        (long)typeof(SqliteJobStore).Assembly.GetType("FalVideo.Journal.NativeHeap", throwOnError: true)!
            .GetProperty("Trims", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;

    [Fact]
    public void The_store_is_a_wal_database_with_a_schema_version_and_indexes_for_key_status_and_time()
    {
        var path = Path.Combine(_folder, "jobs.db");
        var store = new SqliteJobStore(path);
        store.Append("submitted", Job("r-1"));
        store.Append("submitted", Job("r-2", FalJobStatus.Completed));

        Assert.Equal(["r-2"], store.ReadJobsByStatus([FalJobStatus.Completed]).Select(j => j.RequestId));
        Assert.Equal(["r-1", "r-2"], store.ReadJobsByStatus([FalJobStatus.InQueue, FalJobStatus.Completed]).Select(j => j.RequestId));

        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        string Scalar(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read()) rows.Add(Convert.ToString(reader.GetValue(reader.FieldCount - 1))!);
            return string.Join("\n", rows);
        }
        Assert.Equal("wal", Scalar("PRAGMA journal_mode"));
        Assert.Equal(SqliteJobStore.SchemaVersion.ToString(), Scalar("PRAGMA user_version"));
        Assert.Contains("jobs_status", Scalar("EXPLAIN QUERY PLAN SELECT seq, state FROM jobs WHERE status IN ('Completed') ORDER BY seq"));
        Assert.Contains("jobs_updated", Scalar("EXPLAIN QUERY PLAN SELECT seq FROM jobs WHERE updated_time < 5 ORDER BY updated_time LIMIT 10"));
        Assert.Contains("job_key", Scalar("EXPLAIN QUERY PLAN SELECT seq, state FROM jobs WHERE job_key = 'r-1'"));
        Assert.Equal("2", Scalar("SELECT count(*) FROM entries"));
    }

    [Fact]
    public void Removing_jobs_deletes_every_entry_of_each_and_keeps_the_rest()
    {
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        WriteHistory(store);
        var jobs = store.ReadJobs();
        // r-b has four entries (submitted, error, cancel_requested, status); the ambiguous one has one.
        Assert.Equal(5, store.Remove([jobs[1], jobs[2]]));
        Assert.Equal(["r-a"], store.ReadJobs().Select(j => j.RequestId));
        Assert.Equal(0, store.Remove([jobs[1]]));
    }

    [Fact]
    public void Pruning_removes_old_finished_jobs_in_small_transactions_and_keeps_the_others()
    {
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"));
        var records = new List<JournalRecord>();
        for (var i = 0; i < 700; i++) records.Add(JobJournal.Capture("status", Job($"done-{i}", FalJobStatus.Completed)));
        records.Add(JobJournal.Capture("status", Job("running", FalJobStatus.InProgress)));
        store.AppendMany(records);
        var submitted = Job("x").SubmittedAt;
        var steps = new List<long>();

        Assert.Equal(0, store.Prune(new JobFilter(submitted, [FalJobStatus.Completed])));
        Assert.Equal(700, store.Prune(new JobFilter(submitted.AddMinutes(1), [FalJobStatus.Completed, FalJobStatus.Failed]), steps.Add));
        // 256 jobs per transaction: three steps.
        Assert.Equal([256L, 512L, 700L], steps);
        Assert.Equal(["running"], store.ReadJobs().Select(j => j.RequestId));
    }

    [Fact]
    public void The_store_its_wal_and_shm_and_a_folder_it_creates_are_owner_only_on_unix()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return; // ACLs are not set on Windows (inherited).
        var folder = Path.Combine(_folder, "new", "store");
        var path = Path.Combine(folder, "jobs.db");
        var store = new SqliteJobStore(path);
        store.Append("submitted", Job("r-1"));
        // A reader keeps the -wal and -shm files open (they go when the last connection closes).
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT count(*) FROM jobs";
            Assert.Equal(1L, read.ExecuteScalar());
        }
        store.Append("status", Job("r-1", FalJobStatus.Completed));

        Assert.Equal("700", Mode(folder));
        Assert.Equal("600", Mode(path));
        Assert.Equal("600", Mode(path + "-wal"));
        Assert.Equal("600", Mode(path + "-shm"));
    }

    private static string Mode(string path)
    {
        Assert.True(File.Exists(path) || Directory.Exists(path), path + " does not exist");
        var stat = Process.Start(new ProcessStartInfo("stat", $"-c %a \"{path}\"") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var mode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return mode;
    }

    [Fact]
    public void A_journal_is_imported_once_when_the_store_is_new_and_is_left_in_place()
    {
        var journalPath = Path.Combine(_folder, "journal.jsonl");
        var journal = new JobJournal(journalPath);
        WriteHistory(journal);
        File.AppendAllText(journalPath, "{\"entry\":\"submitted\",\"request_id\":\"torn");
        var journalBytes = File.ReadAllBytes(journalPath);

        var path = Path.Combine(_folder, "jobs.db");
        var store = new SqliteJobStore(path, importFrom: journalPath);
        var imported = store.ReadJobs();
        // JobJournal's own read of the same file, torn line and all.
        Assert.Equal(journal.ReadJobs().Select(Describe), imported.Select(Describe));
        Assert.Equal(journalBytes, File.ReadAllBytes(journalPath));
        var record = store.ImportRecord();
        Assert.NotNull(record);
        Assert.Equal(journalPath, record!.Source);
        Assert.Equal(10, record.Lines);
        Assert.Equal(1, record.Skipped);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));

        // Later appends to the old journal are not imported again.
        journal.Append("submitted", Job("after"));
        Assert.Equal(3, new SqliteJobStore(path, importFrom: journalPath).ReadJobs().Count);
    }

    [Fact]
    public void A_journal_of_100000_lines_imports_streamed_in_bounded_memory()
    {
        const int jobs = 25_000;
        var journalPath = Path.Combine(_folder, "journal.jsonl");
        var journal = new JobJournal(journalPath);
        var input = "{\"prompt\":\"" + new string('x', 400) + "\"}";
        for (var start = 0; start < jobs; start += 1000)
        {
            var batch = new List<JournalRecord>();
            for (var i = start; i < start + 1000; i++)
            {
                var job = Job($"req-{i:D6}");
                job.Input = input;
                job.Status = FalJobStatus.Unknown;
                job.RequestId = "";
                batch.Add(JobJournal.Capture(JobJournal.SubmittingEntry, job));
                job.RequestId = $"req-{i:D6}";
                job.Status = FalJobStatus.InQueue;
                batch.Add(JobJournal.Capture("submitted", job));
                job.Status = FalJobStatus.Completed;
                batch.Add(JobJournal.Capture("status", job));
                batch.Add(JobJournal.Capture("saved", job, $"/videos/{i}.mp4"));
            }
            journal.AppendMany(batch);
        }
        var size = new FileInfo(journalPath).Length;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
                Thread.Sleep(5);
            }
        });
        var clock = Stopwatch.StartNew();
        var store = new SqliteJobStore(Path.Combine(_folder, "jobs.db"), importFrom: journalPath);
        var record = store.ImportRecord();
        var importTime = clock.Elapsed;
        stop.Cancel();
        sampler.Wait();

        clock.Restart();
        var read = store.ReadJobs();
        var readTime = clock.Elapsed;
        clock.Restart();
        var completed = store.ReadJobsByStatus([FalJobStatus.Completed]);
        var statusTime = clock.Elapsed;

        Assert.Equal(4L * jobs, record!.Lines);
        Assert.Equal(0, record.Skipped);
        Assert.Equal(jobs, read.Count);
        Assert.Equal(jobs, completed.Count);
        Assert.Equal("req-000000", read[0].RequestId);
        Assert.Equal("/videos/24999.mp4", read[^1].SavedPath);
        var report = $"Imported {record.Lines:N0} lines ({size / 1048576.0:F1} MiB) in {importTime.TotalSeconds:F1} s, managed heap peak "
            + $"+{peak / 1048576.0:F1} MiB over the baseline; ReadJobs of {read.Count:N0} jobs {readTime.TotalMilliseconds:F0} ms, "
            + $"ReadJobsByStatus(Completed) {statusTime.TotalMilliseconds:F0} ms ({RuntimeInformation.FrameworkDescription})";
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        if (Environment.GetEnvironmentVariable("FALVIDEO_MEASURE_FILE") is { Length: > 0 } file) File.AppendAllText(file, report + Environment.NewLine);
        // Streamed: the heap never holds a sizeable part of the file (the journal is about 60 MiB here; read whole it
        // would take twice that as UTF-16 strings alone). The sample counts garbage not yet collected too, which moves
        // with the machine: under 19 MiB on a quiet machine, 24 to 25 MiB with both cores busy (2026-12-01).
        Assert.True(peak < size / 2, report);
    }
}

/// <summary>Tests that measure the process's managed heap run after the parallel ones, alone: the heap is process-wide,
/// and another test's allocations would count as theirs.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
