using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using FalVideo.Jobs;
using Microsoft.Data.Sqlite;

namespace FalVideo.Journal;

/// <summary>
/// The job store as one SQLite database: the latest known state of every job (table <c>jobs</c>, one row per job,
/// keyed by request id, or <c>journal:&lt;JournalId&gt;</c> for a submission without one) and every state transition
/// recorded (table <c>entries</c>, each in the journal's JSON line shape). The same semantics as <see cref="JobJournal"/>:
/// an append merges what the entry says into the job's row, a write-ahead row moves to the request id fal's answer
/// names, <see cref="ReadJobs(Action{string})"/> lists jobs in the order first recorded.
/// </summary>
/// <remarks>
/// WAL with <c>synchronous=FULL</c>: a commit is on the disk when it returns. Several processes may share a store;
/// SQLite's own locking and a busy timeout replace the journal's lock file. Appends from several threads of one
/// process at once are group-committed: the first writer commits every entry queued so far in one transaction, and
/// the others wait for that commit. Removal and pruning delete in small transactions, so writers never wait long.
/// On first use of a store whose file does not exist, a JSON Lines journal given as <c>importFrom</c> is imported
/// once (streamed, into a temporary database renamed into place when complete); the journal is left where it is.
/// </remarks>
public sealed class SqliteJobStore : IJobStore
{
    /// <summary>The schema version this code writes (<c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 3;

    // Rows deleted per transaction by Remove and Prune: each transaction stays in the milliseconds.
    private const int DeleteBatch = 256;
    // Journal lines imported per transaction.
    private const int ImportBatch = 2000;

    private static readonly ConcurrentDictionary<string, bool> s_ready = new(StringComparer.Ordinal);
    private static readonly object s_setupGate = new();

    private readonly string? _importFrom;

    /// <summary>Opens (without creating yet) the store at <paramref name="path"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="importFrom">A JSON Lines journal imported when the store file does not exist yet, or null.</param>
    public SqliteJobStore(string path, string? importFrom = null)
    {
        FilePath = Path.GetFullPath(path);
        _importFrom = string.IsNullOrEmpty(importFrom) ? null : Path.GetFullPath(importFrom);
    }

    /// <summary>Full path of the database file (SQLite keeps <c>-wal</c> and <c>-shm</c> files beside it).</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public void Append(string entryKind, FalJob job, string? savedPath = null) =>
        AppendAsync(entryKind, job, savedPath).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AppendAsync(string entryKind, FalJob job, string? savedPath = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var record = JobJournal.Capture(entryKind, job, savedPath);
        return WriterFor(FilePath).Enqueue(([record], this, null));
    }

