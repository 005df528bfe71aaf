using System.Globalization;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>The queue states fal reports (PROTOCOL.md "Status"). A failed job is <see cref="Completed"/> with an error.</summary>
public enum FalQueueStatus
{
    /// <summary>A status string this client does not know; <see cref="FalStatus.RawStatus"/> keeps it.</summary>
    Unknown,

    /// <summary><c>IN_QUEUE</c>: waiting for a runner.</summary>
    InQueue,

    /// <summary><c>IN_PROGRESS</c>: running.</summary>
    InProgress,

    /// <summary><c>COMPLETED</c>: finished, successfully or not.</summary>
    Completed,
}

/// <summary>One entry of <c>logs</c>: <c>{message, level, source, timestamp}</c> (PROTOCOL.md "Status").</summary>
public sealed class FalLogEntry
{
    /// <summary>The log text.</summary>
    public required string Message { get; init; }

    /// <summary>e.g. <c>INFO</c>, <c>ERROR</c>.</summary>
    public string? Level { get; init; }

    /// <summary>e.g. <c>user</c>.</summary>
    public string? Source { get; init; }

    /// <summary>When the runner logged it (ISO 8601 text, or Unix seconds).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>One line as a log reads: <c>2026-12-01 03:04:05Z INFO message</c> (UTC time and level when fal sent them).</summary>
    public override string ToString()
    {
        var time = Timestamp is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z' ", System.Globalization.CultureInfo.InvariantCulture) : "";
        var level = string.IsNullOrEmpty(Level) ? "" : Level + " ";
        return time + level + Message;
    }
}

/// <summary>
/// One status report from <c>GET …/status</c> (HTTP 202 while waiting, 200 when done) or one event of the
/// SSE status stream (PROTOCOL.md "Status", "Status stream (SSE)"). Parsing is lenient: unknown status strings
/// and fields of an unexpected type never throw.
/// </summary>
public sealed class FalStatus
{
    /// <summary>The <c>status</c> text as sent; empty when absent.</summary>
    public required string RawStatus { get; init; }

    /// <summary><see cref="RawStatus"/> mapped to the known states.</summary>
    public required FalQueueStatus Status { get; init; }

    /// <summary>The <c>request_id</c>, else the id of the request followed.</summary>
    public required string RequestId { get; init; }

    /// <summary>Requests ahead of this one (only while <c>IN_QUEUE</c>).</summary>
    public int? QueuePosition { get; init; }

    /// <summary>The <c>logs</c> of this report (only with <c>logs=1</c>).</summary>
    public IReadOnlyList<FalLogEntry> Logs { get; init; } = [];

    /// <summary><c>metrics.inference_time</c> in seconds (on <c>COMPLETED</c>).</summary>
    public double? InferenceTimeSeconds { get; init; }

    /// <summary>The <c>error</c> text of a failed job.</summary>
    public string? Error { get; init; }

    /// <summary>The <c>error_type</c> of a failed job, e.g. <c>runner_disconnected</c>, <c>request_timeout</c>.</summary>
    public string? ErrorType { get; init; }

    /// <summary>The <c>response_url</c> when present.</summary>
    public Uri? ResponseUrl { get; init; }

    /// <summary>True once the job is over (successfully or not).</summary>
    public bool IsCompleted => Status == FalQueueStatus.Completed;

    /// <summary>True when the job completed with an <c>error</c> or <c>error_type</c>.</summary>
    public bool IsFailed => IsCompleted && (Error is not null || ErrorType is not null);

    /// <summary>Maps the wire text to <see cref="FalQueueStatus"/>.</summary>
    internal static FalQueueStatus ParseStatus(string raw) => raw.ToUpperInvariant() switch
    {
        "IN_QUEUE" => FalQueueStatus.InQueue,
        "IN_PROGRESS" => FalQueueStatus.InProgress,
        "COMPLETED" => FalQueueStatus.Completed,
        _ => FalQueueStatus.Unknown,
    };

    /// <summary>Reads a status object; <paramref name="fallbackRequestId"/> fills a missing <c>request_id</c>. The texts a
    /// job's runner or fal writes (<c>error</c>, <c>error_type</c>, log messages) are masked with <paramref name="apiKey"/>
    /// here, so nothing downstream (errors, -Verbose, the journal) can carry the key.</summary>
    internal static FalStatus FromJson(JsonObject json, string fallbackRequestId, string? apiKey)
    {
        var raw = FalJson.GetString(json, "status") ?? "";
        return new FalStatus
        {
            RawStatus = raw,
            Status = ParseStatus(raw),
            RequestId = FalJson.GetString(json, "request_id") ?? fallbackRequestId,
            QueuePosition = FalJson.GetInt(json, "queue_position"),
            Logs = ParseLogs(json["logs"], apiKey),
            InferenceTimeSeconds = json["metrics"] is JsonObject metrics ? FalJson.GetDouble(metrics, "inference_time") : null,
            Error = MaskOrNull(FalJson.GetText(json, "error"), apiKey),
            ErrorType = MaskOrNull(FalJson.GetString(json, "error_type"), apiKey),
            ResponseUrl = FalJson.GetAbsoluteUri(json, "response_url"),
        };
    }

    private static string? MaskOrNull(string? text, string? apiKey) => text is null ? null : FalCredentials.Mask(text, apiKey);

    private static List<FalLogEntry> ParseLogs(JsonNode? node, string? apiKey)
    {
        var logs = new List<FalLogEntry>();
        if (node is not JsonArray array)
        {
            return logs;
        }

        foreach (var item in array)
        {
            if (item is JsonObject entry && FalJson.GetText(entry, "message") is { } message)
            {
                logs.Add(new FalLogEntry
                {
                    Message = FalCredentials.Mask(message, apiKey),
                    Level = FalJson.GetString(entry, "level"),
                    Source = FalJson.GetString(entry, "source"),
                    Timestamp = ParseTimestamp(entry["timestamp"]),
                });
            }
        }

        return logs;
    }

    private static DateTimeOffset? ParseTimestamp(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<string>(out var text))
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
        }

        if (value.TryGetValue<double>(out var seconds) && FalJson.IsFinite(seconds) && seconds is > 0 and < 1e11)
        {
            return DateTimeOffset.FromUnixTimeSeconds(0).AddSeconds(seconds);
        }

        return null;
    }
}
