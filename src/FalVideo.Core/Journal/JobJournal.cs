using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// An append-only local record of every accepted fal request, so a paid job is never lost: the submit
/// entry is written and flushed to disk before the job object is emitted, and status changes, errors and saved
/// paths follow (status changes and errors are written but not forced to the disk: see <see cref="MustReachDisk"/>).
/// One JSON object per line (JSON Lines, UTF-8). The API key is never part of an entry.
/// Default file: <c>%LOCALAPPDATA%/FalVideo/journal.jsonl</c> (on Linux <c>~/.local/share/FalVideo/journal.jsonl</c>);
/// overridden by the <c>FALVIDEO_JOURNAL</c> environment variable or a session setting.
/// </summary>
/// <remarks>
/// Several processes may write one journal at once (parallel runbooks). Every append and every rewrite holds an
/// exclusive lock on <c>&lt;journal&gt;.lock</c> beside the file (an OS file lock, released by the OS if the
/// process dies), so each entry lands as one whole line and a rewrite never drops a line appended meanwhile.
/// .NET's <c>FileMode.Append</c> alone is not enough: on Unix it writes at an offset fixed when the file was
/// opened, not with <c>O_APPEND</c>, so two processes can overwrite each other's lines. A process killed mid-write
/// leaves at most one torn line, which readers skip with a warning; the next append starts on a fresh line so the
/// torn one never swallows a good entry.
/// </remarks>
public sealed class JobJournal : IJobStore
{
    /// <summary>Environment variable naming the journal file.</summary>
    public const string PathVariable = "FALVIDEO_JOURNAL";

    /// <summary>Entry kind of a submission that may or may not have reached fal (no request id is known).</summary>
    public const string AmbiguousEntry = "ambiguous";

    /// <summary>
    /// Entry kind written just before a submit is sent (write-ahead): if the process dies before fal's answer is
    /// journaled, the row is still on disk, listed with status Unknown, prompt and input. The <c>submitted</c> (or
    /// <c>rejected</c>) entry that follows carries the same <see cref="FalJob.JournalId"/> and supersedes it.
    /// </summary>
    public const string SubmittingEntry = "submitting";

    /// <summary>Entry kind of a submission fal refused or never received (status Rejected).</summary>
    public const string RejectedEntry = "rejected";

    /// <summary>Entry kind of an accepted cancel request. It records no status: fal removes a queued request but only
    /// signals a running one, which may still finish, so the last known state stands until fal reports the outcome.</summary>
    public const string CancelRequestedEntry = "cancel_requested";

    /// <summary>Entry kind written before a video is downloaded: a save was asked for, into <see cref="FalJob.SaveDirectory"/>.
    /// A completed job with this entry and no <c>saved</c> one is unfinished for the user (<c>Get-FalJob -Unfinished</c>),
    /// and the resume saves it to the same folder.</summary>
    public const string SaveRequestedEntry = "save_requested";

    /// <summary>How long an append or rewrite waits for another process's lock before giving up.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(15);

    // Source-generated (JournalJsonContext below): the (de)serialization code is compiled with this assembly, so a new
    // session does not spend its first journal write building System.Text.Json's reflection-based converters.
    private static readonly JsonTypeInfo<JournalEntry> s_entryInfo = JournalJsonContext.Default.JournalEntry;

    // The default encoder, as JsonSerializer uses it, so lines look as they always did.
    private static readonly JsonWriterOptions s_writerOptions = new() { Indented = false };

    // Threads of one process take their file's gate first, so they queue here instead of spinning on the file lock. One
    // per file: a journal whose lock another process holds (up to LockTimeout) must not hold up another journal's writes.
    private static readonly ConcurrentDictionary<string, object> s_gates = new(StringComparer.Ordinal);

    private object Gate => s_gates.GetOrAdd(FilePath, static _ => new object());

    /// <summary>Opens (without creating yet) the journal at <paramref name="path"/>.</summary>
    public JobJournal(string path) => FilePath = System.IO.Path.GetFullPath(path);

    /// <summary>Full path of the journal file.</summary>
    public string FilePath { get; }

    /// <summary>The lock file beside the journal (<c>&lt;journal&gt;.lock</c>); kept, never deleted, because deleting a
    /// lock file while another process waits for it would let two writers in.</summary>
    public string LockPath => FilePath + ".lock";

