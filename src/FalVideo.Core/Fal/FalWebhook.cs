using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FalVideo.Jobs;

namespace FalVideo.Fal;

/// <summary>
/// The four headers fal signs a webhook delivery with (PROTOCOL.md, "Webhooks"; docs.fal.ai, model-endpoints/webhooks):
/// <c>X-Fal-Webhook-Request-Id</c>, <c>X-Fal-Webhook-User-Id</c>, <c>X-Fal-Webhook-Timestamp</c> (Unix seconds) and
/// <c>X-Fal-Webhook-Signature</c> (hex of a 64-byte Ed25519 signature). Header names match without regard to case, as
/// HTTP header names do.
/// </summary>
public sealed class FalWebhookHeaders
{
    /// <summary>Header carrying the request id the delivery is about.</summary>
    public const string RequestIdHeader = "X-Fal-Webhook-Request-Id";
    /// <summary>Header carrying the id of the fal user whose request it was.</summary>
    public const string UserIdHeader = "X-Fal-Webhook-User-Id";
    /// <summary>Header carrying the time of signing, in whole seconds since 1970-01-01 UTC.</summary>
    public const string TimestampHeader = "X-Fal-Webhook-Timestamp";
    /// <summary>Header carrying the Ed25519 signature, hex-encoded.</summary>
    public const string SignatureHeader = "X-Fal-Webhook-Signature";

    /// <summary>The four values; a header that was absent is null.</summary>
    /// <param name="requestId">X-Fal-Webhook-Request-Id.</param>
    /// <param name="userId">X-Fal-Webhook-User-Id.</param>
    /// <param name="timestamp">X-Fal-Webhook-Timestamp.</param>
    /// <param name="signature">X-Fal-Webhook-Signature.</param>
    public FalWebhookHeaders(string? requestId, string? userId, string? timestamp, string? signature)
    {
        RequestId = requestId;
        UserId = userId;
        Timestamp = timestamp;
        Signature = signature;
    }

    /// <summary>X-Fal-Webhook-Request-Id, or null when absent.</summary>
    public string? RequestId { get; }
    /// <summary>X-Fal-Webhook-User-Id, or null when absent.</summary>
    public string? UserId { get; }
    /// <summary>X-Fal-Webhook-Timestamp (Unix seconds, as text), or null when absent.</summary>
    public string? Timestamp { get; }
    /// <summary>X-Fal-Webhook-Signature (hex), or null when absent.</summary>
    public string? Signature { get; }

    /// <summary>
    /// Picks fal's four headers out of all the headers a receiver got (any case; a header given several times counts by
    /// its first value; surrounding white space is dropped).
    /// </summary>
    /// <param name="headers">Header names and values, e.g. Azure Automation's <c>$WebhookData.RequestHeader</c>.</param>
    public static FalWebhookHeaders From(IEnumerable<KeyValuePair<string, string?>> headers)
    {
        var byName = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in headers)
        {
            if (pair.Key is not null && !byName.ContainsKey(pair.Key.Trim())) byName[pair.Key.Trim()] = pair.Value?.Trim();
        }
        string? Get(string name) => byName.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v : null;
        return new FalWebhookHeaders(Get(RequestIdHeader), Get(UserIdHeader), Get(TimestampHeader), Get(SignatureHeader));
    }
}

/// <summary>
/// A verified webhook delivery, parsed: fal's body <c>{request_id, gateway_request_id, status: "OK"|"ERROR", payload,
/// error?, payload_error?}</c> (PROTOCOL.md, "Webhooks"). For a video model, <see cref="Payload"/> is the model's result
/// (<c>{"video": {...}}</c>, PROTOCOL.md "Result") and <see cref="Video"/> its video; for a failure, <see cref="Error"/>
/// is fal's text and <see cref="Payload"/> the model's error details.
/// </summary>
public sealed class FalWebhookEvent
{
    /// <summary>fal's status value of a success.</summary>
    public const string OkStatus = "OK";
    /// <summary>fal's status value of a failure.</summary>
    public const string ErrorStatus = "ERROR";

    /// <summary>The request id (<c>request_id</c>), the one the queue API knows.</summary>
    public required string RequestId { get; init; }

    /// <summary><c>gateway_request_id</c>: the last attempt's id when fal retried the request, else the same as <see cref="RequestId"/>.</summary>
    public string? GatewayRequestId { get; init; }

    /// <summary><c>OK</c> or <c>ERROR</c> (another value is kept as sent).</summary>
    public required string Status { get; init; }

    /// <summary>True when <see cref="Status"/> is <c>OK</c>.</summary>
    public bool Succeeded => string.Equals(Status, OkStatus, StringComparison.OrdinalIgnoreCase);

    /// <summary>fal's <c>error</c> text of a failure (e.g. <c>Invalid status code: 422</c>); null on success.</summary>
    public string? Error { get; init; }

    /// <summary><c>payload_error</c>: why <see cref="Payload"/> is null although the request succeeded (its output was not valid JSON).</summary>
    public string? PayloadError { get; init; }

