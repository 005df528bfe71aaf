#if NET8_0_OR_GREATER
using System.Collections.Concurrent;
using System.Text;
using FalVideo.Jobs;
using Npgsql;
using NpgsqlTypes;

namespace FalVideo.Journal;

/// <summary>
/// The job store in a PostgreSQL database that several machines share (Npgsql 10, the net8.0 build only): the same
/// tables and semantics as <see cref="SqliteJobStore"/> (<c>falvideo_jobs</c>, one row per job with its latest state;
/// <c>falvideo_entries</c>, every transition as a journal line), plus the machine and user that first recorded each job.
/// </summary>
/// <remarks>
/// <para>Durable: a commit returns once PostgreSQL has it in its write-ahead log (the server's default
/// <c>synchronous_commit = on</c>). A write that fails (the server unreachable, restarting, a dropped connection) is
/// retried for up to <see cref="RetryWindow"/> on a new connection; after that the append throws
/// <see cref="IOException"/> naming the store without its password, and the row is not sent.</para>
/// <para>Claims (<see cref="ClaimAheadAsync"/>): each commit takes a transaction-level advisory lock per idempotency key
/// (<c>pg_advisory_xact_lock(hashtextextended(key, 0))</c>, in key order so two writers never wait on each other in a
/// cycle), then counts the key's blocking jobs and writes the record in the same transaction.</para>
/// <para>Schema: created and migrated by the module in one transaction under an advisory lock, its version in
/// <c>falvideo_schema</c>; a newer version than <see cref="SchemaVersion"/> is refused. Needs only CONNECT on the
/// database and USAGE and CREATE on its schema (no superuser, no CREATEDB): tables are created on first use.</para>
/// </remarks>
public sealed class PostgresJobStore : IJobStore
{
    /// <summary>The schema version this code writes (<c>falvideo_schema.version</c>).</summary>
    public const int SchemaVersion = 2;

    /// <summary>How long a failed write is retried before the append fails: a server restart or failover takes seconds.</summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromSeconds(20);

    private const int DeleteBatch = 256;
    private const int ImportBatch = 2000;
    // The advisory lock that serialises schema creation and migration (an arbitrary constant: "FalVideo").
    private const long SchemaLock = 0x46616C566964656F;
    private const string Blocking = "status IN ('InQueue', 'InProgress', 'Completed', 'Unknown')";

    private static readonly ConcurrentDictionary<string, bool> s_ready = new(StringComparer.Ordinal);
    private readonly string _connectionString;

    /// <summary>A store on the database <paramref name="connectionString"/> names (created on first write).</summary>
    /// <param name="connectionString">Keywords or a URI (<see cref="PostgresConnection"/>); TLS is required for a remote host
    /// unless the string names an SSL mode.</param>
    /// <exception cref="ArgumentException">The connection string can't be read (the message never holds the password).</exception>
    public PostgresJobStore(string connectionString)
    {
        var normalized = PostgresConnection.Normalize(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try { builder = new NpgsqlConnectionStringBuilder(normalized); }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException("The PostgreSQL connection string could not be read: " + PostgresConnection.Mask(ex.Message, connectionString));
        }
        builder.ApplicationName ??= "FalVideo";
        _connectionString = builder.ConnectionString;
        FilePath = PostgresConnection.Describe(normalized);
    }

    /// <summary>The store as <c>postgresql://user@host:port/database</c>: what messages name; never the password.</summary>
    public string FilePath { get; }

    /// <summary>Opens a connection and creates or checks the schema: the one clear error a bad connection string, an
    /// unreachable host or a wrong password gets before any row is sent.</summary>
    /// <exception cref="IOException">The store can't be used (the message names it, never the password).</exception>
    public void Verify() => Guard(() =>
    {
        EnsureReady();
        return 0;
    }, retry: false);

    // ---- Writes ----

