using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace FalVideo.Fal;

/// <summary>
/// Optional settings of a submit (PROTOCOL.md "Submit" and "Headers worth exposing"), sent on the wire as fal's JS
/// client <c>@fal-ai/client</c> 1.10.1 sends them (<c>libs/client/src/queue.ts</c> <c>submit</c>, <c>headers.ts</c>,
/// <c>storage.ts</c> <c>buildObjectLifecycleHeaders</c>, <c>request.ts</c> <c>buildUrl</c>): lower-case header names,
/// the webhook as <c>?fal_webhook=</c> in <c>URLSearchParams</c> encoding. None of them changes what the model is asked
/// to make, so none is part of a submission's idempotency key: a re-run of a row with another priority, webhook,
/// start timeout, fallback switch or media expiry is still the same row and is not paid for again.
/// Serialized (snake_case) into the job store's state of each job.
/// </summary>
public sealed class FalSubmitOptions
{
    /// <summary>The least start timeout fal's clients allow is MORE than this many seconds (fal-js <c>headers.ts</c>
    /// <c>MIN_REQUEST_TIMEOUT_SECONDS = 1</c>, "Matches the Python client's"; <c>validateTimeoutHeader</c> refuses
    /// <c>timeout &lt;= 1</c>).</summary>
    public const double MinStartTimeoutExclusiveSeconds = 1;

    /// <summary>The largest start timeout accepted, in seconds. fal's clients set no upper bound; FalVideo refuses
    /// larger values (and infinity) so the header stays a plain number (JavaScript's <c>toString</c> turns values from
    /// 1e21 up into exponent notation).</summary>
    public const double MaxStartTimeoutSeconds = int.MaxValue;

    /// <summary>The named media expiries of fal-js (<c>storage.ts</c> <c>EXPIRATION_VALUES</c>), in seconds; <c>never</c>
    /// maps to no expiry, so no lifecycle header is sent and the account's storage setting applies.</summary>
    public static readonly IReadOnlyDictionary<string, int?> NamedExpiries = new Dictionary<string, int?>(StringComparer.OrdinalIgnoreCase)
    {
        ["never"] = null,
        ["immediate"] = 60,
        ["1h"] = 3600,
        ["1d"] = 86400,
        ["7d"] = 604800,
        ["30d"] = 2592000,
        ["1y"] = 31536000,
    };

    /// <summary>Sent as <c>?fal_webhook=&lt;url&gt;</c>: fal POSTs the outcome there (PROTOCOL.md "Webhooks").
    /// Must be an absolute http(s) URL; sent as it was written (<see cref="Uri.OriginalString"/>), as fal-js sends the
    /// string it was given.</summary>
    [JsonPropertyName("webhook_url")]
    public Uri? Webhook { get; set; }

    /// <summary><c>normal</c> (fal's default) or <c>low</c>; sent as <c>x-fal-queue-priority</c>. Null sends
    /// <c>normal</c>, as fal-js does on every submit.</summary>
    [JsonPropertyName("queue_priority")]
    public string? QueuePriority { get; set; }

    /// <summary>Seconds the job may wait before it STARTS; sent as <c>x-fal-request-timeout</c>. More than 1 (fal's
    /// clients' rule), at most <see cref="MaxStartTimeoutSeconds"/>. On expiry fal answers 504 with
    /// <c>X-Fal-Request-Timeout-Type: user</c>, which is final.</summary>
    [JsonPropertyName("start_timeout_seconds")]
    public double? StartTimeoutSeconds { get; set; }

    /// <summary>Sends <c>x-fal-disable-fallbacks: true</c>: fal must not reroute the request to an "equivalent
    /// alternative endpoint", which may be priced differently (docs.fal.ai, model-endpoints/reliability, names the header;
    /// the value <c>true</c> is UNCONFIRMED: fal-js 1.10.1 has no option for it, so callers pass it in <c>headers</c>).</summary>
    [JsonPropertyName("disable_fallbacks")]
    public bool DisableFallbacks { get; set; }

    /// <summary>Seconds fal keeps the output media; sent as <c>x-fal-object-lifecycle-preference:
    /// {"expiration_duration_seconds":N}</c> (the JSON fal-js sends). Null sends no header (the account's setting).</summary>
    [JsonPropertyName("object_expiration_seconds")]
    public int? ObjectExpirationSeconds { get; set; }

    /// <summary>True when nothing is set (every submit still sends <c>x-fal-queue-priority: normal</c>).</summary>
    [JsonIgnore]
    public bool IsEmpty => Webhook is null && QueuePriority is null && StartTimeoutSeconds is null && !DisableFallbacks && ObjectExpirationSeconds is null;

    /// <summary>Reads a priority, any case: <c>normal</c> or <c>low</c>.</summary>
    /// <returns>The lower-case value, or null with <paramref name="problem"/> set.</returns>
    public static string? ParsePriority(string text, out string? problem)
    {
        var normalized = text.Trim().ToLowerInvariant();
        problem = normalized is "normal" or "low" ? null : $"Priority '{text}' is not a queue priority; allowed: Normal, Low.";
        return problem is null ? normalized : null;
    }