    /// <summary>The default location: <c>FALVIDEO_JOURNAL</c>, else the user's local application data.</summary>
    public static string DefaultPath() =>
        Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } p
            ? p
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
                "FalVideo", "journal.jsonl");

    /// <summary>The key that identifies a job's entries: its request id, or for a submission without one (ambiguous)
    /// <c>journal:&lt;JournalId&gt;</c>.</summary>
    public static string KeyOf(FalJob job) =>
        job.RequestId is { Length: > 0 } id ? id : "journal:" + job.JournalId;

    /// <summary>
    /// Records a state of <paramref name="job"/>; returns once the line is written, and for every kind but
    /// <c>status</c> and <c>error</c> (see <see cref="MustReachDisk"/>) once it is flushed to the disk.
    /// <paramref name="entryKind"/> is <c>submitted</c>, <c>status</c>, <c>error</c>, <c>saved</c>,
    /// <see cref="SubmittingEntry"/>, <see cref="RejectedEntry"/>, <see cref="CancelRequestedEntry"/> or <see cref="AmbiguousEntry"/>;
    /// the submission kinds also record the prompt and input. A job without a request id (an ambiguous submission)
    /// gets a new <see cref="FalJob.JournalId"/> here when it has none. Appends from several threads at once are
    /// group-committed: written together and flushed to disk once (see <see cref="AppendAsync"/>).
    /// </summary>
    /// <param name="entryKind">What happened.</param>
    /// <param name="job">The job as it is now.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    /// <exception cref="IOException">The journal cannot be written, or another process held its lock for 15 s.</exception>
    /// <exception cref="UnauthorizedAccessException">The journal or its folder is not writable.</exception>
    public void Append(string entryKind, FalJob job, string? savedPath = null) =>
        AppendAsync(entryKind, job, savedPath).GetAwaiter().GetResult();

    /// <summary>
    /// The same as <see cref="Append"/>, without blocking the calling thread while another thread's write is on its
    /// way to the disk. The task completes when this entry is written (and, for the kinds that must reach the disk,
    /// flushed there). Concurrent appends to one journal file in this process are group-committed: the first caller
    /// writes every entry queued so far as one write under one lock, with one flush to disk, and the others wait for
    /// that flush instead of each paying for their own. Each entry is still on disk before its own task completes, so
    /// a caller that awaits a write-ahead entry before sending a request keeps that guarantee.
    /// </summary>
    /// <param name="entryKind">What happened.</param>
    /// <param name="job">The job as it is now; its state is captured before this method returns.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    /// <returns>A task that fails with <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when the
    /// journal cannot be written.</returns>
    public Task AppendAsync(string entryKind, FalJob job, string? savedPath = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        return WriterFor(FilePath).Enqueue((Capture(entryKind, job, savedPath), this));
    }

    /// <inheritdoc />
    /// <remarks>The journal has no transaction to check a claim in: it writes the record (its callers looked the key
    /// up before) and the claim holds.</remarks>
    public async Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await AppendAsync(SubmittingEntry, job).ConfigureAwait(false);
        claim.Settle();
        return null;
    }

    /// <summary>
    /// Captures an entry now (the job's state as it is at this moment), to be appended later with others in one
    /// write by <see cref="AppendMany"/>. A job without a request id gets a <see cref="FalJob.JournalId"/> here.
    /// </summary>
    /// <param name="entryKind">What happened (see <see cref="Append"/>).</param>
    /// <param name="job">The job as it is now.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    public static JournalRecord Capture(string entryKind, FalJob job, string? savedPath = null)
    {
        var line = Line(entryKind, job, savedPath, out var entry);
        return new(line, MustReachDisk(entryKind), entry);
    }

    /// <summary>
    /// Appends captured entries, in order, with one write under one lock and at most one flush to disk (when any of
    /// them must reach it): what a wait that saw many jobs change at the same moment records.
    /// </summary>
    /// <param name="records">Entries from <see cref="Capture"/>.</param>
    /// <exception cref="IOException">The journal cannot be written, or another process held its lock for 15 s.</exception>
    /// <exception cref="UnauthorizedAccessException">The journal or its folder is not writable.</exception>
    public void AppendMany(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: true).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records) => EnqueueMany(records, writeHere: false);

    private Task EnqueueMany(IReadOnlyCollection<JournalRecord> records, bool writeHere)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return Task.CompletedTask;
        var (block, durable) = Join(records);
        return WriterFor(FilePath).Enqueue((new JournalRecord(block, durable), this), writeHere);
    }

    /// <summary>Entries as one block, in order (the one entry's own line when there is one), and whether any must reach the disk.</summary>
    private static (byte[] Block, bool Durable) Join(IReadOnlyCollection<JournalRecord> records)
    {
        var total = 0;
        var durable = false;
        foreach (var r in records)
        {
            total += r.Line.Length;
            durable |= r.MustReachDisk;
        }
        if (records.Count == 1) return (records.First().Line, durable);
        var block = new byte[total];
        var at = 0;
        foreach (var r in records)
        {
            r.Line.CopyTo(block, at);
            at += r.Line.Length;
        }
        return (block, durable);
    }

    /// <summary>
    /// Whether an entry of this kind is flushed to the disk before <see cref="Append"/> returns. Every kind is, except
    /// <c>status</c> and <c>error</c>: those are handed to the operating system (so they survive the process being
    /// killed, and other processes see them at once) but not forced to the disk, because losing one to a power cut
    /// loses nothing: the job is still resumable from its <c>submitted</c> entry, and the next wait asks fal again.
    /// </summary>
    /// <param name="entryKind">An entry kind, e.g. <c>submitted</c>.</param>
    public static bool MustReachDisk(string entryKind) => entryKind is not ("status" or "error");

    /// <summary>One entry as a whole UTF-8 JSON line, newline included.</summary>
    private static byte[] Line(string entryKind, FalJob job, string? savedPath, out JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (string.IsNullOrEmpty(job.RequestId)) job.JournalId ??= Guid.NewGuid().ToString("N");
        var submission = entryKind is "submitted" or AmbiguousEntry or SubmittingEntry;
        entry = new JournalEntry
        {
            Entry = entryKind, Time = DateTimeOffset.UtcNow, RequestId = NullIfEmpty(job.RequestId), JournalId = job.JournalId,
            EndpointId = job.EndpointId, Model = job.Model, Mode = job.Mode, Id = job.Id,
            Status = entryKind == CancelRequestedEntry ? null : job.Status,
            Prompt = submission ? job.Prompt : null, DurationSeconds = job.DurationSeconds, EstimatedCostUsd = job.EstimatedCostUsd,
            SubmittedAt = job.SubmittedAt, StatusUrl = job.StatusUrl, ResponseUrl = job.ResponseUrl, CancelUrl = job.CancelUrl,
            Input = submission ? job.Input : null, VideoUrl = job.VideoUrl, Error = job.Error, ErrorType = job.ErrorType,
            LastError = job.LastError, SavedPath = NullIfEmpty(savedPath), IdempotencyKey = submission ? job.IdempotencyKey : null,
            SaveDirectory = NullIfEmpty(job.SaveDirectory), RouteReason = submission ? job.RouteReason : null,
            SubmitOptions = submission && job.SubmitOptions is { IsEmpty: false } options ? options : null,
            BillableUnits = job.BillableUnits, QueueHost = job.QueueHost,
            Machine = submission ? job.Machine : null, User = submission ? job.User : null,
        };
        // One buffer and writer per thread, reused: the writer sizes its requests for the worst-case escaping of every
        // string (six bytes a character), so a fresh buffer per line would be regrown several times.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(buffer, s_writerOptions);
        json.Reset(buffer);
        JsonSerializer.Serialize(json, entry, s_entryInfo);
        json.Flush();
        buffer.Write("\n"u8);
        var line = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > MaxKeptBuffer)
        {
            // A rare huge entry (a long multi-shot input) does not pin its buffer for the life of the thread.
            t_buffer = null;
            t_writer = null;
        }
        return line;
    }

    private const int MaxKeptBuffer = 256 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// Writes entries queued as whole lines, under the cross-process lock: one write for the batch (after a newline
    /// that closes a torn line), then a flush through to the disk when any of them must reach it. The flush stays
    /// inside the lock and one batch at a time: letting the next batch's flush start while this one runs was measured
    /// slower on ext4 (more flushes, each waiting on the other), and the batches grow while a flush runs anyway.
    /// </summary>
    private void WriteBlock(ReadOnlySpan<byte> block, bool flushToDisk)
    {
        lock (Gate)
        {
            if (!File.Exists(FilePath))
            {
                // The journal holds prompts and inputs: its folder (when created here), the journal and its lock file
                // are owner-only, as the SQLite store's are.
                OwnerOnly.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
                OwnerOnly.CreateFile(LockPath);
                OwnerOnly.CreateFile(FilePath);
            }
            using var held = AcquireLock();
            // bufferSize 1: the batch goes to the file in one write call, not through a 4 KB buffer (.NET Framework refuses
            // 0, which .NET takes for the same).
            using var stream = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            WriteAtEnd(stream, block);
            if (flushToDisk) stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>One write of a whole block at the end, after a newline that closes a torn line.</summary>
    private static void WriteAtEnd(FileStream stream, ReadOnlySpan<byte> block)
    {
        var torn = false;
        if (stream.Length > 0)
        {
            stream.Seek(-1, SeekOrigin.End);
            torn = stream.ReadByte() != '\n';
        }
        stream.Seek(0, SeekOrigin.End);
        if (torn)
        {
            var whole = new byte[block.Length + 1];
            whole[0] = (byte)'\n';
            block.CopyTo(whole.AsSpan(1));
            stream.Write(whole);
        }
        else
        {
            stream.Write(block);
        }
    }

    /// <summary>The group commit of each journal file in this process (<see cref="GroupCommit{T}"/>): entries for
    /// different JobJournal objects of the same file are one file, and any of them can write it.</summary>
    private static readonly ConcurrentDictionary<string, GroupCommit<(JournalRecord Record, JobJournal Journal)>> s_writers =
        new(StringComparer.Ordinal);

    private static GroupCommit<(JournalRecord Record, JobJournal Journal)> WriterFor(string path) =>
        s_writers.GetOrAdd(path, _ => new(static batch =>
        {
            var (block, durable) = Join(batch.ConvertAll(p => p.Record));
            batch[0].Journal.WriteBlock(block, durable);
        }));

    /// <summary>The latest known state of every request in the journal, in the order first recorded. A torn line
    /// (a process killed mid-write) is skipped and reported through <paramref name="warn"/>.</summary>
    /// <param name="warn">Receives one message per unreadable line.</param>
    /// <exception cref="IOException">The journal exists but cannot be read.</exception>
    public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null)
    {
        var jobs = new Dictionary<string, FalJob>(StringComparer.Ordinal);
        if (Directory.Exists(FilePath)) throw JobStore.IsAFolder(FilePath);
        if (!File.Exists(FilePath)) return [];
        using var stream = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            if (Parse(line) is not { } e)
            {
                warn?.Invoke($"Journal {FilePath} line {lineNumber} is incomplete (a process was probably stopped while writing it) and was skipped.");
                continue;
            }
            if (KeyOf(e) is not { } key) continue;
            // A submit's answer names the write-ahead entry it completes: the job moves to its request id.
            if (e.RequestId is { Length: > 0 } && e.JournalId is { Length: > 0 } && !jobs.ContainsKey(key)
                && jobs.Remove("journal:" + e.JournalId, out var ahead))
            {
                ahead.RequestId = e.RequestId;
                jobs[key] = ahead;
            }
            if (!jobs.TryGetValue(key, out var job))
                jobs[key] = job = new FalJob { RequestId = e.RequestId ?? "", JournalId = e.JournalId };
            Apply(job, e);
        }
        return jobs.Values.ToList();
    }

    /// <summary>
    /// Forgets <paramref name="jobs"/>: every entry of each (matched by <see cref="KeyOf(FalJob)"/>) is removed. Only the local
    /// journal changes; nothing is sent to fal. The journal is rewritten as <see cref="Prune"/> rewrites it: streamed,
    /// with the lock held only to copy what was appended meanwhile and rename. Unreadable lines are kept.
    /// </summary>
    /// <param name="jobs">The jobs to forget.</param>
    /// <returns>The number of entries (lines) removed.</returns>
    /// <exception cref="IOException">The journal cannot be rewritten, or another process held its lock for 15 s.</exception>
    /// <exception cref="UnauthorizedAccessException">The journal or its folder is not writable.</exception>
    public int Remove(IEnumerable<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var list = jobs.ToList();
        // A job's write-ahead line is keyed by its journal id until fal's answer names the request id.
        var keys = list.Select(KeyOf).Concat(list.Where(j => j.JournalId is { Length: > 0 }).Select(j => "journal:" + j.JournalId))
            .ToHashSet(StringComparer.Ordinal);
        if (keys.Count == 0) return 0;
        return (int)Rewrite((key, _) => keys.Contains(key)).Lines;
    }

    /// <inheritdoc />
    /// <remarks>Reads the journal once, keeping a small mark (status, submission time) per job.</remarks>
    public long Count(JobFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.IsEmpty || !File.Exists(FilePath)) return 0;
        using var stream = OpenForReading();
        return Marks(stream, stream.Length).Values.Distinct().LongCount(m => filter.Matches(m.Status, m.Submitted, m.Machine, m.User));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Streams the rewrite: a first read (without the lock) marks the jobs to forget, keeping a small mark per job; a
    /// second copies every other line to a new file beside the journal; then, under the lock, the lines appended since
    /// the first read are copied too (those of a forgotten job dropped), the new file is flushed to disk and renamed
    /// over the journal in one step. Appenders wait only for that last step. A second lock file
    /// (<c>&lt;journal&gt;.rewrite.lock</c>) keeps two rewrites from running at once.
    /// </remarks>
    public long Prune(JobFilter filter, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.IsEmpty) return 0;
        var forgotten = Rewrite((_, mark) => mark is not null && filter.Matches(mark.Status, mark.Submitted, mark.Machine, mark.User)).Jobs;
        progress?.Invoke(forgotten);
        return forgotten;
    }

    /// <summary>A job's status and submission time as a pass over the journal leaves them.</summary>
    private sealed class JobMark
    {
        public FalJobStatus Status;
        public DateTimeOffset Submitted;
        public string? Machine, User;
        public bool Forget;
    }

    /// <summary>The mark of every job in the first <paramref name="end"/> bytes, by each key its lines use (a write-ahead
    /// job's journal key and its request id name the same mark).</summary>
    private static Dictionary<string, JobMark> Marks(FileStream stream, long end)
    {
        var marks = new Dictionary<string, JobMark>(StringComparer.Ordinal);
        foreach (var line in Lines(stream, 0, end))
        {
            if (Parse(line) is not { } e || KeyOf(e) is not { } key) continue;
            if (!marks.TryGetValue(key, out var mark))
            {
                if (e.RequestId is { Length: > 0 } && e.JournalId is { Length: > 0 } jid && marks.TryGetValue("journal:" + jid, out var ahead))
                    mark = ahead;
                else
                    mark = new JobMark { Submitted = e.Time };
                marks[key] = mark;
            }
            mark.Status = e.Status ?? mark.Status;
            if (e.SubmittedAt is { } at && at != default) mark.Submitted = at;
            mark.Machine = e.Machine ?? mark.Machine;
            mark.User = e.User ?? mark.User;
        }
        return marks;
    }

    /// <summary>
    /// Rewrites the journal without the jobs <paramref name="forget"/> picks (given each key and its mark). Returns
    /// the number of lines and of jobs removed.
    /// </summary>
    private (long Lines, long Jobs) Rewrite(Func<string, JobMark?, bool> forget)
    {
        if (!File.Exists(FilePath)) return (0, 0);
        using var rewriting = AcquireLock(FilePath + ".rewrite.lock");
        long snapshot;
        lock (Gate)
        {
            // Under the append lock: an append's block is never half-counted.
            using (AcquireLock(LockPath)) snapshot = new FileInfo(FilePath).Length;
        }
        Dictionary<string, JobMark> marks;
        using (var stream = OpenForReading()) marks = Marks(stream, snapshot);
        long jobs = 0;
        foreach (var pair in marks)
        {
            if (pair.Value.Forget || !forget(pair.Key, pair.Value)) continue;
            pair.Value.Forget = true;
            jobs++;
        }
        if (jobs == 0) return (0, 0);
        // A line appended meanwhile may name a job the first read did not see: Remove's keys still apply to it.
        bool Forgotten(string key) => marks.TryGetValue(key, out var m) ? m.Forget : forget(key, null);

        var folder = System.IO.Path.GetDirectoryName(FilePath)!;
        var temp = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(FilePath)}.{Guid.NewGuid():N}.tmp");
        long removed = 0;
        try
        {
            OwnerOnly.CreateFile(temp);
            using (var output = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                using (var input = OpenForReading()) removed += CopyKept(input, 0, snapshot, output, Forgotten);
                // The bulk reaches the disk before the lock is taken; under it only the few lines appended meanwhile do.
                output.Flush(flushToDisk: true);
                lock (Gate)
                {
                    using var held = AcquireLock(LockPath);
                    using (var input = OpenForReading()) removed += CopyKept(input, snapshot, input.Length, output, Forgotten);
                    output.Flush(flushToDisk: true);
                    output.Dispose();
                    if (removed > 0) File.Move(temp, FilePath, overwrite: true);
                }
            }
        }
        finally
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return (removed, jobs);
    }

    /// <summary>Copies the lines of [<paramref name="start"/>, <paramref name="end"/>) but those of forgotten jobs (kept:
    /// unreadable lines), each ending in a newline; returns the number of lines left out.</summary>
    private static long CopyKept(FileStream input, long start, long end, FileStream output, Func<string, bool> forgotten)
    {
        long removed = 0;
        foreach (var line in Lines(input, start, end))
        {
            if (Parse(line) is { } e && KeyOf(e) is { } key && forgotten(key))
            {
                removed++;
                continue;
            }
            output.Write(line, 0, line.Length);
            output.WriteByte((byte)'\n');
        }
        return removed;
    }

    /// <summary>The non-empty lines (without their newline) between two offsets; a last line without a newline (torn)
    /// included.</summary>
    private static IEnumerable<byte[]> Lines(FileStream stream, long start, long end)
    {
        stream.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        var position = start;
        while (position < end)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, end - position));
            if (read == 0) break;
            position += read;
            var from = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != '\n') continue;
                line.Write(buffer, from, i - from);
                from = i + 1;
                if (line.Length > 0) yield return line.ToArray();
                line.SetLength(0);
            }
            line.Write(buffer, from, read - from);
        }
        if (line.Length > 0) yield return line.ToArray();
    }

    private FileStream OpenForReading() =>
        new(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);

    /// <inheritdoc />
    /// <remarks>Writes about a megabyte per step under the lock, and flushes to disk once at the end.</remarks>
    public long Import(IEnumerable<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        const int Step = 1024 * 1024;
        var block = new MemoryStream();
        long count = 0;
        foreach (var record in records)
        {
            block.Write(record.Line, 0, record.Line.Length);
            count++;
            if (block.Length < Step) continue;
            WriteBlock(block.ToArray(), flushToDisk: false);
            block.SetLength(0);
        }
        WriteBlock(block.ToArray(), flushToDisk: true);
        return count;
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole journal once.</remarks>
    public IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null)
    {
        var jobs = ReadJobs(warn);
        ambiguous = jobs.Count(j => UnfinishedJobs.IsOpen(j) && string.IsNullOrEmpty(j.RequestId));
        return jobs.Where(j => UnfinishedJobs.IsOpen(j) && !string.IsNullOrEmpty(j.RequestId)).Concat(jobs.Where(UnfinishedJobs.IsUnsaved)).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole journal once.</remarks>
    public IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0) return [];
        var known = new HashSet<string>(StringComparer.Ordinal);
        if (File.Exists(FilePath))
        {
            using var stream = OpenForReading();
            foreach (var key in Marks(stream, stream.Length).Keys) known.Add(key);
        }
        return jobs.Where(j => !known.Contains(KeyOf(j))).ToList();
    }

    /// <summary>The latest known state of the jobs whose last status is one of <paramref name="statuses"/>: the whole
    /// journal is read, then filtered.</summary>
    /// <param name="statuses">The statuses wanted.</param>
    /// <param name="warn">Receives one message per unreadable line.</param>
    public IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        return ReadJobs(warn).Where(j => statuses.Contains(j.Status)).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole journal once, then keeps the jobs that match.</remarks>
    public IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(owners);
        return ReadJobs(warn).Where(j => (statuses is null || statuses.Contains(j.Status)) && owners.Matches(j)).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole journal once, then keeps the jobs with one of the keys.</remarks>
    public IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0) return [];
        var wanted = keys as ISet<string> ?? new HashSet<string>(keys, StringComparer.Ordinal);
        return ReadJobs(warn).Where(j => j.IdempotencyKey is { } k && wanted.Contains(k)).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole journal once, then keeps the jobs with one of the ids.</remarks>
    public IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        if (requestIds.Count == 0) return [];
        var wanted = new HashSet<string>(requestIds, StringComparer.Ordinal);
        return ReadJobs(warn).Where(j => wanted.Contains(j.RequestId)).ToList();
    }

    /// <summary>Brings <paramref name="job"/> to the state one entry records: what the entry says wins, what it leaves
    /// out stays (the entries of a job are transitions, not whole states).</summary>
    internal static void Apply(FalJob job, JournalEntry e)
    {
        job.EndpointId = e.EndpointId ?? job.EndpointId;
        job.Model = e.Model ?? job.Model;
        job.Mode = e.Mode ?? job.Mode;
        job.Id = e.Id ?? job.Id;
        job.Status = e.Status ?? job.Status;
        job.Prompt = e.Prompt ?? job.Prompt;
        job.DurationSeconds = e.DurationSeconds ?? job.DurationSeconds;
        job.EstimatedCostUsd = e.EstimatedCostUsd ?? job.EstimatedCostUsd;
        if (e.SubmittedAt is { } at && at != default) job.SubmittedAt = at;
        job.StatusUrl = e.StatusUrl ?? job.StatusUrl;
        job.ResponseUrl = e.ResponseUrl ?? job.ResponseUrl;
        job.CancelUrl = e.CancelUrl ?? job.CancelUrl;
        job.Input = e.Input ?? job.Input;
        job.VideoUrl = e.VideoUrl ?? job.VideoUrl;
        job.Error = e.Error ?? job.Error;
        job.ErrorType = e.ErrorType ?? job.ErrorType;
        job.SavedPath = e.SavedPath ?? job.SavedPath;
        job.IdempotencyKey = e.IdempotencyKey ?? job.IdempotencyKey;
        job.SaveDirectory = e.SaveDirectory ?? job.SaveDirectory;
        job.RouteReason = e.RouteReason ?? job.RouteReason;
        job.SubmitOptions = e.SubmitOptions ?? job.SubmitOptions;
        job.BillableUnits = e.BillableUnits ?? job.BillableUnits;
        job.QueueHost = e.QueueHost ?? job.QueueHost;
        job.Machine = e.Machine ?? job.Machine;
        job.User = e.User ?? job.User;
        // The latest entry speaks for the module's own last error: a later status or save clears it.
        job.LastError = e.LastError;
    }

    /// <summary>The whole known state of <paramref name="job"/> in the entry shape (what a store keeps per job).</summary>
    internal static JournalEntry StateOf(FalJob job, DateTimeOffset time) => new()
    {
        Entry = "state", Time = time, RequestId = NullIfEmpty(job.RequestId), JournalId = job.JournalId,
        EndpointId = job.EndpointId, Model = job.Model, Mode = job.Mode, Id = job.Id, Status = job.Status,
        Prompt = job.Prompt, DurationSeconds = job.DurationSeconds, EstimatedCostUsd = job.EstimatedCostUsd,
        SubmittedAt = job.SubmittedAt == default ? null : job.SubmittedAt, StatusUrl = job.StatusUrl, ResponseUrl = job.ResponseUrl,
        CancelUrl = job.CancelUrl, Input = job.Input, VideoUrl = job.VideoUrl, Error = job.Error, ErrorType = job.ErrorType,
        LastError = job.LastError, SavedPath = NullIfEmpty(job.SavedPath), IdempotencyKey = job.IdempotencyKey,
        SaveDirectory = NullIfEmpty(job.SaveDirectory), RouteReason = job.RouteReason, BillableUnits = job.BillableUnits,
        SubmitOptions = job.SubmitOptions is { IsEmpty: false } options ? options : null, QueueHost = job.QueueHost,
        Machine = job.Machine, User = job.User,
    };

    /// <summary>A job from a state written by <see cref="StateOf"/>.</summary>
    internal static FalJob JobOf(JournalEntry state)
    {
        var job = new FalJob { RequestId = state.RequestId ?? "", JournalId = state.JournalId };
        Apply(job, state);
        return job;
    }

    internal static string Serialize(JournalEntry entry) => JsonSerializer.Serialize(entry, s_entryInfo);

    internal static JournalEntry? Parse(ReadOnlySpan<byte> line)
    {
        try { return JsonSerializer.Deserialize(line, s_entryInfo); }
        catch (JsonException) { return null; }
    }

    internal static JournalEntry? Parse(string line)
    {
        try { return JsonSerializer.Deserialize(line, s_entryInfo); }
        catch (JsonException) { return null; }
    }

    internal static string? KeyOf(JournalEntry e) =>
        e.RequestId is { Length: > 0 } id ? id : e.JournalId is { Length: > 0 } local ? "journal:" + local : null;

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    /// <summary>Takes the cross-process lock: an exclusive open of the lock file (an OS lock on Windows, flock on Unix).</summary>
    private FileStream AcquireLock() => AcquireLock(LockPath);

    private static FileStream AcquireLock(string lockPath)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            }
            catch (IOException ex) when (File.Exists(lockPath))
            {
                // The caller's entry is not written: say why, so a write-ahead that fails names the lock, not a sharing error.
                if (clock.Elapsed >= LockTimeout)
                    throw new IOException($"another process has held the journal's lock {lockPath} for more than {LockTimeout.TotalSeconds:0} s", ex);
                // Another process is writing; its lines are short, so it is done within milliseconds.
                Thread.Sleep(Random.Shared.Next(1, 8));
            }
        }
    }

    internal sealed class JournalEntry
    {
        [JsonPropertyName("entry")] public string Entry { get; init; } = "";
        [JsonPropertyName("time")] public DateTimeOffset Time { get; init; }
        [JsonPropertyName("request_id")] public string? RequestId { get; init; }
        [JsonPropertyName("journal_id")] public string? JournalId { get; init; }
        [JsonPropertyName("endpoint_id")] public string? EndpointId { get; init; }
        [JsonPropertyName("model")] public string? Model { get; init; }
        [JsonPropertyName("mode")] public string? Mode { get; init; }
        [JsonPropertyName("id")] public string? Id { get; init; }
        [JsonPropertyName("status")] public FalJobStatus? Status { get; init; }
        [JsonPropertyName("prompt")] public string? Prompt { get; init; }
        [JsonPropertyName("duration_seconds")] public int? DurationSeconds { get; init; }
        [JsonPropertyName("estimated_cost_usd")] public decimal? EstimatedCostUsd { get; init; }
        [JsonPropertyName("submitted_at")] public DateTimeOffset? SubmittedAt { get; init; }
        [JsonPropertyName("status_url")] public string? StatusUrl { get; init; }
        [JsonPropertyName("response_url")] public string? ResponseUrl { get; init; }
        [JsonPropertyName("cancel_url")] public string? CancelUrl { get; init; }
        [JsonPropertyName("input")] public string? Input { get; init; }
        [JsonPropertyName("video_url")] public string? VideoUrl { get; init; }
        [JsonPropertyName("error")] public string? Error { get; init; }
        [JsonPropertyName("error_type")] public string? ErrorType { get; init; }
        [JsonPropertyName("last_error")] public string? LastError { get; init; }
        [JsonPropertyName("saved_path")] public string? SavedPath { get; init; }
        [JsonPropertyName("idempotency_key")] public string? IdempotencyKey { get; init; }
        [JsonPropertyName("save_directory")] public string? SaveDirectory { get; init; }
        [JsonPropertyName("route_reason")] public string? RouteReason { get; init; }
        [JsonPropertyName("submit_options")] public FalVideo.Fal.FalSubmitOptions? SubmitOptions { get; init; }
        [JsonPropertyName("billable_units")] public decimal? BillableUnits { get; init; }
        // Absent from records written before hosts were kept: those count as fal's own host (FalJob.DefaultQueueHost).
        [JsonPropertyName("queue_host")] public string? QueueHost { get; init; }
        // The submitter (FalJob.Machine, FalJob.User), on submission entries and states; absent from older records.
        [JsonPropertyName("machine")] public string? Machine { get; init; }
        [JsonPropertyName("user")] public string? User { get; init; }
    }
}

/// <summary>A journal entry captured by <see cref="JobJournal.Capture"/>: one whole JSON line, ready to append.</summary>
public readonly struct JournalRecord
{
    internal JournalRecord(byte[] line, bool mustReachDisk, JobJournal.JournalEntry? entry = null)
    {
        Line = line;
        MustReachDisk = mustReachDisk;
        Entry = entry;
    }

    internal byte[] Line { get; }

    // The entry the line was written from (its values are immutable), when captured in this process: the SQLite store
    // applies it without parsing the line back.
    internal JobJournal.JournalEntry? Entry { get; }

    internal bool MustReachDisk { get; }
}

/// <summary>The journal line's JSON shape, generated at compile time: nulls left out, statuses as their names.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(JobJournal.JournalEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
