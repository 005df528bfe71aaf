using System.Text.Json.Nodes;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Media;

namespace FalVideo.Emulator.Routes;

/// <summary>Bodies of the queue API (PROTOCOL.md, "Submit", "Status", "Result").</summary>
internal static class QueueJson
{
    /// <summary>Request URLs name only <c>[namespace/]owner/alias</c>: fal drops the endpoint's sub-path here.</summary>
    public static string ResponseUrl(string baseUrl, EmulatedJob job) => $"{baseUrl}/{job.AppId}/requests/{job.RequestId}";

    public static JsonObject Submitted(string baseUrl, EmulatedJob job)
    {
        var responseUrl = ResponseUrl(baseUrl, job);
        return new JsonObject
        {
            ["status"] = JobStatus.InQueue,
            ["request_id"] = job.RequestId,
            ["response_url"] = responseUrl,
            ["status_url"] = responseUrl + "/status",
            ["cancel_url"] = responseUrl + "/cancel",
            ["queue_position"] = job.QueuePosition ?? 0,
        };
    }

    /// <summary>A status body; <paramref name="logs"/> are the lines to include, or null when the client did not ask for logs.</summary>
    public static JsonObject Status(string baseUrl, EmulatedJob job, IEnumerable<JobLog>? logs)
    {
        var body = new JsonObject
        {
            ["status"] = job.Status,
            ["request_id"] = job.RequestId,
            ["response_url"] = ResponseUrl(baseUrl, job),
        };
        if (job.QueuePosition is { } position) body["queue_position"] = position;
        if (logs is not null)
        {
            body["logs"] = new JsonArray(logs.Select(log => (JsonNode)new JsonObject
            {
                ["message"] = log.Message,
                ["level"] = log.Level,
                ["source"] = "USER",
                ["timestamp"] = log.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'"),
            }).ToArray());
        }
        if (job.Status != JobStatus.Completed) return body;
        if (job.Error is not null)
        {
            body["error"] = job.Error;
            body["error_type"] = job.ErrorType;
        }
        else if (job is { StartedAt: { } started, CompletedAt: { } ended })
        {
            body["metrics"] = new JsonObject { ["inference_time"] = (ended - started).TotalSeconds };
        }
        return body;
    }

    public static JsonObject Result(string baseUrl, EmulatedJob job) => new()
    {
        ["video"] = new JsonObject
        {
            ["url"] = $"{baseUrl}{LocalMedia.Prefix}{job.RequestId}/{SampleVideo.FileName}",
            ["content_type"] = SampleVideo.ContentType,
            ["file_name"] = SampleVideo.FileName,
            ["file_size"] = job.VideoBytes,
        },
    };
}