    /// <summary>The <c>payload</c> object: the model's output, or its error details; null when fal sent none.</summary>
    public JsonNode? Payload { get; init; }

    /// <summary>The <c>video</c> file of the payload (a video model's output); null when there is none.</summary>
    public FalFile? Video { get; init; }

    /// <summary>The fal user the request belonged to (X-Fal-Webhook-User-Id).</summary>
    public required string UserId { get; init; }

    /// <summary>When fal signed the delivery (X-Fal-Webhook-Timestamp), UTC.</summary>
    public DateTimeOffset SignedAt { get; init; }

    /// <summary>The body exactly as received.</summary>
    public required string RawBody { get; init; }

    /// <summary>
    /// Reads fal's webhook body. Does not verify anything: use <see cref="FalWebhookVerifier.VerifyAsync"/>, which calls
    /// this after the signature checked out.
    /// </summary>
    /// <param name="body">The body text.</param>
    /// <param name="userId">X-Fal-Webhook-User-Id.</param>
    /// <param name="signedAt">X-Fal-Webhook-Timestamp as a time.</param>
    /// <exception cref="FalWebhookException">The body is not a JSON object with a <c>request_id</c> and a <c>status</c>.</exception>
    public static FalWebhookEvent Parse(string body, string userId, DateTimeOffset signedAt)
    {
        var json = FalJson.TryParse(Encoding.UTF8.GetBytes(body ?? "")) as JsonObject
            ?? throw new FalWebhookException("The webhook body is not a JSON object.");
        var requestId = FalJson.GetString(json, "request_id");
        var status = FalJson.GetString(json, "status");
        if (string.IsNullOrEmpty(requestId) || string.IsNullOrEmpty(status))
            throw new FalWebhookException("The webhook body has no request_id or no status (PROTOCOL.md, \"Webhooks\").");
        var payload = json["payload"];
        return new FalWebhookEvent
        {
            RequestId = requestId!,
            GatewayRequestId = FalJson.GetString(json, "gateway_request_id"),
            Status = status!,
            Error = FalJson.GetText(json, "error"),
            PayloadError = FalJson.GetText(json, "payload_error"),
            Payload = payload?.DeepClone(),
            Video = payload is JsonObject p ? FalFile.FromJson(p["video"]) : null,
            UserId = userId,
            SignedAt = signedAt,
            RawBody = body!,
        };
    }

    /// <summary>
    /// Brings <paramref name="job"/> up to what the delivery says: completed with the video's URL, size and file name;
    /// or failed with fal's error text (and the payload's <c>detail</c> when it has one) as
    /// <see cref="FalJob.Error"/>. <see cref="FalJob.CompletedAt"/> is the signing time when the job had none.
    /// </summary>
    /// <param name="job">The job (from the store, or a new one for a request the store does not know).</param>
    public void ApplyTo(FalJob job)
    {
        job.QueuePosition = null;
        job.CompletedAt ??= SignedAt;
        job.LastError = null;
        if (Succeeded)
        {
            job.Status = FalJobStatus.Completed;
            job.Error = null;
            job.ErrorType = null;
            if (Video is { } v)
            {
                job.VideoUrl = v.Url.ToString();
                job.VideoSize = v.FileSize;
                job.VideoFileName = v.FileName;
            }
            return;
        }
        job.Status = FalJobStatus.Failed;
        var detail = Payload is JsonObject p ? FalJson.GetText(p, "detail") : null;
        job.Error = detail is null ? Error ?? "fal reported the request as failed." : $"{Error}: {detail}";
        job.ErrorType = Payload is JsonObject q ? FalJson.GetString(q, "error_type") : null;
    }

    /// <inheritdoc />
    public override string ToString() => $"{RequestId} {Status}";
}

/// <summary>
/// A webhook delivery that must not be trusted (id <c>FalWebhookInvalid</c>): a missing fal header, a timestamp
/// outside the window, a signature none of fal's keys verifies, or a body that is not fal's shape. Or fal's keys
/// could not be fetched (id <c>FalWebhookKeysUnavailable</c>), so nothing could be verified.
/// </summary>
public sealed class FalWebhookException : FalException
{
    /// <summary>Id of a delivery that failed verification.</summary>
    public const string InvalidId = "FalWebhookInvalid";
    /// <summary>Id of a JWKS that could not be fetched or read.</summary>
    public const string KeysUnavailableId = "FalWebhookKeysUnavailable";

    /// <summary>A delivery that failed verification (id <c>FalWebhookInvalid</c>).</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public FalWebhookException(string message, Exception? innerException = null)
        : base(message, InvalidId, innerException)
    {
    }

    private FalWebhookException(string message, string errorId, Exception? innerException)
        : base(message, errorId, innerException)
    {
    }

    /// <summary>fal's keys could not be fetched or read (id <c>FalWebhookKeysUnavailable</c>).</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public static FalWebhookException KeysUnavailable(string message, Exception? innerException = null) =>
        new(message, KeysUnavailableId, innerException);

    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
}
