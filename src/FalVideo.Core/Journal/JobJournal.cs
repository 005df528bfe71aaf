using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// An append-only local record of every accepted fal request, so a paid job is never lost: the submit
/// entry is written and flushed to disk before the job object is emitted, and status changes follow.
/// One JSON object per line (JSON Lines, UTF-8). The API key is never part of an entry.
/// Default file: <c>%LOCALAPPDATA%/FalVideo/journal.jsonl</c> (on Linux <c>~/.local/share/FalVideo/journal.jsonl</c>);
/// overridden by the <c>FALVIDEO_JOURNAL</c> environment variable or a session setting.
/// </summary>
public sealed class JobJournal
{
    /// <summary>Environment variable naming the journal file.</summary>
    public const string PathVariable = "FALVIDEO_JOURNAL";

    private static readonly JsonSerializerOptions s_json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };
    private static readonly object s_gate = new();

    /// <summary>Opens (without creating yet) the journal at <paramref name="path"/>.</summary>
    public JobJournal(string path) => FilePath = System.IO.Path.GetFullPath(path);

    /// <summary>Full path of the journal file.</summary>
    public string FilePath { get; }

    /// <summary>The default location: <c>FALVIDEO_JOURNAL</c>, else the user's local application data.</summary>
    public static string DefaultPath() =>
        Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } p
            ? p
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
                "FalVideo", "journal.jsonl");

    /// <summary>Records a state of <paramref name="job"/> (<paramref name="entryKind"/>: submitted, status, saved…) and flushes it to disk.</summary>
    /// <exception cref="IOException">The journal cannot be written.</exception>
    public void Append(string entryKind, FalJob job, string? savedPath = null)
    {
        var entry = new JournalEntry
        {
            Entry = entryKind, Time = DateTimeOffset.UtcNow, RequestId = job.RequestId, EndpointId = job.EndpointId,
            Model = job.Model, Mode = job.Mode, Id = job.Id, Status = job.Status, Prompt = entryKind == "submitted" ? job.Prompt : null,
            DurationSeconds = job.DurationSeconds, EstimatedCostUsd = job.EstimatedCostUsd, SubmittedAt = job.SubmittedAt,
            StatusUrl = job.StatusUrl, ResponseUrl = job.ResponseUrl, CancelUrl = job.CancelUrl,
            Input = entryKind == "submitted" ? job.Input : null, VideoUrl = job.VideoUrl, Error = job.Error, ErrorType = job.ErrorType,
            SavedPath = savedPath,
        };
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, s_json) + "\n");
        lock (s_gate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
            // One write of a whole line in append mode, then a flush through to the disk.
            using var stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>The latest known state of every request in the journal, oldest submission first. A torn line is skipped and reported.</summary>
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
            JournalEntry? e;
            try { e = JsonSerializer.Deserialize<JournalEntry>(line, s_json); }
            catch (JsonException) { warn?.Invoke($"Journal {FilePath} line {lineNumber} is incomplete and was skipped."); continue; }
            if (e?.RequestId is not { Length: > 0 }) continue;
            if (!jobs.TryGetValue(e.RequestId, out var job)) jobs[e.RequestId] = job = new FalJob { RequestId = e.RequestId };
            job.EndpointId = e.EndpointId ?? job.EndpointId;
            job.Model = e.Model ?? job.Model;
            job.Mode = e.Mode ?? job.Mode;
            job.Id = e.Id ?? job.Id;
            job.Status = e.Status ?? job.Status;
            job.Prompt = e.Prompt ?? job.Prompt;
            job.DurationSeconds = e.DurationSeconds ?? job.DurationSeconds;
            job.EstimatedCostUsd = e.EstimatedCostUsd ?? job.EstimatedCostUsd;
            if (e.SubmittedAt is { } at) job.SubmittedAt = at;
            job.StatusUrl = e.StatusUrl ?? job.StatusUrl;
            job.ResponseUrl = e.ResponseUrl ?? job.ResponseUrl;
            job.CancelUrl = e.CancelUrl ?? job.CancelUrl;
            job.Input = e.Input ?? job.Input;
            job.VideoUrl = e.VideoUrl ?? job.VideoUrl;
            job.Error = e.Error ?? job.Error;
            job.ErrorType = e.ErrorType ?? job.ErrorType;
        }
        return jobs.Values.ToList();
    }

    private sealed class JournalEntry
    {
        [JsonPropertyName("entry")] public string Entry { get; init; } = "";
        [JsonPropertyName("time")] public DateTimeOffset Time { get; init; }
        [JsonPropertyName("request_id")] public string? RequestId { get; init; }
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
        [JsonPropertyName("saved_path")] public string? SavedPath { get; init; }
    }
}