    /// <inheritdoc />
    /// <remarks>The claim is checked through the <c>jobs_idempotency</c> index inside the group commit's transaction,
    /// which SQLite begins IMMEDIATE (the database's one write lock): no other process writes between the check and
    /// the record.</remarks>
    public async Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(claim);
        var record = JobJournal.Capture(JobJournal.SubmittingEntry, job);
        var ticket = new ClaimTicket(claim, job.JournalId);
        await WriterFor(FilePath).Enqueue(([record], this, ticket)).ConfigureAwait(false);
        return ticket.Winner;
    }

    /// <inheritdoc />
    public void AppendMany(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: true).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: false);

    private Task EnqueueMany(IReadOnlyCollection<JournalRecord> records, bool writeHere)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Count == 0 ? Task.CompletedTask : WriterFor(FilePath).Enqueue((records, this, null), writeHere);
    }

    /// <inheritdoc />
    public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null) => ReadGuard(() => Read(null, warn));

    /// <inheritdoc />
    public IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        return statuses.Count == 0 ? [] : ReadGuard(() => Read(statuses, warn));
    }

    /// <inheritdoc />
    /// <remarks>Matches each candidate row's machine and user (from its state) in the query; with statuses, the
    /// candidates come through the status index.</remarks>
    public IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(owners);
        return statuses is { Count: 0 } ? [] : ReadGuard(() => Read(statuses, warn, owners));
    }

    private List<FalJob> Read(IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn, JobOwnerFilter? owners = null)
    {
        if (!EnsureReady(create: false)) return [];
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = StatusFilter(command, statuses, "WHERE");
        if (owners is { IsEmpty: false }) where += (where.Length == 0 ? " WHERE " : " AND ") + OwnerSql(command, owners);
        command.CommandText = "SELECT seq, state FROM jobs" + where + " ORDER BY seq";
        return ReadStates(command, warn);
    }

    // The SQL function that matches a wildcard pattern as JobOwnerFilter does (case-insensitive beyond ASCII, sets,
    // escapes), which SQLite's LIKE and GLOB don't; registered on a connection only by a query that uses it.
    private const string MatchFunction = "falvideo_match";

    /// <summary>The owner conditions as SQL on each row's state (<c>$.machine</c>, <c>$.user</c>), with their parameters;
    /// registers <see cref="MatchFunction"/> on the command's connection.</summary>
    private static string OwnerSql(SqliteCommand command, JobOwnerFilter owners)
    {
        command.Connection!.CreateFunction<string, string, bool>(MatchFunction, static (value, pattern) => JobOwnerFilter.IsMatch(pattern, value), isDeterministic: true);
        var conditions = new List<string>();
        void Add(IReadOnlyCollection<string>? patterns, string field, string prefix)
        {
            if (patterns is null) return;
            var names = patterns.Select((p, i) =>
            {
                command.Parameters.AddWithValue(prefix + i, p);
                return $"{MatchFunction}(coalesce(json_extract(state, '$.{field}'), ''), {prefix}{i})";
            }).ToList();
            conditions.Add(names.Count == 0 ? "0" : "(" + string.Join(" OR ", names) + ")");
        }
        Add(owners.Machines, "machine", "$m");
        Add(owners.Users, "user", "$u");
        return string.Join(" AND ", conditions);
    }

    /// <summary>The jobs a command's rows (<c>seq, state</c>) name, in the order read.</summary>
    private List<FalJob> ReadStates(SqliteCommand command, Action<string>? warn)
    {
        using var reader = command.ExecuteReader();
        var jobs = new List<FalJob>();
        while (reader.Read())
        {
            if (JobJournal.Parse(reader.GetString(1)) is { } state) jobs.Add(JobJournal.JobOf(state));
            else warn?.Invoke($"Job store {FilePath}: the state of job #{reader.GetInt64(0)} could not be read and was skipped.");
        }
        return jobs;
    }

    // The unfinished column: what UnfinishedJobs means, kept on each row so a resume reads through the partial index
    // jobs_unfinished only the rows it needs (not every Completed job to find the unsaved ones).
    private const int OpenJob = 1, UnsavedJob = 2, AmbiguousJob = 3;

    /// <summary>The query behind <see cref="ReadUnfinished"/> (internal: a test checks its plan uses the index).</summary>
    internal const string UnfinishedQuery = "SELECT seq, state FROM jobs WHERE unfinished IN (1, 2) ORDER BY unfinished, seq";

    /// <summary>The count of ambiguous submissions behind <see cref="ReadUnfinished"/>.</summary>
    internal const string AmbiguousQuery = "SELECT count(*) FROM jobs WHERE unfinished = 3";

    /// <summary>The query behind <see cref="ReadJobsByStatus"/> for <paramref name="statuses"/> (internal: a test checks
    /// its plan uses the index).</summary>
    internal static string StatusQuery(params FalJobStatus[] statuses)
    {
        using var command = new SqliteCommand();
        return "SELECT seq, state FROM jobs" + StatusFilter(command, statuses, "WHERE") + " ORDER BY seq";
    }

    /// <inheritdoc />
    /// <remarks>Reads the rows of the partial index <c>jobs_unfinished</c> and counts its ambiguous rows; no other row
    /// is read.</remarks>
    public IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null)
    {
        var (jobs, count) = ReadGuard(() => ReadUnfinishedRows(warn));
        ambiguous = count;
        return jobs;
    }

    private (List<FalJob> Jobs, int Ambiguous) ReadUnfinishedRows(Action<string>? warn)
    {
        if (!EnsureReady(create: false)) return ([], 0);
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = AmbiguousQuery;
        var ambiguous = Convert.ToInt32(count.ExecuteScalar());
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = UnfinishedQuery;
        var jobs = ReadStates(command, warn);
        transaction.Commit();
        return (jobs, ambiguous);
    }

    /// <summary>The <c>unfinished</c> column of a job's row (see <see cref="UnfinishedJobs"/>), or null.</summary>
    private static object Unfinished(FalJob job)
    {
        if (UnfinishedJobs.IsOpen(job))
            return string.IsNullOrEmpty(job.RequestId) ? AmbiguousJob : OpenJob;
        return UnfinishedJobs.IsUnsaved(job) ? UnsavedJob : DBNull.Value;
    }

    /// <inheritdoc />
    /// <remarks>Looks the keys up in the <c>jobs_idempotency</c> index, a few hundred keys per query.</remarks>
    public IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Count == 0 ? [] : ReadGuard(() => FindKeys(keys, warn));
    }

    private List<FalJob> FindKeys(IReadOnlyCollection<string> keys, Action<string>? warn)
    {
        if (!EnsureReady(create: false)) return [];
        using var connection = Open();
        var found = new List<(long Seq, FalJob Job)>();
        foreach (var chunk in Chunks(keys.Distinct(StringComparer.Ordinal), 500))
        {
            using var command = connection.CreateCommand();
            var names = chunk.Select((k, i) =>
            {
                command.Parameters.AddWithValue("$k" + i, k);
                return "$k" + i;
            }).ToList();
            command.CommandText = $"SELECT seq, state FROM jobs WHERE idem_key IN ({string.Join(", ", names)})";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (JobJournal.Parse(reader.GetString(1)) is { } state) found.Add((reader.GetInt64(0), JobJournal.JobOf(state)));
                else warn?.Invoke($"Job store {FilePath}: the state of job #{reader.GetInt64(0)} could not be read and was skipped.");
            }
        }
        return found.OrderBy(f => f.Seq).Select(f => f.Job).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Looks the ids up in the unique <c>job_key</c> index, a few hundred ids per query.</remarks>
    public IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        return requestIds.Count == 0 ? [] : ReadGuard(() => FindRequestIds(requestIds, warn));
    }

    private List<FalJob> FindRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn)
    {
        if (!EnsureReady(create: false)) return [];
        using var connection = Open();
        var found = new List<(long Seq, FalJob Job)>();
        // job_key is the request id once fal answered; "journal:" keys (no request id) never match a request id.
        foreach (var chunk in Chunks(requestIds.Where(id => !string.IsNullOrEmpty(id) && !id.StartsWith("journal:", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal), 500))
        {
            using var command = connection.CreateCommand();
            var names = chunk.Select((k, i) =>
            {
                command.Parameters.AddWithValue("$r" + i, k);
                return "$r" + i;
            }).ToList();
            command.CommandText = $"SELECT seq, state FROM jobs WHERE job_key IN ({string.Join(", ", names)})";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (JobJournal.Parse(reader.GetString(1)) is { } state) found.Add((reader.GetInt64(0), JobJournal.JobOf(state)));
                else warn?.Invoke($"Job store {FilePath}: the state of job #{reader.GetInt64(0)} could not be read and was skipped.");
            }
        }
        return found.OrderBy(f => f.Seq).Select(f => f.Job).ToList();
    }

    /// <summary><c>WHERE status IN ($s0, ...)</c> (or with <paramref name="keyword"/> AND) with its parameters, or "".</summary>
    private static string StatusFilter(SqliteCommand command, IReadOnlyCollection<FalJobStatus>? statuses, string keyword)
    {
        if (statuses is null) return "";
        var names = statuses.Distinct().Select((s, i) =>
        {
            command.Parameters.AddWithValue("$s" + i, s.ToString());
            return "$s" + i;
        }).ToList();
        return $" {keyword} status IN ({string.Join(", ", names)})";
    }

    /// <inheritdoc />
    /// <remarks>Deletes in transactions of a few hundred jobs, so concurrent appends wait milliseconds, not the whole
    /// removal; the jobs are read from <paramref name="jobs"/> as it goes.</remarks>
    public int Remove(IEnumerable<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return Guard(() => RemoveKeys(jobs));
    }

    /// <inheritdoc />
    /// <remarks>Looks each job up by its key (the <c>job_key</c> index).</remarks>
    public IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return Guard(() =>
        {
            if (!EnsureReady(create: false)) return jobs.ToList();
            using var connection = Open();
            using var find = Command(connection, "SELECT 1 FROM jobs WHERE job_key = $key", "$key");
            bool Known(string key)
            {
                find.Parameters[0].Value = key;
                return find.ExecuteScalar() is not null;
            }
            return jobs.Where(j => !Known(JobJournal.KeyOf(j))).ToList();
        });
    }

    private int RemoveKeys(IEnumerable<FalJob> jobs)
    {
        // A job's write-ahead row is keyed by its journal id until fal's answer names the request id.
        var keys = jobs.SelectMany(j => j.JournalId is { Length: > 0 } id ? [JobJournal.KeyOf(j), "journal:" + id] : new[] { JobJournal.KeyOf(j) });
        if (!EnsureReady(create: false)) return 0;
        using var connection = Open();
        using var find = Command(connection, "SELECT seq FROM jobs WHERE job_key = $key", "$key");
        var removed = 0;
        foreach (var chunk in Chunks(keys.Distinct(StringComparer.Ordinal), DeleteBatch))
        {
            using var transaction = connection.BeginTransaction();
            find.Transaction = transaction;
            var seqs = new List<long>();
            foreach (var key in chunk)
            {
                find.Parameters[0].Value = key;
                if (find.ExecuteScalar() is long seq) seqs.Add(seq);
            }
            removed += Delete(connection, transaction, seqs);
            transaction.Commit();
        }
        return removed;
    }

    /// <inheritdoc />
    /// <remarks>Counts through the indexes on status and submission time.</remarks>
    public long Count(JobFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.IsEmpty ? 0 : ReadGuard(() => CountRows(filter));
    }

    private long CountRows(JobFilter filter)
    {
        if (!EnsureReady(create: false)) return 0;
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM jobs WHERE " + FilterSql(command, filter);
        return Convert.ToInt64(command.ExecuteScalar());
    }

    /// <inheritdoc />
    /// <remarks>
    /// Deletes <see cref="DeleteBatch"/> jobs (and their entries) per transaction, each selected through the indexes
    /// on status and submission time: memory stays bounded by that batch, and an append from this or another process
    /// waits for one small transaction at most (milliseconds; measured by the Core test of a prune racing an appender).
    /// </remarks>
    public long Prune(JobFilter filter, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.IsEmpty ? 0 : Guard(() => PruneBatches(filter, progress));
    }

    private long PruneBatches(JobFilter filter, Action<long>? progress)
    {
        if (!EnsureReady(create: false)) return 0;
        using var connection = Open();
        long pruned = 0;
        // The owner condition is checked on the rows the indexed conditions leave: each step goes on after the last job
        // it took, or every step would check again the same rows of other owners, which stay.
        var cursor = filter.OwnerCondition is not null;
        long after = 0;
        while (true)
        {
            using var transaction = connection.BeginTransaction();
            var seqs = new List<long>(DeleteBatch);
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT seq FROM jobs WHERE " + FilterSql(select, filter) + (cursor ? " AND seq > $after ORDER BY seq" : "") + $" LIMIT {DeleteBatch}";
                if (cursor) select.Parameters.AddWithValue("$after", after);
                using var reader = select.ExecuteReader();
                while (reader.Read()) seqs.Add(reader.GetInt64(0));
            }
            if (seqs.Count == 0) return pruned;
            after = seqs[seqs.Count - 1];
            Delete(connection, transaction, seqs);
            transaction.Commit();
            pruned += seqs.Count;
            progress?.Invoke(pruned);
        }
    }

    /// <summary>The conditions of a non-empty filter as SQL, with their parameters.</summary>
    private static string FilterSql(SqliteCommand command, JobFilter filter)
    {
        var conditions = new List<string>();
        if (filter.SubmittedBefore is { } before)
        {
            conditions.Add("submitted_time < $before");
            command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        }
        if (filter.Statuses is { } statuses)
            conditions.Add(statuses.Count == 0 ? "0" : StatusFilter(command, statuses, "").TrimStart());
        if (filter.OwnerCondition is { } owners) conditions.Add(OwnerSql(command, owners));
        return string.Join(" AND ", conditions);
    }

    /// <summary>Deletes jobs and their entries; returns the number of entries deleted.</summary>
    private static int Delete(SqliteConnection connection, SqliteTransaction transaction, List<long> seqs)
    {
        if (seqs.Count == 0) return 0;
        using var entries = Command(connection, "DELETE FROM entries WHERE job_seq = $seq", "$seq");
        using var job = Command(connection, "DELETE FROM jobs WHERE seq = $seq", "$seq");
        entries.Transaction = job.Transaction = transaction;
        var removed = 0;
        foreach (var seq in seqs)
        {
            entries.Parameters[0].Value = job.Parameters[0].Value = seq;
            removed += entries.ExecuteNonQuery();
            job.ExecuteNonQuery();
        }
        return removed;
    }

    private static IEnumerable<List<T>> Chunks<T>(IEnumerable<T> items, int size)
    {
        var chunk = new List<T>(size);
        foreach (var item in items)
        {
            chunk.Add(item);
            if (chunk.Count < size) continue;
            yield return chunk;
            chunk = new List<T>(size);
        }
        if (chunk.Count > 0) yield return chunk;
    }

    /// <summary>What the store records about the journal it imported, or null when it imported none.</summary>
    public JournalImport? ImportRecord() => ReadGuard(ReadImportRecord);

    private JournalImport? ReadImportRecord()
    {
        if (!EnsureReady(create: false)) return null;
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT source, imported_at, lines, skipped FROM imports ORDER BY imported_at LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new JournalImport(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt64(2), reader.GetInt64(3))
            : null;
    }

    /// <summary>Runs <paramref name="action"/>, reporting SQLite's errors as the <see cref="IOException"/> the
    /// store's callers handle (a busy timeout, a full disk, a file that is not a database).</summary>
    private T Guard<T>(Func<T> action)
    {
        try { return action(); }
        catch (SqliteException ex) { throw StoreError(ex); }
    }

    // How long a read waits out a busy store, as a write does through busy_timeout.
    private static readonly TimeSpan BusyReadWait = TimeSpan.FromSeconds(15);

    // A read that changes nothing, retried while the store answers SQLITE_BUSY or SQLITE_LOCKED. In WAL mode SQLite
    // gives a reader SQLITE_BUSY without calling the busy handler in a few cases (another connection running the WAL's
    // recovery or holding the lock a checkpoint or the last close takes, e.g.); seen as an intermittent "database is
    // locked" on an idempotency look-up while the group commit wrote (the test suite on 2 busy cores, 2026-12-01).
    private T ReadGuard<T>(Func<T> read)
    {
        var clock = Stopwatch.StartNew();
        for (var delay = 5; ; delay = Math.Min(delay * 2, 200))
        {
            try { return read(); }
            catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6 && clock.Elapsed < BusyReadWait) { Thread.Sleep(delay); }
            catch (SqliteException ex) { throw StoreError(ex); }
        }
    }

    private IOException StoreError(Exception ex) => new($"The job store {FilePath} could not be used: {ex.Message}", ex);

    // ---- Opening, schema and import ----

    private SqliteConnection Open() => Open(FilePath, pooled: true, synchronous: "FULL");

    // The native connections (pooled, so reused by every Open of their store) whose pragmas are set. busy_timeout,
    // synchronous and foreign_keys belong to the native connection and outlive each rent from the pool, and every
    // pooled Open sets the same values, so they run once per native connection instead of once per group commit.
    // Keyed weakly: a connection the pool closes drops out, and a new one gets its pragmas.
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> s_configured = new();
    private static readonly object s_configuredMark = new();

    private static SqliteConnection Open(string path, bool pooled, string synchronous)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = pooled,
            // Microsoft.Data.Sqlite retries a busy database for this long, as PRAGMA busy_timeout does inside SQLite.
            DefaultTimeout = 15,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            if (pooled && connection.Handle is { } reused && s_configured.TryGetValue(reused, out _)) return connection;
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = $"PRAGMA busy_timeout = 15000; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = OFF;";
            pragmas.ExecuteNonQuery();
            if (pooled && connection.Handle is { } handle) s_configured.GetValue(handle, static _ => s_configuredMark);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes the store usable: the native library loaded, the file and schema in place (importing the journal when the
    /// file is new). Returns false, doing nothing, when <paramref name="create"/> is false and there is nothing to read:
    /// no store file and no journal to import.
    /// </summary>
    private bool EnsureReady(bool create)
    {
        if (s_ready.ContainsKey(FilePath) && File.Exists(FilePath)) return true;
        // A folder where the store file should be: answering "no jobs" would hide every job the user expects there
        // (Get-FalJob -Unfinished would find nothing to resume).
        if (Directory.Exists(FilePath)) throw JobStore.IsAFolder(FilePath);
        var importing = _importFrom is not null && File.Exists(_importFrom);
        if (!create && !importing && !File.Exists(FilePath)) return false;
        SqliteNative.EnsureInitialized();
        lock (s_setupGate)
        {
            if (!File.Exists(FilePath))
            {
                OwnerOnly.CreateDirectory(Path.GetDirectoryName(FilePath)!);
                if (importing) ImportIntoNewStore(_importFrom!);
                else OwnerOnly.CreateFile(FilePath);
            }
            using (var connection = Open())
            {
                using var wal = connection.CreateCommand();
                wal.CommandText = "PRAGMA journal_mode = WAL";
                wal.ExecuteNonQuery();
                using var transaction = connection.BeginTransaction();
                CreateSchema(connection, transaction);
                transaction.Commit();
                // While this connection holds them open, so they exist: the WAL files SQLite created.
                OwnerOnly.RestrictExisting(FilePath + "-wal");
                OwnerOnly.RestrictExisting(FilePath + "-shm");
            }
            s_ready[FilePath] = true;
        }
        return true;
    }

    /// <summary>Creates the tables of an empty database, checks the version of an existing one.</summary>
    private void CreateSchema(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version";
        var version = Convert.ToInt32(command.ExecuteScalar());
        if (version == SchemaVersion) return;
        if (version > SchemaVersion)
            throw new IOException($"The job store {FilePath} was written by a newer FalVideo (schema {version}; this one knows {SchemaVersion}).");
        if (version is 1 or 2)
        {
            // Schema 1 had no idempotency keys: its jobs have none, so the new column starts empty. Schema 2 had no
            // submission time nor unfinished mark: both are computed from each job's state, in the same transaction as
            // the version change, so a store is either migrated whole or not at all.
            command.CommandText = (version == 1 ? "ALTER TABLE jobs ADD COLUMN idem_key TEXT; CREATE INDEX jobs_idempotency ON jobs (idem_key);" : "") + $"""
                ALTER TABLE jobs ADD COLUMN submitted_time INTEGER;
                ALTER TABLE jobs ADD COLUMN unfinished INTEGER;
                {MigrateToVersion3}
                {Version3Indexes}
                PRAGMA user_version = {SchemaVersion};
                """;
            command.ExecuteNonQuery();
            return;
        }
        command.CommandText = $"""
            CREATE TABLE jobs (
                seq          INTEGER PRIMARY KEY,   -- first-recorded order
                job_key      TEXT NOT NULL UNIQUE,  -- the request id, or journal:<journal id> before fal's answer
                journal_id   TEXT,
                status       TEXT,
                first_time   INTEGER NOT NULL,      -- Unix milliseconds
                updated_time INTEGER NOT NULL,
                state        TEXT NOT NULL,         -- the job's latest known state, in the journal's JSON shape
                idem_key     TEXT,                  -- FalJob.IdempotencyKey: a re-run of the same row finds its job by it
                submitted_time INTEGER,             -- Unix milliseconds of FalJob.SubmittedAt, else of first_time
                unfinished   INTEGER                -- 1 open, 2 completed but not saved, 3 ambiguous, NULL finished
            );
            CREATE INDEX jobs_status ON jobs (status, seq);
            CREATE INDEX jobs_idempotency ON jobs (idem_key);
            CREATE INDEX jobs_updated ON jobs (updated_time);
            {Version3Indexes}
            CREATE TABLE entries (
                id      INTEGER PRIMARY KEY,
                job_seq INTEGER NOT NULL,
                kind    TEXT NOT NULL,
                time    INTEGER NOT NULL,
                line    TEXT NOT NULL               -- the entry as a journal line
            );
            CREATE INDEX entries_job ON entries (job_seq);
            CREATE INDEX entries_time ON entries (time);
            CREATE TABLE imports (
                source      TEXT NOT NULL,
                imported_at INTEGER NOT NULL,
                lines       INTEGER NOT NULL,
                skipped     INTEGER NOT NULL
            );
            PRAGMA user_version = {SchemaVersion};
            """;
        command.ExecuteNonQuery();
    }

    // Schema 3: prune by submission time and resume from a partial index that holds only the unfinished jobs.
    private const string Version3Indexes = """
        CREATE INDEX jobs_submitted ON jobs (submitted_time);
        CREATE INDEX jobs_unfinished ON jobs (unfinished, seq) WHERE unfinished IS NOT NULL;
        """;

    // The new columns of an older store, from each job's state (SQLite's JSON functions): the same rules as Unfinished()
    // and JobFilter.SubmittedTime. julianday reads the ISO 8601 times System.Text.Json writes, offset included.
    private const string MigrateToVersion3 = """
        UPDATE jobs SET
            submitted_time = coalesce(
                CAST(round((julianday(json_extract(state, '$.submitted_at')) - 2440587.5) * 86400000) AS INTEGER),
                first_time),
            unfinished = CASE
                WHEN status IN ('Unknown', 'InQueue', 'InProgress')
                    THEN CASE WHEN coalesce(json_extract(state, '$.request_id'), '') = '' THEN 3 ELSE 1 END
                WHEN status = 'Completed' AND coalesce(json_extract(state, '$.save_directory'), '') <> ''
                    AND coalesce(json_extract(state, '$.saved_path'), '') = '' THEN 2
                END;
        """;

    /// <summary>
    /// Imports <paramref name="journal"/> into a new database beside the store, then renames it into place: the store
    /// appears whole or not at all, and a process stopped halfway leaves only a temporary file. Streams the journal
    /// line by line, a transaction every <see cref="ImportBatch"/> lines. Another process that created the store
    /// meanwhile wins; this copy is dropped.
    /// </summary>
    private void ImportIntoNewStore(string journal)
    {
        var folder = Path.GetDirectoryName(FilePath)!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(FilePath)}.import-{Guid.NewGuid():N}.tmp");
        try
        {
            OwnerOnly.CreateFile(temp);
            // Not pooled, so the file is closed when the import is done; the rollback journal in memory and no syncs
            // but the last: a crash leaves a temporary file nobody reads.
            using (var connection = Open(temp, pooled: false, synchronous: "OFF"))
            {
                using (var mode = connection.CreateCommand())
                {
                    mode.CommandText = "PRAGMA journal_mode = MEMORY";
                    mode.ExecuteNonQuery();
                }
                using (var transaction = connection.BeginTransaction())
                {
                    CreateSchema(connection, transaction);
                    transaction.Commit();
                }
                var (lines, skipped) = WriteLines(connection, ReadLines(journal));
                using (var sync = connection.CreateCommand())
                {
                    sync.CommandText = "PRAGMA synchronous = FULL";
                    sync.ExecuteNonQuery();
                }
                using (var transaction = connection.BeginTransaction())
                {
                    using var record = connection.CreateCommand();
                    record.Transaction = transaction;
                    record.CommandText = "INSERT INTO imports (source, imported_at, lines, skipped) VALUES ($source, $at, $lines, $skipped)";
                    record.Parameters.AddWithValue("$source", journal);
                    record.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    record.Parameters.AddWithValue("$lines", lines);
                    record.Parameters.AddWithValue("$skipped", skipped);
                    record.ExecuteNonQuery();
                    transaction.Commit();
                }
            }
            try
            {
                File.Move(temp, FilePath);
            }
            catch (IOException) when (File.Exists(FilePath))
            {
                // Another process imported it first.
            }
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line) yield return line;
    }

    /// <summary>Writes journal lines, <see cref="ImportBatch"/> per transaction; returns the non-empty lines read and
    /// those skipped (unreadable, or naming no job).</summary>
    private static (long Lines, long Skipped) WriteLines(SqliteConnection connection, IEnumerable<string> source)
    {
        long lines = 0, skipped = 0;
        using var next = source.GetEnumerator();
        var done = false;
        while (!done)
        {
            using var transaction = connection.BeginTransaction();
            using (var batch = new EntryWriter(connection, transaction))
            {
                for (var n = 0; n < ImportBatch; n++)
                {
                    if (!next.MoveNext())
                    {
                        done = true;
                        break;
                    }
                    var line = next.Current;
                    if (line.Length == 0) continue;
                    lines++;
                    if (JobJournal.Parse(line) is not { } entry || !batch.Write(entry, line)) skipped++;
                }
            }
            transaction.Commit();
        }
        return (lines, skipped);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The bulk path (seeding a store, e.g. a benchmark's million jobs): a connection of its own writes
    /// <see cref="ImportBatch"/> entries per transaction with statements prepared once per transaction, synced at
    /// each commit as the WAL's <c>synchronous=NORMAL</c> does (a power cut may lose the last transactions, never
    /// corrupt the store), then checkpointed and synced once. Other writers wait one transaction at most.
    /// </remarks>
    public long Import(IEnumerable<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return Guard(() =>
        {
            EnsureReady(create: true);
            using var connection = Open(FilePath, pooled: false, synchronous: "NORMAL");
            var (lines, skipped) = WriteLines(connection, records.Select(r => Encoding.UTF8.GetString(r.Line).TrimEnd('\n')));
            using (var checkpoint = connection.CreateCommand())
            {
                checkpoint.CommandText = "PRAGMA wal_checkpoint(FULL)";
                checkpoint.ExecuteNonQuery();
            }
            return lines - skipped;
        });
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = p });
        return command;
    }

    /// <summary>
    /// Applies entries inside one transaction, with its statements prepared once: the entry's row in <c>entries</c>,
    /// and its job's row in <c>jobs</c> merged as <see cref="JobJournal"/> merges lines when it reads them.
    /// </summary>
    private sealed class EntryWriter : IDisposable
    {
        private readonly SqliteCommand _find, _rekey, _insert, _update, _entry, _blocking;

        public EntryWriter(SqliteConnection connection, SqliteTransaction transaction)
        {
            _find = Command(connection, "SELECT seq, state FROM jobs WHERE job_key = $key", "$key");
            _rekey = Command(connection, "UPDATE jobs SET job_key = $key WHERE seq = $seq", "$key", "$seq");
            _insert = Command(connection,
                "INSERT INTO jobs (job_key, journal_id, status, first_time, updated_time, state, idem_key, submitted_time, unfinished) " +
                "VALUES ($key, $jid, $status, $time, $time, $state, $idem, $submitted, $unfinished) RETURNING seq",
                "$key", "$jid", "$status", "$time", "$state", "$idem", "$submitted", "$unfinished");
            // A job's submission time never moves once known: a write-ahead row first recorded without one keeps the
            // time it was first recorded (what JobFilter.SubmittedTime says) until an entry names it.
            _update = Command(connection, "UPDATE jobs SET journal_id = $jid, status = $status, updated_time = $time, state = $state, idem_key = $idem, " +
                "submitted_time = coalesce($submitted, submitted_time), unfinished = $unfinished WHERE seq = $seq",
                "$jid", "$status", "$time", "$state", "$idem", "$submitted", "$unfinished", "$seq");
            _entry = Command(connection, "INSERT INTO entries (job_seq, kind, time, line) VALUES ($seq, $kind, $time, $line)",
                "$seq", "$kind", "$time", "$line");
            _blocking = Command(connection, "SELECT state FROM jobs WHERE idem_key = $idem AND status IN ('InQueue', 'InProgress', 'Completed', 'Unknown') ORDER BY seq", "$idem");
            foreach (var c in new[] { _find, _rekey, _insert, _update, _entry, _blocking }) c.Transaction = transaction;
        }

        /// <summary>Records one entry; false when it names no job (no request id nor journal id).</summary>
        public bool Write(JobJournal.JournalEntry e, string line)
        {
            if (JobJournal.KeyOf(e) is not { } key) return false;
            var (seq, job) = Find(key);
            // A submit's answer names the write-ahead entry it completes: the job moves to its request id.
            if (seq is null && e.RequestId is { Length: > 0 } && e.JournalId is { Length: > 0 } jid
                && Find("journal:" + jid) is ({ } ahead, { } aheadJob))
            {
                _rekey.Parameters[0].Value = key;
                _rekey.Parameters[1].Value = ahead;
                _rekey.ExecuteNonQuery();
                aheadJob.RequestId = e.RequestId;
                (seq, job) = (ahead, aheadJob);
            }
            job ??= new FalJob { RequestId = e.RequestId ?? "", JournalId = e.JournalId };
            JobJournal.Apply(job, e);
            var time = e.Time.ToUnixTimeMilliseconds();
            var state = JobJournal.Serialize(JobJournal.StateOf(job, e.Time));
            var command = seq is null ? _insert : _update;
            var p = command.Parameters;
            var at = 0;
            if (seq is null) p[at++].Value = key;
            p[at++].Value = (object?)job.JournalId ?? DBNull.Value;
            p[at++].Value = job.Status.ToString();
            p[at++].Value = time;
            p[at++].Value = state;
            p[at++].Value = (object?)job.IdempotencyKey ?? DBNull.Value;
            p[at++].Value = job.SubmittedAt != default ? job.SubmittedAt.ToUnixTimeMilliseconds() : seq is null ? time : DBNull.Value;
            p[at++].Value = Unfinished(job);
            if (seq is not null)
            {
                p[at].Value = seq;
                command.ExecuteNonQuery();
            }
            else
            {
                seq = (long)command.ExecuteScalar()!;
            }
            _entry.Parameters[0].Value = seq;
            _entry.Parameters[1].Value = e.Entry;
            _entry.Parameters[2].Value = time;
            _entry.Parameters[3].Value = line;
            _entry.ExecuteNonQuery();
            return true;
        }

        /// <summary>The jobs with this idempotency key that block a re-send (<see cref="EarlierSubmissions.Blocks"/>), oldest first.</summary>
        public List<FalJob> Blocking(string idempotencyKey)
        {
            _blocking.Parameters[0].Value = idempotencyKey;
            using var reader = _blocking.ExecuteReader();
            var jobs = new List<FalJob>();
            while (reader.Read())
            {
                if (JobJournal.Parse(reader.GetString(0)) is { } state) jobs.Add(JobJournal.JobOf(state));
            }
            return jobs;
        }

        private (long? Seq, FalJob? Job) Find(string key)
        {
            _find.Parameters[0].Value = key;
            using var reader = _find.ExecuteReader();
            if (!reader.Read()) return (null, null);
            var state = JobJournal.Parse(reader.GetString(1));
            return (reader.GetInt64(0), state is null ? null : JobJournal.JobOf(state));
        }

        public void Dispose()
        {
            foreach (var c in new[] { _find, _rekey, _insert, _update, _entry, _blocking }) c.Dispose();
        }
    }

    // ---- Group commit ----

    /// <summary>Transactions this process committed for appends to <paramref name="path"/>'s store (tests of the group commit).</summary>
    internal static long CommitsFor(string path) => WriterFor(Path.GetFullPath(path)).Commits;

    /// <summary>Commits a batch of records in one transaction.</summary>
    private void Commit(List<(IReadOnlyCollection<JournalRecord> Records, SqliteJobStore Store, ClaimTicket? Ticket)> batch)
    {
        EnsureReady(create: true);
        using var connection = Open();
        // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default): the write lock is held from the claims' checks to the commit.
        using var transaction = connection.BeginTransaction();
        using (var writer = new EntryWriter(connection, transaction))
        {
            foreach (var (records, _, ticket) in batch)
            {
                if (ticket is not null)
                {
                    if (!ticket.Decide(writer.Blocking(ticket.Claim.Key))) continue;
                }
                foreach (var record in records)
                {
                    var text = LineText(record.Line);
                    if ((record.Entry ?? JobJournal.Parse(text)) is { } entry) writer.Write(entry, text);
                }
            }
        }
        transaction.Commit();
        foreach (var item in batch) item.Ticket?.Committed();
    }

    /// <summary>A captured journal line without its line end, decoded once (no second string for the trim).</summary>
    private static string LineText(byte[] line)
    {
        var length = line.Length;
        while (length > 0 && line[length - 1] == (byte)'\n') length--;
        return Encoding.UTF8.GetString(line, 0, length);
    }

    /// <summary>The group commit of each store file in this process (<see cref="GroupCommit{T}"/>): every batch queued
    /// while a transaction runs goes into the next one; any store object of the same file can commit it.</summary>
    private static readonly ConcurrentDictionary<string, GroupCommit<(IReadOnlyCollection<JournalRecord> Records, SqliteJobStore Store, ClaimTicket? Ticket)>> s_writers =
        new(StringComparer.Ordinal);

    private static GroupCommit<(IReadOnlyCollection<JournalRecord> Records, SqliteJobStore Store, ClaimTicket? Ticket)> WriterFor(string path) =>
        s_writers.GetOrAdd(path, _ => new(static batch =>
        {
            var store = batch[0].Store;
            try
            {
                store.Commit(batch);
            }
            catch (Exception ex) when (ex is not (IOException or UnauthorizedAccessException))
            {
                throw store.StoreError(ex);
            }
        }));
}

/// <summary>The import of a JSON Lines journal a <see cref="SqliteJobStore"/> recorded when it was created.</summary>
/// <param name="Source">The journal imported.</param>
/// <param name="ImportedAt">When.</param>
/// <param name="Lines">Non-empty lines read.</param>
/// <param name="Skipped">Lines that were unreadable (torn) or named no job.</param>
public sealed record JournalImport(string Source, DateTimeOffset ImportedAt, long Lines, long Skipped);
