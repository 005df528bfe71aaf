using System.Globalization;
using System.Text.Json.Nodes;

namespace FalVideo.Emulator.Faults;

/// <summary>The kinds of request a fault can target; JSON names in brackets.</summary>
public enum FaultRoute
{
    /// <summary><c>POST /{endpoint id}</c> ("submit").</summary>
    Submit,
    /// <summary><c>GET …/requests/{id}/status</c> ("status").</summary>
    Status,
    /// <summary><c>GET …/requests/{id}/status/stream</c> ("stream").</summary>
    Stream,
    /// <summary><c>GET …/requests/{id}</c> ("result").</summary>
    Result,
    /// <summary><c>PUT …/requests/{id}/cancel</c> ("cancel").</summary>
    Cancel,
    /// <summary><c>GET /cdn/…</c>: job outputs and uploaded files ("download").</summary>
    Download,
    /// <summary><c>POST /storage/upload/initiate</c> ("upload-initiate").</summary>
    UploadInitiate,
    /// <summary><c>PUT /storage/upload/{token}</c> ("upload-put").</summary>
    UploadPut,
}

/// <summary>What the emulator does to a request a rule catches; JSON names in brackets.</summary>
public enum FaultAction
{
    /// <summary>Answers with <see cref="FaultRule.StatusCode"/> and a body without processing the request ("respond").</summary>
    Respond,
    /// <summary>Drops the connection before processing: nothing happened at the server ("reset-before").</summary>
    ResetBefore,
    /// <summary>Processes the request, then drops the connection before any byte of the answer: for a submit the job
    /// WAS created and its request id is lost ("reset-after"). On the status stream: after the first event.</summary>
    ResetAfter,
    /// <summary>Processes the request, sends the headers (with the full <c>Content-Length</c>) and half of the body,
    /// then drops the connection ("truncate"). On the status stream: the same as <see cref="ResetAfter"/>.</summary>
    Truncate,
    /// <summary>Processes the request and answers with its status code but only the first half of the body, which is
    /// never valid JSON; a download comes out short ("malformed"). On the status stream: one event whose data is not
    /// JSON, then the end of the stream.</summary>
    Malformed,
    /// <summary>Waits <see cref="FaultRule.DelaySeconds"/>, then processes the request; a client that gives up first
    /// leaves it unprocessed ("delay-before").</summary>
    DelayBefore,
    /// <summary>Processes the request, then waits <see cref="FaultRule.DelaySeconds"/> before answering: for a submit the
    /// job exists while the client is still waiting ("delay-after"). On the status stream: as <see cref="DelayBefore"/>.</summary>
    DelayAfter,
    /// <summary>Processes the request and sends its answer, headers (with the full <c>Content-Length</c>) first, but
    /// the body at only <see cref="FaultRule.BytesPerSecond"/> (a tenth of it at a time), for as long as the client
    /// keeps the connection open: a server too slow to be useful yet never silent long enough for an idle timeout
    /// ("trickle"). On the status stream: every event arrives that slowly.</summary>
    Trickle,
    /// <summary>Status stream only: answers 200 <c>text/event-stream</c> and sends <c>data: xxx…</c>, one line that never
    /// ends, until the client hangs up or <see cref="FaultRule.LimitBytes"/> have been sent, then ends the response
    /// normally; the job itself is untouched ("endless-sse-line"). A client that buffers lines until their end would
    /// hold it all in memory.</summary>
    EndlessSseLine,
    /// <summary>Processes the request and answers with its status code, but without <c>Content-Length</c> (chunked)
    /// and with only <see cref="FaultRule.LimitBytes"/> of the body (default half of it), then ends the response
    /// normally: the transfer looks complete and only the client's own size check can tell ("truncate-no-length").
    /// Not on the status stream, which never has a length.</summary>
    TruncateNoLength,
    /// <summary>Answers 403 with the body of a locked account, <see cref="FaultRule.LockedAccountBody"/> (PROTOCOL.md
    /// "Errors": balance exhausted), as fal does on submit and upload ("locked-account").</summary>
    LockedAccount,
}

