using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>
/// Turns a non-2xx response into the matching <see cref="FalException"/>. Body shapes from PROTOCOL.md
/// "Errors": <c>{"detail": [{"loc","msg","type"}]}</c>, <c>{"detail": "…", "error_type": "…"}</c>, or any text
/// (401/403/404/429 shapes are UNCONFIRMED, so every field is optional).
/// </summary>
internal static class FalErrorMapper
{
    private const int MaxDetailChars = 2000;

    /// <summary>Builds the exception for a response whose body was buffered by <see cref="FalHttpSender"/>.</summary>
    /// <param name="response">The failed response.</param>
    /// <param name="action">What was attempted, for the message, e.g. "Getting the status of request abc".</param>
    /// <param name="requestId">The request followed, when any (a header id wins).</param>
    /// <param name="apiKey">Masked out of every text taken from the body.</param>
    public static async Task<FalException> FromResponseAsync(HttpResponseMessage response, string action, string? requestId, string? apiKey)
    {
        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        var parsed = Parse(body, response, apiKey);
        var status = (int)response.StatusCode;
        var headerRequestId = response.Headers.TryGetValues("x-fal-request-id", out var ids) ? ids.FirstOrDefault() : null;
        var id = string.IsNullOrWhiteSpace(headerRequestId) ? requestId : headerRequestId;
        var retryAfter = FalRetryPolicy.GetRetryAfter(response, DateTimeOffset.UtcNow);

        var summary = new StringBuilder($"{action} failed: HTTP {status}");
        if (!string.IsNullOrEmpty(response.ReasonPhrase))
        {
            summary.Append(' ').Append(response.ReasonPhrase);
        }

        if (parsed.ErrorType is not null)
        {
            summary.Append($" ({parsed.ErrorType})");
        }

        var locked = FalAccountLockedException.Matches(status, parsed.Detail);
        summary.Append(locked ? LockedHint : Hint(response));
        if (parsed.Detail is not null)
        {
            summary.Append(": ").Append(parsed.Detail);
        }

        // The request id is named once: the action usually names it already ("Getting the status of request abc").
        if (id is not null && action.IndexOf(id, StringComparison.OrdinalIgnoreCase) < 0)
        {
            summary.Append($" [request {id}]");
        }

        if (retryAfter is { } wait)
        {
            summary.Append($" Retry after {wait.TotalSeconds:0} seconds.");
        }

        var message = FalCredentials.Mask(summary.ToString(), apiKey);
        var details = new FalException(message)
        {
            StatusCode = status,
            ErrorType = parsed.ErrorType,
            RequestId = id,
            Detail = parsed.Detail,
            ValidationErrors = parsed.Errors,
            RetryAfter = retryAfter,
        };
        FalException error = response.StatusCode switch
        {
            _ when locked => new FalAccountLockedException(message),
            FalHttpStatus.UnprocessableEntity => new FalValidationException(message),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new FalAuthenticationException(message),
            HttpStatusCode.NotFound => new FalNotFoundException(message),
            FalHttpStatus.TooManyRequests => new FalRateLimitException(message),
            _ when status >= 500 => new FalServerException(message),
            _ => details,
        };

        return error.WithDetailsOf<FalException>(details);
    }

    // Not the key hint: a locked account's key is valid, and checking it would send the user the wrong way.
    private const string LockedHint = " - the fal account is locked because its balance is exhausted; the key is fine. Top up the balance at "
                                      + FalAccountLockedException.BillingUrl + ", then run the rows again";

    private static string Hint(HttpResponseMessage response) => response.StatusCode switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " - check the fal.ai API key (FAL_KEY)",
        HttpStatusCode.GatewayTimeout when FalRetryPolicy.IsUserStartTimeout(response) => " - the job did not start within the requested start timeout",
        _ => "",
    };

    private static ParsedBody Parse(byte[] body, HttpResponseMessage response, string? apiKey)
    {
        var headerType = response.Headers.TryGetValues("X-Fal-Error-Type", out var types) ? types.FirstOrDefault() : null;
        if (body.Length == 0)
        {
            return new ParsedBody(null, Clean(headerType, apiKey), []);
        }

        if (FalJson.TryParse(body) is not JsonObject json)
        {
            // An HTML page from a proxy or plain text: keep a readable slice of it.
            return new ParsedBody(Clean(Encoding.UTF8.GetString(body), apiKey), Clean(headerType, apiKey), []);
        }

        var errorType = FalJson.GetString(json, "error_type") ?? headerType;
        var errors = json["detail"] is JsonArray array ? ReadValidationErrors(array, apiKey) : [];
        var detail = json["detail"] switch
        {
            JsonArray => errors.Count > 0 ? string.Join("; ", errors) : json["detail"]!.ToJsonString(),
            JsonValue => FalJson.GetText(json, "detail"),
            JsonObject other => other.ToJsonString(),
            _ => FalJson.GetText(json, "error") ?? FalJson.GetText(json, "message"),
        };

        return new ParsedBody(Clean(detail, apiKey), Clean(errorType, apiKey), errors);
    }

    private static List<FalValidationError> ReadValidationErrors(JsonArray array, string? apiKey)
    {
        var errors = new List<FalValidationError>();
        foreach (var item in array)
        {
            if (item is JsonObject entry)
            {
                var location = entry["loc"] is JsonArray loc
                    ? loc.Select(p => p is JsonValue v && v.TryGetValue<string>(out var s) ? s : p?.ToJsonString() ?? "").ToList()
                    : [];
                var message = FalCredentials.Mask(FalJson.GetText(entry, "msg") ?? entry.ToJsonString(), apiKey);
                errors.Add(new FalValidationError(location, message, FalJson.GetString(entry, "type") ?? ""));
            }
            else if (item is not null)
            {
                errors.Add(new FalValidationError([], FalCredentials.Mask(item.ToString(), apiKey), ""));
            }
        }

        return errors;
    }

    private static string? Clean(string? text, string? apiKey)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var trimmed = FalCredentials.Mask(text.Trim(), apiKey);
        return trimmed.Length > MaxDetailChars ? trimmed[..MaxDetailChars] + "…" : trimmed;
    }

    private sealed record ParsedBody(string? Detail, string? ErrorType, IReadOnlyList<FalValidationError> Errors);
}