    /// <summary>Checks a start timeout as fal's clients do (a number greater than 1 second), plus FalVideo's upper bound.</summary>
    /// <returns>Null when usable, else the problem.</returns>
    public static string? CheckStartTimeout(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds > MaxStartTimeoutSeconds)
            return $"StartTimeout '{seconds.ToString(CultureInfo.InvariantCulture)}' is too large; allowed: more than 1 and at most {MaxStartTimeoutSeconds.ToString(CultureInfo.InvariantCulture)} seconds.";
        if (seconds <= MinStartTimeoutExclusiveSeconds)
            return $"StartTimeout '{seconds.ToString(CultureInfo.InvariantCulture)}' is too small; fal's clients require more than 1 second.";
        return null;
    }

    /// <summary>Reads a webhook URL: absolute, http or https, with a host.</summary>
    /// <returns>The URL, or null with <paramref name="problem"/> set.</returns>
    public static Uri? ParseWebhook(string text, out string? problem)
    {
        var trimmed = text.Trim();
        if (Uri.TryCreate(trimmed, UriKind.Absolute, out var url)
            && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp) && url.Host.Length > 0)
        {
            problem = null;
            return url;
        }
        problem = $"WebhookUrl '{text}' is not an absolute http(s) URL.";
        return null;
    }

    /// <summary>Reads a media expiry: one of <see cref="NamedExpiries"/> (<c>immediate</c>, <c>1h</c>, <c>1d</c>,
    /// <c>7d</c>, <c>30d</c>, <c>1y</c>, <c>never</c>) or a whole number of seconds, at least 1.</summary>
    /// <returns>True when usable; <paramref name="seconds"/> is null for <c>never</c>.</returns>
    public static bool TryParseExpiry(string text, out int? seconds, out string? problem)
    {
        var trimmed = text.Trim();
        problem = null;
        if (NamedExpiries.TryGetValue(trimmed, out seconds)) return true;
        if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
        {
            seconds = n;
            return true;
        }
        seconds = null;
        problem = $"OutputExpiry '{text}' is not a media expiry; allowed: {string.Join(", ", NamedExpiries.Keys)}, or a whole number of seconds (at least 1).";
        return false;
    }

    /// <summary>Checks every value; the first problem, or null.</summary>
    public string? Problem()
    {
        if (Webhook is { } webhook && ParseWebhook(webhook.OriginalString, out var w) is null) return w;
        if (QueuePriority is { } priority && ParsePriority(priority, out var p) is null) return p;
        if (StartTimeoutSeconds is { } seconds && CheckStartTimeout(seconds) is { } t) return t;
        if (ObjectExpirationSeconds is < 1) return $"OutputExpiry '{ObjectExpirationSeconds}' must be at least 1 second.";
        return null;
    }

    /// <summary>The headers of a submit, names and values as fal-js sends them.</summary>
    /// <exception cref="ArgumentException">A value is unusable (see <see cref="Problem"/>).</exception>
    internal static List<KeyValuePair<string, string>> Headers(FalSubmitOptions? options)
    {
        if (options?.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        var headers = new List<KeyValuePair<string, string>>();
        if (options?.ObjectExpirationSeconds is { } expiry)
            headers.Add(new("x-fal-object-lifecycle-preference", "{\"expiration_duration_seconds\":" + expiry.ToString(CultureInfo.InvariantCulture) + "}"));
        headers.Add(new("x-fal-queue-priority", options?.QueuePriority is { } priority ? ParsePriority(priority, out _)! : "normal"));
        if (options?.StartTimeoutSeconds is { } seconds)
            headers.Add(new("x-fal-request-timeout", seconds.ToString("R", CultureInfo.InvariantCulture)));
        if (options?.DisableFallbacks == true) headers.Add(new("x-fal-disable-fallbacks", "true"));
        return headers;
    }

    /// <summary>
    /// <c>fal_webhook=…</c> encoded as fal-js encodes it (<c>new URLSearchParams(params).toString()</c>): the WHATWG
    /// application/x-www-form-urlencoded serializer, which keeps ASCII letters, digits and <c>*-._</c>, turns a space into
    /// <c>+</c> and percent-encodes every other UTF-8 byte in upper-case hex. .NET's encoders differ (<c>Uri.EscapeDataString</c>
    /// keeps <c>~</c> and encodes <c>*</c>; <c>WebUtility.UrlEncode</c> keeps <c>!()</c>), so the query would not match.
    /// </summary>
    internal static string? WebhookQuery(FalSubmitOptions? options) =>
        options?.Webhook is { } webhook ? "fal_webhook=" + FormUrlEncode(webhook.OriginalString.Trim()) : null;

    private static string FormUrlEncode(string value)
    {
        var text = new StringBuilder(value.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'*' or (byte)'-' or (byte)'.' or (byte)'_')
                text.Append((char)b);
            else if (b == (byte)' ') text.Append('+');
            else text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>One line for the job's display, e.g. <c>priority low, start timeout 30 s, no fallback, media expire after 86400 s, webhook https://…</c>
    /// (a webhook's query is left out); empty when nothing is set.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (QueuePriority is { } p) parts.Add($"priority {p}");
        if (StartTimeoutSeconds is { } t) parts.Add($"start timeout {t.ToString(CultureInfo.InvariantCulture)} s");
        if (DisableFallbacks) parts.Add("no fallback");
        if (ObjectExpirationSeconds is { } e) parts.Add($"media expire after {e.ToString(CultureInfo.InvariantCulture)} s");
        // A webhook's query often carries its secret (an Azure Automation webhook's token): shown without it.
        if (Webhook is { } w) parts.Add($"webhook {(w.Query.Length > 1 ? w.GetLeftPart(UriPartial.Path) + "?…" : w.OriginalString)}");
        return string.Join(", ", parts);
    }
}
