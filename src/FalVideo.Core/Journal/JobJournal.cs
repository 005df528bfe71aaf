using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// An append-only local record of every accepted fal request, so a paid job is never lost: the submit
/// entry is written and flushed to disk before the job object is emitted, and status changes, errors and saved
/// paths follow. One JSON object per line (JSON Lines, UTF-8). The API key is never part of an entry.
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
public sealed class JobJournal
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

    /// <summary>How long an append or rewrite waits for another process's lock before giving up.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(15);

    private static readonly JsonSerializerOptions s_json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    // Threads of one process take this first, so they queue here instead of spinning on the file lock.
    private static readonly object s_gate = new();

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
    /// Records a state of <paramref name="job"/> and flushes it to disk. <paramref name="entryKind"/> is
    /// <c>submitted</c>, <c>status</c>, <c>error</c>, <c>saved</c>, <see cref="CancelRequestedEntry"/> or <see cref="AmbiguousEntry"/>;
    /// the submission kinds also record the prompt and input. A job without a request id (an ambiguous submission)
    /// gets a new <see cref="FalJob.JournalId"/> here when it has none.
    /// </summary>
    /// <param name="entryKind">What happened.</param>
    /// <param name="job">The job as it is now.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    /// <exception cref="IOException">The journal cannot be written, or another process held its lock for 15 s.</exception>
    /// <exception cref="UnauthorizedAccessException">The journal or its folder is not writable.</exception>
    public void Append(string entryKind, FalJob job, string? savedPath = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (string.IsNullOrEmpty(job.RequestId)) job.JournalId ??= Guid.NewGuid().ToString("N");
        var submission = entryKind is "submitted" or AmbiguousEntry or SubmittingEntry;
        var entry = new JournalEntry
        {
            Entry = entryKind, Time = DateTimeOffset.UtcNow, RequestId = NullIfEmpty(job.RequestId), JournalId = job.JournalId,
            EndpointId = job.EndpointId, Model = job.Model, Mode = job.Mode, Id = job.Id,
            Status = entryKind == CancelRequestedEntry ? null : job.Status,
            Prompt = submission ? job.Prompt : null, DurationSeconds = job.DurationSeconds, EstimatedCostUsd = job.EstimatedCostUsd,
            SubmittedAt = job.SubmittedAt, StatusUrl = job.StatusUrl, ResponseUrl = job.ResponseUrl, CancelUrl = job.CancelUrl,
            Input = submission ? job.Input : null, VideoUrl = job.VideoUrl, Error = job.Error, ErrorType = job.ErrorType,
            LastError = job.LastError, SavedPath = NullIfEmpty(savedPath),
        };
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, s_json) + "\n");
        lock (s_gate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
            using var held = AcquireLock();
            using var stream = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var torn = false;
            if (stream.Length > 0)
            {
                stream.Seek(-1, SeekOrigin.End);
                torn = stream.ReadByte() != '\n';
            }
            stream.Seek(0, SeekOrigin.End);
            // One write of a whole line (after a newline that closes a torn line), then a flush through to the disk.
            stream.Write(torn ? [(byte)'\n', .. line] : line);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>The latest known state of every request in the journal, in the order first recorded. A torn line
    /// (a process killed mid-write) is skipped and reported through <paramref name="warn"/>.</summary>
    /// <param name="warn">Receives one message per unreadable line.</param>
    /// <exception cref="IOException">The journal exists but cannot be read.</exception>
    public IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null)
    {
        var jobs = new Dictionary<string, FalJob>(StringComparer.Ordinal);
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
            // The latest entry speaks for the module's own last error: a later status or save clears it.
            job.LastError = e.LastError;
        }
        return jobs.Values.ToList();
    }

    /// <summary>
    /// Forgets <paramref name="jobs"/>: every entry of each (matched by <see cref="KeyOf(FalJob)"/>) is removed. Only the local
    /// journal changes; nothing is sent to fal. The journal is rewritten safely: the kept lines go to a new file beside
    /// it, which is flushed to disk and then renamed over the journal in one step, under the journal's lock, so a
    /// crash leaves either the old or the new journal and no concurrent append is lost. Unreadable lines are kept.
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
        lock (s_gate)
        {
            if (!File.Exists(FilePath)) return 0;
            using var held = AcquireLock();
            var removed = 0;
            var kept = new MemoryStream();
            foreach (var line in File.ReadAllText(FilePath, Encoding.UTF8).Split('\n'))
            {
                if (line.Length == 0) continue;
                if (Parse(line) is { } e && KeyOf(e) is { } key && keys.Contains(key))
                {
                    removed++;
                    continue;
                }
                kept.Write(Encoding.UTF8.GetBytes(line + "\n"));
            }
            if (removed == 0) return 0;

            var temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(FilePath)!, $".{System.IO.Path.GetFileName(FilePath)}.{Guid.NewGuid():N}.tmp");
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    kept.Position = 0;
                    kept.CopyTo(file);
                    file.Flush(flushToDisk: true);
                }
                File.Move(temp, FilePath, overwrite: true);
            }
            finally
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            return removed;
        }
    }

    private static JournalEntry? Parse(string line)
    {
        try { return JsonSerializer.Deserialize<JournalEntry>(line, s_json); }
        catch (JsonException) { return null; }
    }

    private static string? KeyOf(JournalEntry e) =>
        e.RequestId is { Length: > 0 } id ? id : e.JournalId is { Length: > 0 } local ? "journal:" + local : null;

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    /// <summary>Takes the cross-process lock: an exclusive open of the lock file (an OS lock on Windows, flock on Unix).</summary>
    private FileStream AcquireLock()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            }
            catch (IOException) when (clock.Elapsed < LockTimeout && File.Exists(LockPath))
            {
                // Another process is writing; its lines are short, so it is done within milliseconds.
                Thread.Sleep(Random.Shared.Next(1, 8));
            }
        }
    }

    private sealed class JournalEntry
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
    }
}