/// <summary>
/// One scripted fault: which requests it catches (<see cref="Route"/>, <see cref="PathContains"/>, after letting
/// <see cref="Skip"/> of them through), how many it catches (<see cref="Times"/>) and what it does to them.
/// JSON form (for <c>POST /_emulator/faults</c>): <c>{"route": "submit", "action": "respond", "status": 429,
/// "retry_after": 1, "request_id_header": false, "timeout_type": "user", "body": "…", "content_type": "text/html",
/// "delay_seconds": 2, "bytes_per_second": 10, "limit_bytes": 1000, "times": 3, "skip": 0, "path_contains": "…"}</c>;
/// only <c>route</c> is required.
/// </summary>
public sealed class FaultRule
{
    /// <summary>The kind of request to catch.</summary>
    public required FaultRoute Route { get; init; }

    /// <summary>What to do; default <see cref="FaultAction.Respond"/>.</summary>
    public FaultAction Action { get; init; } = FaultAction.Respond;

    /// <summary>HTTP status of a <see cref="FaultAction.Respond"/> answer; default 500.</summary>
    public int StatusCode { get; init; } = 500;

    /// <summary>Adds <c>Retry-After: N</c> (whole seconds) to a <see cref="FaultAction.Respond"/> answer.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Adds an <c>x-fal-request-id</c> header to a <see cref="FaultAction.Respond"/> answer: the error then
    /// comes from fal's queue, not from its ingress (a submit 503 with it may have created a job).</summary>
    public bool RequestIdHeader { get; init; }

    /// <summary>Adds <c>X-Fal-Request-Timeout-Type</c> with this value (e.g. <c>user</c> on a 504).</summary>
    public string? TimeoutType { get; init; }

    /// <summary>Body of a <see cref="FaultAction.Respond"/> answer; default <c>{"detail": "Emulated fault: HTTP N"}</c>.
    /// <c>{authorization}</c> in it is replaced by the request's <c>Authorization</c> header (a server that echoes the key).</summary>
    public string? Body { get; init; }

    /// <summary>Content type of <see cref="Body"/>; default <c>application/json</c>.</summary>
    public string ContentType { get; init; } = "application/json";

    /// <summary>Seconds to wait for <see cref="FaultAction.DelayBefore"/> and <see cref="FaultAction.DelayAfter"/>.</summary>
    public double DelaySeconds { get; init; }

    /// <summary>Body bytes per second sent by <see cref="FaultAction.Trickle"/>, at least 1; default 10.</summary>
    public int BytesPerSecond { get; init; } = 10;

    /// <summary>Bytes of body sent by <see cref="FaultAction.EndlessSseLine"/> (default: no limit, until the client
    /// hangs up) and <see cref="FaultAction.TruncateNoLength"/> (default: half of the body) before the response ends.</summary>
    public long? LimitBytes { get; init; }

    /// <summary>How many requests the rule catches before it is spent; default 1.</summary>
    public int Times { get; init; } = 1;

    /// <summary>How many matching requests pass untouched before the rule starts catching; default 0.</summary>
    public int Skip { get; init; }

    /// <summary>Only requests whose path contains this text (ordinal) match; null matches all of <see cref="Route"/>.</summary>
    public string? PathContains { get; init; }

