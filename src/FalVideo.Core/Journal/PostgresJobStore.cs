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
/// <para>Group commit: the entries queued while a transaction runs go into the next one, which costs three round trips
/// whatever its size: the claims' locks, their keys' blocking jobs and every named job row (<c>FOR UPDATE</c>) read in
/// one; the entries merged in memory in order; every row and entry written by set-based statements over arrays in one;
/// then the commit.</para>
/// <para>Claims (<see cref="ClaimAheadAsync"/>): each commit takes a transaction-level advisory lock per idempotency key
/// (<c>pg_advisory_xact_lock(hashtextextended(key, 0))</c>, in key order so two writers never wait on each other in a
/// cycle, all in one statement), then counts the key's blocking jobs, including those this batch wrote before, and
/// writes the record in the same transaction.</para>
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
    // One data source (its pool and its settings) per connection string for the life of the process, as
    // NpgsqlConnection(string) keeps one pool per string; built on first use, so constructing a store connects nowhere.
    private static readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> s_sources = new(StringComparer.Ordinal);
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

    /// <summary>
    /// The data source of this store's connection string. The store uses only PostgreSQL's built-in types (text,
    /// bigint, integer, smallint, boolean, and arrays of them), so type loading is off: the first connection of a
    /// process skips the query of <c>pg_type</c> and the building of its type map, and Npgsql uses its built-in set of
    /// types (https://www.npgsql.org/doc/api/Npgsql.NpgsqlTypeLoadingOptionsBuilder.html, <c>EnableTypeLoading</c>).
    /// </summary>
    private NpgsqlDataSource Source => s_sources.GetOrAdd(_connectionString, static cs => new(() =>
    {
        var builder = new NpgsqlDataSourceBuilder(cs);
        builder.ConfigureTypeLoading(t => t.EnableTypeLoading(false));
        return builder.Build();
    })).Value;

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
    public void AppendMany(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: true).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: false);

    private Task EnqueueMany(IReadOnlyCollection<JournalRecord> records, bool writeHere)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Count == 0 ? Task.CompletedTask : WriterFor(_connectionString).Enqueue((records, this, null), writeHere);
    }

    private void Commit(List<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)> batch) => Guard(() =>
    {
        EnsureReady();
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        var claimKeys = batch.Where(b => b.Ticket is not null).Select(b => b.Ticket!.Claim.Key).Distinct(StringComparer.Ordinal).ToList();
        // Captured records carry their entry; only records from elsewhere are parsed from their line.
        var entries = batch.ConvertAll(b => b.Records.Select(BatchWriter.Entry).ToList());
        var writer = new BatchWriter(connection, transaction);
        writer.Read(entries.SelectMany(e => e), claimKeys);
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Ticket is { } ticket)
            {
                if (!ticket.Decide(writer.Blocking(ticket.Claim.Key))) continue;
            }
            foreach (var entry in entries[i]) writer.Apply(entry);
        }
        writer.Write();
        transaction.Commit();
        return 0;
    }, retry: true, after: () =>
    {
        foreach (var item in batch) item.Ticket?.Committed();
    });

    private static readonly ConcurrentDictionary<string, GroupCommit<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)>> s_writers =
        new(StringComparer.Ordinal);

    private static GroupCommit<(IReadOnlyCollection<JournalRecord> Records, PostgresJobStore Store, ClaimTicket? Ticket)> WriterFor(string connectionString) =>
        s_writers.GetOrAdd(connectionString, _ => new(static batch => batch[0].Store.Commit(batch)));

    // Job-state queries per connection string: see QueriesFor.
    private static readonly ConcurrentDictionary<string, long[]> s_queries = new(StringComparer.Ordinal);

    /// <summary>Queries of job states (<c>ReadJobs</c>, <c>ReadJobsByStatus</c>, <c>ReadJobsOf</c>,
    /// <c>FindByIdempotencyKeys</c>, <c>FindByRequestIds</c>; not the group commit's own reads) this process sent to the
    /// store <paramref name="connectionString"/> names: how the tests count the reads a batch makes per row, reached by
    /// reflection.</summary>
    internal static long QueriesFor(string connectionString) =>
        s_queries.TryGetValue(new PostgresJobStore(connectionString)._connectionString, out var n) ? Interlocked.Read(ref n[0]) : 0;

    /// <summary>Transactions this process committed for appends to the store <paramref name="connectionString"/> names, as
    /// normalised by the constructor (tests of the group commit, reached by reflection).</summary>
    internal static long CommitsFor(string connectionString) => WriterFor(new PostgresJobStore(connectionString)._connectionString).Commits;

    /// <summary>
    /// Applies a batch of entries inside one transaction in a fixed number of round trips, whatever its size: one
    /// (<see cref="Read"/>) takes the claims' advisory locks, reads their keys' blocking jobs and locks every job row the
    /// entries name; the entries are then merged in memory in order, exactly as <see cref="SqliteJobStore"/>'s writer
    /// applies them one by one against its table (a write-ahead row <c>journal:&lt;id&gt;</c> renamed to the request id
    /// its answer names, several entries of one job, a second claim of a key seeing the first's write-ahead); one more
    /// (<see cref="Write"/>) sends every row's final state and every entry as three set-based statements over arrays.
    /// </summary>
    private sealed class BatchWriter(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        private sealed class Row
        {
            public long? Seq;                 // null: inserted by this batch
            public required string Key;       // job_key as it will be written
            public FalJob? Job;               // null: a stored state that could not be read (rebuilt from the entries)
            public bool Touched;
            public long FirstTime, LastTime;
        }

        private readonly Dictionary<string, Row> _byKey = new(StringComparer.Ordinal);
        private readonly Dictionary<long, Row> _bySeq = new();
        private readonly List<Row> _inserted = [];
        private readonly List<(Row Row, string Kind, long Time, string Line)> _entries = [];

        /// <summary>One round trip: the claim keys' advisory locks (<c>pg_advisory_xact_lock</c> in ordinal key order,
        /// so two writers never wait on each other in a cycle), their blocking jobs, and the rows of every key the
        /// records name (and of the write-ahead keys their answers complete) locked <c>FOR UPDATE</c>.</summary>
        public void Read(IEnumerable<(JobJournal.JournalEntry? Entry, string Text)> records, IReadOnlyCollection<string> claimKeys)
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in records)
            {
                if (record.Entry is not { } e || JobJournal.KeyOf(e) is not { } key) continue;
                keys.Add(key);
                if (AheadKey(e) is { } ahead) keys.Add(ahead);
            }
            using var batch = new NpgsqlBatch(connection, transaction);
            if (claimKeys.Count > 0)
            {
                var sorted = claimKeys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
                // unnest yields the array in order, and the function is evaluated row by row as it does.
                batch.BatchCommands.Add(Command("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(@k) AS k", ("k", NpgsqlDbType.Array | NpgsqlDbType.Text, sorted)));
                batch.BatchCommands.Add(Command($"SELECT seq, state FROM falvideo_jobs WHERE idem_key = ANY(@k) AND {PostgresJobStore.Blocking} ORDER BY seq", ("k", NpgsqlDbType.Array | NpgsqlDbType.Text, sorted)));
            }
            if (keys.Count > 0)
                batch.BatchCommands.Add(Command("SELECT seq, state, job_key FROM falvideo_jobs WHERE job_key = ANY(@k) ORDER BY job_key FOR UPDATE",
                    ("k", NpgsqlDbType.Array | NpgsqlDbType.Text, keys.ToArray())));
            if (batch.BatchCommands.Count == 0) return;
            using var reader = batch.ExecuteReader();
            if (claimKeys.Count > 0)
            {
                while (reader.Read()) { }
                reader.NextResult();
                while (reader.Read()) Known(reader.GetInt64(0), reader.GetString(1), null);
                reader.NextResult();
            }
            if (keys.Count > 0)
            {
                while (reader.Read()) Known(reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
            }
        }

        private void Known(long seq, string stateText, string? key)
        {
            if (!_bySeq.TryGetValue(seq, out var row))
            {
                // A state that can't be read is rebuilt from the entries, as the SQLite store does.
                var job = JobJournal.Parse(stateText) is { } state ? JobJournal.JobOf(state) : null;
                row = new Row { Seq = seq, Key = key ?? "", Job = job };
                _bySeq[seq] = row;
            }
            if (key is not null)
            {
                row.Key = key;
                _byKey[key] = row;
            }
        }

        /// <summary>The jobs with this idempotency key that block a re-send, oldest first, as they stand with this
        /// batch's entries so far applied.</summary>
        public List<FalJob> Blocking(string idempotencyKey) =>
            _bySeq.Values.OrderBy(r => r.Seq).Concat(_inserted)
                .Select(r => r.Job).OfType<FalJob>().Where(j => j.IdempotencyKey == idempotencyKey && EarlierSubmissions.Blocks(j))
                // Copies: the claim's owner may keep the job that stands for its row.
                .Select(j => JobJournal.JobOf(JobJournal.StateOf(j, default))).ToList();

        /// <summary>Merges one record into its job's row in memory; false when it names no job.</summary>
        public bool Apply((JobJournal.JournalEntry? Entry, string Text) record)
        {
            var (e, text) = record;
            if (e is null || JobJournal.KeyOf(e) is not { } key) return false;
            var time = e.Time.ToUnixTimeMilliseconds();
            _byKey.TryGetValue(key, out var row);
            // A submit's answer names the write-ahead row it completes: the row moves to its request id.
            if (row is null && AheadKey(e) is { } ahead && _byKey.TryGetValue(ahead, out var aheadRow) && aheadRow.Job is not null)
            {
                _byKey.Remove(ahead);
                aheadRow.Key = key;
                aheadRow.Job.RequestId = e.RequestId!;
                _byKey[key] = aheadRow;
                row = aheadRow;
            }
            if (row is null)
            {
                row = new Row { Key = key, Job = new FalJob { RequestId = e.RequestId ?? "", JournalId = e.JournalId }, FirstTime = time };
                _inserted.Add(row);
                _byKey[key] = row;
            }
            row.Job ??= new FalJob { RequestId = e.RequestId ?? "", JournalId = e.JournalId };
            JobJournal.Apply(row.Job, e);
            row.Touched = true;
            row.LastTime = time;
            _entries.Add((row, e.Entry, time, text));
            return true;
        }

        /// <summary>One round trip: the touched rows updated, the new rows inserted (in first-recorded order), then every
        /// entry, each set-based over arrays. Updates go first: a key a row leaves in this batch may be taken by a new row.</summary>
        public void Write()
        {
            if (_entries.Count == 0) return;
            using var batch = new NpgsqlBatch(connection, transaction);
            var updated = _bySeq.Values.Where(r => r.Touched).ToList();
            if (updated.Count > 0)
            {
                batch.BatchCommands.Add(Command(
                    "UPDATE falvideo_jobs AS j SET job_key = u.key, journal_id = u.jid, status = u.status, updated_time = u.time, state = u.state, idem_key = u.idem, " +
                    "submitted_time = coalesce(u.submitted, j.submitted_time), unfinished = u.unfinished " +
                    "FROM unnest(@seq, @key, @jid, @status, @time, @state, @idem, @submitted, @unfinished) AS u(seq, key, jid, status, time, state, idem, submitted, unfinished) " +
                    "WHERE j.seq = u.seq",
                    [("seq", NpgsqlDbType.Array | NpgsqlDbType.Bigint, updated.Select(r => r.Seq!.Value).ToArray()), .. Columns(updated, isNew: false)]));
            }
            if (_inserted.Count > 0)
            {
                batch.BatchCommands.Add(Command(
                    "INSERT INTO falvideo_jobs (job_key, journal_id, status, first_time, updated_time, state, idem_key, submitted_time, unfinished, machine, user_name) " +
                    "SELECT u.key, u.jid, u.status, u.first, u.time, u.state, u.idem, u.submitted, u.unfinished, u.machine, u.usr " +
                    "FROM unnest(@key, @jid, @status, @first, @time, @state, @idem, @submitted, @unfinished, @machine, @usr) WITH ORDINALITY AS u(key, jid, status, first, time, state, idem, submitted, unfinished, machine, usr, ord) " +
                    "ORDER BY u.ord",
                    [("first", NpgsqlDbType.Array | NpgsqlDbType.Bigint, _inserted.Select(r => r.FirstTime).ToArray()), .. Columns(_inserted, isNew: true),
                     // The submitter the job's own record names (FalJob.Machine/User), so a copied job keeps its own.
                     ("machine", NpgsqlDbType.Array | NpgsqlDbType.Text, _inserted.Select(r => r.Job!.Machine).ToArray()),
                     ("usr", NpgsqlDbType.Array | NpgsqlDbType.Text, _inserted.Select(r => r.Job!.User).ToArray())]));
            }
            // Each entry finds its job by the key the row ends the batch with (unique), so new rows need no seq back.
            batch.BatchCommands.Add(Command(
                "INSERT INTO falvideo_entries (job_seq, kind, time, line) SELECT j.seq, e.kind, e.time, e.line " +
                "FROM unnest(@key, @kind, @time, @line) WITH ORDINALITY AS e(key, kind, time, line, ord) JOIN falvideo_jobs j ON j.job_key = e.key ORDER BY e.ord",
                ("key", NpgsqlDbType.Array | NpgsqlDbType.Text, _entries.Select(x => x.Row.Key).ToArray()),
                ("kind", NpgsqlDbType.Array | NpgsqlDbType.Text, _entries.Select(x => x.Kind).ToArray()),
                ("time", NpgsqlDbType.Array | NpgsqlDbType.Bigint, _entries.Select(x => x.Time).ToArray()),
                ("line", NpgsqlDbType.Array | NpgsqlDbType.Text, _entries.Select(x => x.Line).ToArray())));
            batch.ExecuteNonQuery();
        }

        /// <summary>The columns a row ends the batch with, as arrays in <paramref name="rows"/>' order: its state is
        /// serialised once, from the last entry applied.</summary>
        private static (string, NpgsqlDbType, object)[] Columns(List<Row> rows, bool isNew) =>
        [
            ("key", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.Key).ToArray()),
            ("jid", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.Job!.JournalId).ToArray()),
            ("status", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.Job!.Status.ToString()).ToArray()),
            ("time", NpgsqlDbType.Array | NpgsqlDbType.Bigint, rows.Select(r => r.LastTime).ToArray()),
            ("state", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => JobJournal.Serialize(JobJournal.StateOf(r.Job!, DateTimeOffset.FromUnixTimeMilliseconds(r.LastTime)))).ToArray()),
            ("idem", NpgsqlDbType.Array | NpgsqlDbType.Text, rows.Select(r => r.Job!.IdempotencyKey).ToArray()),
            // A submission time never moves once known: a row first recorded without one keeps the time it was first
            // recorded until an entry names it (as the SQLite store).
            ("submitted", NpgsqlDbType.Array | NpgsqlDbType.Bigint, rows.Select(r => r.Job!.SubmittedAt != default ? r.Job.SubmittedAt.ToUnixTimeMilliseconds() : isNew ? r.FirstTime : (long?)null).ToArray()),
            ("unfinished", NpgsqlDbType.Array | NpgsqlDbType.Smallint, rows.Select(r => Unfinished(r.Job!)).ToArray()),
        ];

        private static NpgsqlBatchCommand Command(string sql, params (string Name, NpgsqlDbType Type, object Value)[] parameters)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var (name, type, value) in parameters) command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value });
            return command;
        }

        /// <summary>A record's entry (parsed from its line only when it was not captured in this process) and its line.</summary>
        public static (JobJournal.JournalEntry? Entry, string Text) Entry(JournalRecord record)
        {
            var text = Encoding.UTF8.GetString(record.Line).TrimEnd('\n');
            return (record.Entry ?? JobJournal.Parse(text), text);
        }

        private static string? AheadKey(JobJournal.JournalEntry e) =>
            e.RequestId is { Length: > 0 } && e.JournalId is { Length: > 0 } jid ? "journal:" + jid : null;
    }

    // The unfinished column, as in the SQLite store: 1 open, 2 completed but not saved, 3 ambiguous, NULL finished.
    private static short? Unfinished(FalJob job)
    {
        if (UnfinishedJobs.IsOpen(job)) return string.IsNullOrEmpty(job.RequestId) ? (short)3 : (short)1;
        return UnfinishedJobs.IsUnsaved(job) ? (short)2 : null;
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
    /// <remarks>Writes <c>2000</c> entries per transaction on a connection of its own, each transaction in the group
    /// commit's three round trips (rows read and locked, everything written, commit); each commit is durable.</remarks>
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
                var entries = chunk.Select(BatchWriter.Entry).ToList();
                var writer = new BatchWriter(connection, transaction);
                writer.Read(entries, []);
                foreach (var entry in entries)
                {
                    if (writer.Apply(entry)) written++;
                }
                writer.Write();
                transaction.Commit();
            }
            return written;
        }, retry: false);
    }

    // ---- Plumbing ----

    private List<FalJob> Query(string sql, Action<NpgsqlCommand>? parameters, Action<string>? warn)
    {
        Interlocked.Increment(ref s_queries.GetOrAdd(_connectionString, static _ => new long[1])[0]);
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
        var connection = Source.CreateConnection();
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
        // One round trip when the schema is there at this version (every use but the first ever and a migration):
        // the version table read without a transaction or the lock. A missing table (42P01) is an empty store to a
        // read; anything else goes through the locked transaction below.
        int? current = null;
        try
        {
            using var read = new NpgsqlCommand("SELECT max(version) FROM falvideo_schema", connection);
            current = read.ExecuteScalar() is int v ? v : null;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            if (!create) return false;
        }
        if (current > SchemaVersion)
            throw new IOException($"The job store {FilePath} was written by a newer FalVideo (schema {current}; this one knows {SchemaVersion}). " +
                                  "Update the FalVideo module on this machine to use it.");
        if (current == SchemaVersion)
        {
            s_ready[_connectionString] = true;
            return true;
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
                // while the server may be coming back (a restart, a failover), then reported. A unique violation
                // (23505) is another process inserting a job row this commit did not find: run again, it finds it.
                var transient = ex is NpgsqlException { IsTransient: true } || (ex is PostgresException pg && pg.SqlState is "57P01" or "57P02" or "57P03" or "40P01" or "40001" or "23505");
                if (retry && transient && DateTime.UtcNow - started < RetryWindow)
                {
                    Source.Clear();
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