    /// <inheritdoc />
    public void Append(string entryKind, FalJob job, string? savedPath = null) =>
        AppendAsync(entryKind, job, savedPath).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AppendAsync(string entryKind, FalJob job, string? savedPath = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        return WriterFor(_connectionString).Enqueue(([JobJournal.Capture(entryKind, job, savedPath)], this, null));
    }

    /// <inheritdoc />
    public async Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(claim);
        var record = JobJournal.Capture(JobJournal.SubmittingEntry, job);
        var ticket = new ClaimTicket(claim, job.JournalId);
        await WriterFor(_connectionString).Enqueue(([record], this, ticket)).ConfigureAwait(false);
        return ticket.Winner;
    }

    /// <inheritdoc />
    public void AppendMany(IReadOnlyCollection<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return;
        WriterFor(_connectionString).Enqueue((records, this, null)).GetAwaiter().GetResult();
    }

    private void Commit(List<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)> batch) => Guard(() =>
    {
        EnsureReady();
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        var keys = batch.Where(b => b.Ticket is not null).Select(b => b.Ticket!.Claim.Key).Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (keys.Count > 0)
        {
            using var lockKey = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@k, 0))", connection, transaction);
            var p = lockKey.Parameters.Add("k", NpgsqlDbType.Text);
            foreach (var key in keys)
            {
                p.Value = key;
                lockKey.ExecuteNonQuery();
            }
        }
        var writer = new EntryWriter(connection, transaction);
        foreach (var (records, _, ticket) in batch)
        {
            if (ticket is not null)
            {
                ticket.Winner = IdempotencyClaim.Winner(writer.Blocking(ticket.Claim.Key), ticket.Claim.Allowed, ticket.JournalId);
                if (ticket.Winner is not null) continue;
            }
            foreach (var record in records)
            {
                var text = Encoding.UTF8.GetString(record.Line).TrimEnd('\n');
                if (JobJournal.Parse(text) is { } entry) writer.Write(entry, text);
            }
        }
        transaction.Commit();
        return 0;
    }, retry: true, after: () =>
    {
        foreach (var item in batch) if (item.Ticket is { Winner: null } won) won.Claim.Settle();
    });

    private static readonly ConcurrentDictionary<string, GroupCommit<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)>> s_writers =
        new(StringComparer.Ordinal);

    private static GroupCommit<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)> WriterFor(string connectionString) =>
        s_writers.GetOrAdd(connectionString, _ => new(static batch => batch[0].Store.Commit(batch)));

    /// <summary>Applies entries inside one transaction, as <see cref="SqliteJobStore"/>'s writer does.</summary>
    private sealed class EntryWriter(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        public List<FalJob> Blocking(string idempotencyKey)
        {
            using var command = new NpgsqlCommand($"SELECT state FROM falvideo_jobs WHERE idem_key = @k AND {PostgresJobStore.Blocking} ORDER BY seq", connection, transaction);
            command.Parameters.AddWithValue("k", idempotencyKey);
            using var reader = command.ExecuteReader();
            var jobs = new List<FalJob>();
            while (reader.Read())
            {
                if (JobJournal.Parse(reader.GetString(0)) is { } state) jobs.Add(JobJournal.JobOf(state));
            }
            return jobs;
        }

        /// <summary>Records one entry in two round trips: the job's row found (and locked), then merged and the
        /// entry inserted in one statement.</summary>
        public bool Write(JobJournal.JournalEntry e, string line)
        {
            if (JobJournal.KeyOf(e) is not { } key) return false;
            // A submit's answer names the write-ahead row it completes (journal:<id>): found by either key, the row
            // takes the request id as its key in the same update.
            var aheadKey = e.RequestId is { Length: > 0 } && e.JournalId is { Length: > 0 } jid ? "journal:" + jid : null;
            var (seq, job, foundKey) = Find(key, aheadKey);
            if (seq is not null && foundKey != key && job is not null) job.RequestId = e.RequestId!;
            job ??= new FalJob { RequestId = e.RequestId ?? "", JournalId = e.JournalId };
            JobJournal.Apply(job, e);
            var time = e.Time.ToUnixTimeMilliseconds();
            var state = JobJournal.Serialize(JobJournal.StateOf(job, e.Time));
            const string entry = "INSERT INTO falvideo_entries (job_seq, kind, time, line) SELECT seq, @kind, @time, @line FROM j";
            using var command = seq is null
                ? new NpgsqlCommand("WITH j AS (INSERT INTO falvideo_jobs (job_key, journal_id, status, first_time, updated_time, state, idem_key, submitted_time, unfinished, machine, user_name) " +
                                    "VALUES (@key, @jid, @status, @time, @time, @state, @idem, @submitted, @unfinished, @machine, @user) RETURNING seq), " +
                                    "e AS (" + entry + ") SELECT seq FROM j", connection, transaction)
                : new NpgsqlCommand("WITH j AS (UPDATE falvideo_jobs SET job_key = @key, journal_id = @jid, status = @status, updated_time = @time, state = @state, idem_key = @idem, " +
                                    "submitted_time = coalesce(@submitted, submitted_time), unfinished = @unfinished WHERE seq = @seq RETURNING seq) " + entry, connection, transaction);
            var p = command.Parameters;
            p.Add("key", NpgsqlDbType.Text).Value = key;
            p.Add("jid", NpgsqlDbType.Text).Value = (object?)job.JournalId ?? DBNull.Value;
            p.Add("status", NpgsqlDbType.Text).Value = job.Status.ToString();
            p.Add("time", NpgsqlDbType.Bigint).Value = time;
            p.Add("state", NpgsqlDbType.Text).Value = state;
            p.Add("idem", NpgsqlDbType.Text).Value = (object?)job.IdempotencyKey ?? DBNull.Value;
            p.Add("submitted", NpgsqlDbType.Bigint).Value = job.SubmittedAt != default ? job.SubmittedAt.ToUnixTimeMilliseconds() : seq is null ? time : DBNull.Value;
            p.Add("unfinished", NpgsqlDbType.Smallint).Value = Unfinished(job);
            // The submitter the job's own record names (FalJob.Machine/User), so a copied job keeps its own.
            p.Add("machine", NpgsqlDbType.Text).Value = (object?)job.Machine ?? DBNull.Value;
            p.Add("user", NpgsqlDbType.Text).Value = (object?)job.User ?? DBNull.Value;
            p.Add("seq", NpgsqlDbType.Bigint).Value = (object?)seq ?? DBNull.Value;
            p.Add("kind", NpgsqlDbType.Text).Value = e.Entry;
            p.Add("line", NpgsqlDbType.Text).Value = line;
            if (seq is null) command.ExecuteScalar();
            else command.ExecuteNonQuery();
            return true;
        }

        /// <summary>The row of <paramref name="key"/>, else of <paramref name="aheadKey"/>, locked for this transaction.</summary>
        private (long? Seq, FalJob? Job, string? Key) Find(string key, string? aheadKey)
        {
            using var find = new NpgsqlCommand(
                "SELECT seq, state, job_key FROM falvideo_jobs WHERE job_key = ANY(@keys) ORDER BY (job_key = @key) DESC LIMIT 1 FOR UPDATE", connection, transaction);
            find.Parameters.AddWithValue("keys", aheadKey is null ? new[] { key } : new[] { key, aheadKey });
            find.Parameters.AddWithValue("key", key);
            using var reader = find.ExecuteReader();
            if (!reader.Read()) return (null, null, null);
            var state = JobJournal.Parse(reader.GetString(1));
            return (reader.GetInt64(0), state is null ? null : JobJournal.JobOf(state), reader.GetString(2));
        }
    }

    // The unfinished column, as in the SQLite store: 1 open, 2 completed but not saved, 3 ambiguous, NULL finished.
    private static object Unfinished(FalJob job)
    {
        if (UnfinishedJobs.IsOpen(job)) return string.IsNullOrEmpty(job.RequestId) ? (short)3 : (short)1;
        return UnfinishedJobs.IsUnsaved(job) ? (short)2 : DBNull.Value;
    }

    // ---- Reads ----

    /// <inheritdoc />
    public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null) =>
        Guard(() => Query("SELECT seq, state FROM falvideo_jobs ORDER BY seq", null, warn), retry: true);

    /// <inheritdoc />
    /// <remarks>Reads through the index on (status, seq).</remarks>
    public IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        if (statuses.Count == 0) return [];
        var names = statuses.Distinct().Select(s => s.ToString()).ToArray();
        return Guard(() => Query("SELECT seq, state FROM falvideo_jobs WHERE status = ANY(@s) ORDER BY seq", c => c.Parameters.AddWithValue("s", names), warn), retry: true);
    }

    /// <inheritdoc />
    /// <remarks>Matches the <c>machine</c> and <c>user_name</c> columns in the query (<c>~*</c>, the database's case
    /// folding); with statuses, the candidates come through the index on (status, seq).</remarks>
    public IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(owners);
        if (statuses is { Count: 0 }) return [];
        return Guard(() =>
        {
            var conditions = new List<string>();
            return Query("SELECT seq, state FROM falvideo_jobs", c =>
            {
                if (statuses is not null)
                {
                    conditions.Add("status = ANY(@s)");
                    c.Parameters.AddWithValue("s", statuses.Distinct().Select(s => s.ToString()).ToArray());
                }
                if (!owners.IsEmpty) conditions.Add(OwnerSql(c, owners));
                if (conditions.Count > 0) c.CommandText += " WHERE " + string.Join(" AND ", conditions);
                c.CommandText += " ORDER BY seq";
            }, warn);
        }, retry: true);
    }

    /// <summary>The owner conditions on the <c>machine</c> and <c>user_name</c> columns, each pattern as an anchored
    /// regular expression (<see cref="JobOwnerFilter.ToRegex"/>) matched case-insensitively; a job without one reads as empty.</summary>
    private static string OwnerSql(NpgsqlCommand command, JobOwnerFilter owners)
    {
        var conditions = new List<string>();
        void Add(IReadOnlyCollection<string>? patterns, string column, string name)
        {
            if (patterns is null) return;
            conditions.Add($"coalesce({column}, '') ~* ANY(@{name})");
            command.Parameters.AddWithValue(name, patterns.Select(JobOwnerFilter.ToRegex).ToArray());
        }
        Add(owners.Machines, "machine", "machines");
        Add(owners.Users, "user_name", "users");
        return string.Join(" AND ", conditions);
    }

    /// <inheritdoc />
    public IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0) return [];
        var wanted = keys.Distinct(StringComparer.Ordinal).ToArray();
        return Guard(() => Query("SELECT seq, state FROM falvideo_jobs WHERE idem_key = ANY(@k) ORDER BY seq", c => c.Parameters.AddWithValue("k", wanted), warn), retry: true);
    }

    /// <inheritdoc />
    /// <remarks>Looks the ids up in the unique <c>job_key</c> index; write-ahead keys (<c>journal:</c>, no request id)
    /// never match a request id.</remarks>
    public IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var wanted = requestIds.Where(id => !string.IsNullOrEmpty(id) && !id.StartsWith("journal:", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToArray();
        if (wanted.Length == 0) return [];
        return Guard(() => Query("SELECT seq, state FROM falvideo_jobs WHERE job_key = ANY(@k) ORDER BY seq", c => c.Parameters.AddWithValue("k", wanted), warn), retry: true);
    }

    /// <inheritdoc />
    /// <remarks>Reads the partial index on unfinished jobs only.</remarks>
    public IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null)
    {
        var (jobs, count) = Guard(() =>
        {
            if (!EnsureReady(create: false)) return ((List<FalJob>)[], 0);
            using var connection = Open();
            using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
            using var countCommand = new NpgsqlCommand("SELECT count(*) FROM falvideo_jobs WHERE unfinished = 3", connection, transaction);
            var n = Convert.ToInt32(countCommand.ExecuteScalar());
            using var command = new NpgsqlCommand("SELECT seq, state FROM falvideo_jobs WHERE unfinished IN (1, 2) ORDER BY unfinished, seq", connection, transaction);
            var list = ReadStates(command, warn);
            transaction.Commit();
            return (list, n);
        }, retry: true);
        ambiguous = count;
        return jobs;
    }

    /// <inheritdoc />
    public long Count(JobFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.IsEmpty) return 0;
        return Guard(() =>
        {
            if (!EnsureReady(create: false)) return 0L;
            using var connection = Open();
            using var command = new NpgsqlCommand { Connection = connection };
            command.CommandText = "SELECT count(*) FROM falvideo_jobs WHERE " + FilterSql(command, filter);
            return Convert.ToInt64(command.ExecuteScalar());
        }, retry: true);
    }

    /// <inheritdoc />
    public IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return Guard(() =>
        {
            if (!EnsureReady(create: false)) return jobs.ToList();
            var keys = jobs.Select(JobJournal.KeyOf).Distinct(StringComparer.Ordinal).ToArray();
            var known = new HashSet<string>(StringComparer.Ordinal);
            using var connection = Open();
            using var command = new NpgsqlCommand("SELECT job_key FROM falvideo_jobs WHERE job_key = ANY(@k)", connection);
            command.Parameters.AddWithValue("k", keys);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read()) known.Add(reader.GetString(0));
            }
            return jobs.Where(j => !known.Contains(JobJournal.KeyOf(j))).ToList();
        }, retry: true);
    }

    // ---- Removal ----

    /// <inheritdoc />
    public int Remove(IEnumerable<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var keys = jobs.SelectMany(j => j.JournalId is { Length: > 0 } id ? [JobJournal.KeyOf(j), "journal:" + id] : new[] { JobJournal.KeyOf(j) })
            .Distinct(StringComparer.Ordinal).ToList();
        return Guard(() =>
        {
            if (!EnsureReady(create: false)) return 0;
            using var connection = Open();
            var removed = 0;
            foreach (var chunk in keys.Chunk(DeleteBatch))
            {
                using var transaction = connection.BeginTransaction();
                using var command = new NpgsqlCommand(
                    "WITH gone AS (DELETE FROM falvideo_jobs WHERE job_key = ANY(@k) RETURNING seq) DELETE FROM falvideo_entries WHERE job_seq IN (SELECT seq FROM gone)",
                    connection, transaction);
                command.Parameters.AddWithValue("k", chunk);
                removed += command.ExecuteNonQuery();
                transaction.Commit();
            }
            return removed;
        }, retry: false);
    }

    /// <inheritdoc />
    /// <remarks>Deletes <c>256</c> jobs per transaction through the status and submission-time indexes.</remarks>
    public long Prune(JobFilter filter, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.IsEmpty) return 0;
        return Guard(() =>
        {
            if (!EnsureReady(create: false)) return 0L;
            using var connection = Open();
            long pruned = 0;
            // As in the SQLite store: with an owner condition each step goes on after the last job it took, so the rows
            // of other owners the indexed conditions leave are checked once, not at every step.
            var cursor = filter.OwnerCondition is not null;
            long after = 0;
            while (true)
            {
                using var transaction = connection.BeginTransaction();
                using var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
                command.CommandText = "WITH gone AS (DELETE FROM falvideo_jobs WHERE seq IN (SELECT seq FROM falvideo_jobs WHERE " + FilterSql(command, filter) +
                                      (cursor ? " AND seq > @after ORDER BY seq" : "") +
                                      $" LIMIT {DeleteBatch}) RETURNING seq), entries AS (DELETE FROM falvideo_entries WHERE job_seq IN (SELECT seq FROM gone)) " +
                                      "SELECT count(*), coalesce(max(seq), 0) FROM gone";
                if (cursor) command.Parameters.AddWithValue("after", after);
                long n;
                using (var reader = command.ExecuteReader())
                {
                    reader.Read();
                    n = reader.GetInt64(0);
                    after = reader.GetInt64(1);
                }
                transaction.Commit();
                if (n == 0) return pruned;
                pruned += n;
                progress?.Invoke(pruned);
            }
        }, retry: false);
    }

    private static string FilterSql(NpgsqlCommand command, JobFilter filter)
    {
        var conditions = new List<string>();
        if (filter.SubmittedBefore is { } before)
        {
            conditions.Add("submitted_time < @before");
            command.Parameters.AddWithValue("before", before.ToUnixTimeMilliseconds());
        }
        if (filter.Statuses is { } statuses)
        {
            conditions.Add("status = ANY(@statuses)");
            command.Parameters.AddWithValue("statuses", statuses.Distinct().Select(s => s.ToString()).ToArray());
        }
        if (filter.OwnerCondition is { } owners) conditions.Add(OwnerSql(command, owners));
        return string.Join(" AND ", conditions);
    }

    // ---- Import ----

    /// <inheritdoc />
    /// <remarks>Writes <c>2000</c> entries per transaction on a connection of its own; each commit is durable.</remarks>
    public long Import(IEnumerable<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return Guard(() =>
        {
            EnsureReady();
            using var connection = Open();
            long written = 0;
            foreach (var chunk in records.Chunk(ImportBatch))
            {
                using var transaction = connection.BeginTransaction();
                var writer = new EntryWriter(connection, transaction);
                foreach (var record in chunk)
                {
                    var text = Encoding.UTF8.GetString(record.Line).TrimEnd('\n');
                    if (JobJournal.Parse(text) is { } entry && writer.Write(entry, text)) written++;
                }
                transaction.Commit();
            }
            return written;
        }, retry: false);
    }

    // ---- Plumbing ----

    private List<FalJob> Query(string sql, Action<NpgsqlCommand>? parameters, Action<string>? warn)
    {
        if (!EnsureReady(create: false)) return [];
        using var connection = Open();
        using var command = new NpgsqlCommand(sql, connection);
        parameters?.Invoke(command);
        return ReadStates(command, warn);
    }

    private List<FalJob> ReadStates(NpgsqlCommand command, Action<string>? warn)
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

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Creates or checks the schema once per process and connection string. Reads (<paramref name="create"/>
    /// false) of a database without the tables see an empty store and create nothing.</summary>
    private bool EnsureReady(bool create = true)
    {
        if (s_ready.ContainsKey(_connectionString)) return true;
        using var connection = Open();
        if (!create)
        {
            using var exists = new NpgsqlCommand("SELECT to_regclass('falvideo_schema') IS NOT NULL", connection);
            if (!(bool)exists.ExecuteScalar()!) return false;
        }
        using var transaction = connection.BeginTransaction();
        using (var gate = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLock})", connection, transaction)) gate.ExecuteNonQuery();
        int? version = null;
        using (var exists = new NpgsqlCommand("SELECT to_regclass('falvideo_schema') IS NOT NULL", connection, transaction))
        {
            if ((bool)exists.ExecuteScalar()!)
            {
                using var read = new NpgsqlCommand("SELECT max(version) FROM falvideo_schema", connection, transaction);
                version = read.ExecuteScalar() is int v ? v : null;
            }
        }
        if (version > SchemaVersion)
            throw new IOException($"The job store {FilePath} was written by a newer FalVideo (schema {version}; this one knows {SchemaVersion}). " +
                                  "Update the FalVideo module on this machine to use it.");
        if (version is null)
        {
            using var schema = new NpgsqlCommand(CreateSchemaSql, connection, transaction);
            schema.ExecuteNonQuery();
        }
        // Migrations from older versions go here, in this transaction, each ending with the version's update.
        if (version == 1)
        {
            using var migrate = new NpgsqlCommand(MigrateToVersion2Sql, connection, transaction);
            migrate.ExecuteNonQuery();
        }
        transaction.Commit();
        s_ready[_connectionString] = true;
        return true;
    }

    private static readonly string CreateSchemaSql = $"""
        CREATE TABLE IF NOT EXISTS falvideo_schema (
            version    integer NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE falvideo_jobs (
            seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- first-recorded order
            job_key        text NOT NULL UNIQUE,     -- the request id, or journal:<journal id> before fal's answer
            journal_id     text,
            status         text,
            first_time     bigint NOT NULL,          -- Unix milliseconds
            updated_time   bigint NOT NULL,
            state          text NOT NULL,            -- the job's latest known state, in the journal's JSON shape
            idem_key       text,                     -- FalJob.IdempotencyKey
            submitted_time bigint,                   -- Unix milliseconds of FalJob.SubmittedAt, else of first_time
            unfinished     smallint,                 -- 1 open, 2 completed but not saved, 3 ambiguous, NULL finished
            machine        text,                     -- FalJob.Machine and FalJob.User: who submitted the job
            user_name      text
        );
        CREATE INDEX falvideo_jobs_status ON falvideo_jobs (status, seq);
        CREATE INDEX falvideo_jobs_idempotency ON falvideo_jobs (idem_key);
        CREATE INDEX falvideo_jobs_updated ON falvideo_jobs (updated_time);
        CREATE INDEX falvideo_jobs_submitted ON falvideo_jobs (submitted_time);
        CREATE INDEX falvideo_jobs_unfinished ON falvideo_jobs (unfinished, seq) WHERE unfinished IS NOT NULL;
        CREATE TABLE falvideo_entries (
            id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job_seq bigint NOT NULL,
            kind    text NOT NULL,
            time    bigint NOT NULL,
            line    text NOT NULL                    -- the entry as a journal line
        );
        CREATE INDEX falvideo_entries_job ON falvideo_entries (job_seq);
        INSERT INTO falvideo_schema (version) VALUES ({SchemaVersion});
        """;

    // Schema 2: the machine and user live in each job's own state (FalJob.Machine/User), and the columns copy them.
    // Schema 1 filled the columns with the process that first recorded the job (its write-ahead: the submitter) and
    // not the state; the state takes them, so a listing shows what a -Machine/-User filter matches.
    private const string MigrateToVersion2Sql = """
        UPDATE falvideo_jobs
            SET state = (state::jsonb || jsonb_strip_nulls(jsonb_build_object('machine', machine, 'user', user_name)))::text
            WHERE (machine IS NOT NULL OR user_name IS NOT NULL) AND state::jsonb -> 'machine' IS NULL;
        INSERT INTO falvideo_schema (version) VALUES (2);
        """;

    /// <summary>Runs <paramref name="action"/>, retrying a failure of the connection for up to <see cref="RetryWindow"/>
    /// when <paramref name="retry"/>, and reports what is left as the <see cref="IOException"/> the store's callers
    /// handle, naming the store without its password.</summary>
    private T Guard<T>(Func<T> action, bool retry, Action? after = null)
    {
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var result = action();
                after?.Invoke();
                return result;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException && ex is not IOException)
            {
                // A refused schema version is an IOException already; everything else from the driver is retried
                // while the server may be coming back (a restart, a failover), then reported.
                var transient = ex is NpgsqlException { IsTransient: true } || (ex is PostgresException pg && pg.SqlState is "57P01" or "57P02" or "57P03" or "40P01" or "40001");
                if (retry && transient && DateTime.UtcNow - started < RetryWindow)
                {
                    NpgsqlConnection.ClearPool(new NpgsqlConnection(_connectionString));
                    Thread.Sleep(delay);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
                    continue;
                }
                throw new IOException($"The job store {FilePath} could not be used: {PostgresConnection.Mask(ex.Message, _connectionString)}", ex);
            }
        }
    }
}
#endif