    /// <summary>What fal answers (with 403) to a submit or upload of a locked account: PROTOCOL.md "Errors" (fal's FAQ;
    /// fal-ai/fal issues 1112, 1147, 1162, 1163). fal's text goes on after "Exhausted balance"; the rest is not
    /// recorded there.</summary>
    public const string LockedAccountBody = """{"detail": "User is locked. Reason: Exhausted balance"}""";

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (StatusCode is < 100 or > 599) throw new ArgumentException($"status must be an HTTP status code (100–599); it is {StatusCode}.");
        if (Times < 1) throw new ArgumentException($"times must be at least 1; it is {Times}.");
        if (Skip < 0) throw new ArgumentException($"skip must not be negative; it is {Skip}.");
        if (RetryAfterSeconds is < 0) throw new ArgumentException("retry_after must not be negative.");
        if (DelaySeconds is < 0 or > 3600) throw new ArgumentException("delay_seconds must be between 0 and 3600.");
        if (BytesPerSecond < 1) throw new ArgumentException($"bytes_per_second must be at least 1; it is {BytesPerSecond}.");
        if (LimitBytes is < 0) throw new ArgumentException($"limit_bytes must not be negative; it is {LimitBytes}.");
        if (Action == FaultAction.EndlessSseLine && Route != FaultRoute.Stream)
            throw new ArgumentException("endless-sse-line applies to the status stream only (route \"stream\").");
        if (Action == FaultAction.TruncateNoLength && Route == FaultRoute.Stream)
            throw new ArgumentException("truncate-no-length does not apply to the status stream, which never has a length; use reset-after.");
    }

    /// <summary>Reads the JSON form.</summary>
    /// <exception cref="ArgumentException">A field is missing, unknown or of the wrong type.</exception>
    public static FaultRule FromJson(JsonNode? node)
    {
        if (node is not JsonObject json) throw new ArgumentException("A fault rule must be a JSON object.");
        foreach (var (name, _) in json)
        {
            if (!KnownFields.Contains(name)) throw new ArgumentException($"Unknown fault rule field '{name}'; known: {string.Join(", ", KnownFields)}.");
        }
        var rule = new FaultRule
        {
            Route = ParseName<FaultRoute>(Text(json, "route") ?? throw new ArgumentException("A fault rule needs a 'route'."), "route"),
            Action = Text(json, "action") is { } action ? ParseName<FaultAction>(action, "action") : FaultAction.Respond,
            StatusCode = Int(json, "status") ?? 500,
            RetryAfterSeconds = Int(json, "retry_after"),
            RequestIdHeader = json["request_id_header"] is JsonValue flag && flag.TryGetValue<bool>(out var b) && b,
            TimeoutType = Text(json, "timeout_type"),
            Body = Text(json, "body"),
            ContentType = Text(json, "content_type") ?? "application/json",
            DelaySeconds = Number(json, "delay_seconds") ?? 0,
            BytesPerSecond = Int(json, "bytes_per_second") ?? 10,
            LimitBytes = Number(json, "limit_bytes") is { } limit
                ? (limit == Math.Floor(limit) && limit is >= long.MinValue and <= long.MaxValue ? (long)limit : throw new ArgumentException("'limit_bytes' must be a whole number."))
                : null,
            Times = Int(json, "times") ?? 1,
            Skip = Int(json, "skip") ?? 0,
            PathContains = Text(json, "path_contains"),
        };
        rule.Validate();
        return rule;
    }

    /// <summary>The JSON form, as <c>GET /_emulator/faults</c> shows it.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["route"] = NameOf(Route),
            ["action"] = NameOf(Action),
            ["times"] = Times,
            ["skip"] = Skip,
        };
        if (Action == FaultAction.Respond)
        {
            json["status"] = StatusCode;
            if (RetryAfterSeconds is { } retry) json["retry_after"] = retry;
            if (RequestIdHeader) json["request_id_header"] = true;
            if (Body is not null) { json["body"] = Body; json["content_type"] = ContentType; }
        }
        if (TimeoutType is not null) json["timeout_type"] = TimeoutType;
        if (Action is FaultAction.DelayBefore or FaultAction.DelayAfter) json["delay_seconds"] = DelaySeconds;
        if (Action == FaultAction.Trickle) json["bytes_per_second"] = BytesPerSecond;
        if ((Action is FaultAction.EndlessSseLine or FaultAction.TruncateNoLength) && LimitBytes is { } limit) json["limit_bytes"] = limit;
        if (PathContains is not null) json["path_contains"] = PathContains;
        return json;
    }

    /// <inheritdoc />
    public override string ToString() => ToJson().ToJsonString();

    /// <summary>The JSON name of an enum value: <c>UploadPut</c> → <c>upload-put</c>.</summary>
    public static string NameOf<T>(T value) where T : struct, Enum =>
        string.Concat(value.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static readonly string[] KnownFields =
        ["route", "action", "status", "retry_after", "request_id_header", "timeout_type", "body", "content_type", "delay_seconds",
         "bytes_per_second", "limit_bytes", "times", "skip", "path_contains"];

    private static T ParseName<T>(string text, string field) where T : struct, Enum
    {
        foreach (var value in Enum.GetValues<T>())
        {
            if (string.Equals(NameOf(value), text.Trim(), StringComparison.OrdinalIgnoreCase)) return value;
        }
        throw new ArgumentException($"Unknown {field} '{text}'; allowed: {string.Join(", ", Enum.GetValues<T>().Select(NameOf))}.");
    }

    private static string? Text(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static double? Number(JsonObject json, string name) => json[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new ArgumentException($"'{name}' must be a number."),
    };

    private static int? Int(JsonObject json, string name) =>
        Number(json, name) is { } d ? (d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : throw new ArgumentException($"'{name}' must be a whole number.")) : null;
}
