namespace FalVideo.Fal;

/// <summary>
/// One entry of a fal validation error: <c>{"loc": [...], "msg": "...", "type": "..."}</c> inside a
/// <c>detail</c> array (PROTOCOL.md "Errors"; the FastAPI/pydantic shape fal's models return with HTTP 422).
/// </summary>
public sealed class FalValidationError
{
    /// <summary>Creates a validation error entry.</summary>
    /// <param name="location">The <c>loc</c> path, e.g. <c>["body", "duration"]</c>; numbers become strings.</param>
    /// <param name="message">The <c>msg</c> text.</param>
    /// <param name="type">The <c>type</c> code, e.g. <c>missing</c> or <c>literal_error</c>.</param>
    public FalValidationError(IReadOnlyList<string> location, string message, string type)
    {
        Location = location;
        Message = message;
        Type = type;
    }

    /// <summary>The <c>loc</c> path as sent by fal, e.g. <c>["body", "prompt"]</c>.</summary>
    public IReadOnlyList<string> Location { get; }

    /// <summary>The human-readable <c>msg</c>.</summary>
    public string Message { get; }

    /// <summary>The machine-readable <c>type</c>; empty when fal sent none.</summary>
    public string Type { get; }

    /// <summary>The location without the leading <c>body</c> segment, joined with dots (<c>prompt</c>, <c>image.url</c>).</summary>
    public string Field =>
        string.Join('.', Location.Count > 1 && Location[0] == "body" ? Location.Skip(1) : Location);

    /// <summary>Returns <c>field: message</c>.</summary>
    public override string ToString() => Field.Length == 0 ? Message : $"{Field}: {Message}";
}

/// <summary>
/// Base of every error the fal client raises. <see cref="ErrorId"/> is stable and meant for
/// PowerShell's <c>FullyQualifiedErrorId</c>; messages never contain the API key.
/// </summary>
public class FalException : Exception
{
    /// <summary>Creates an error with the generic id <c>FalRequestFailed</c> (e.g. an unexpected HTTP 400/409).</summary>
    /// <param name="message">A message safe to show (must not contain the key).</param>
    /// <param name="innerException">The cause, if any.</param>
    public FalException(string message, Exception? innerException = null)
        : this(message, "FalRequestFailed", innerException)
    {
    }

    /// <summary>Creates an error with a specific stable id; used by the subclasses.</summary>
    /// <param name="message">A message safe to show (must not contain the key).</param>
    /// <param name="errorId">The stable error id.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected FalException(string message, string errorId, Exception? innerException)
        : base(message, innerException)
    {
        ErrorId = errorId;
    }

    /// <summary>Stable id: <c>FalValidationFailed</c>, <c>FalUnauthorized</c>, <c>FalAccountLocked</c>, <c>FalNotFound</c>,
    /// <c>FalRateLimited</c>, <c>FalServerError</c>, <c>FalProtocolError</c>, <c>FalAmbiguousSubmission</c>,
    /// <c>FalConfiguration</c>, <c>FalDownloadFailed</c>, <c>FalNetworkError</c> or <c>FalRequestFailed</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The HTTP status code of the failing response; null for transport failures.</summary>
    public int? StatusCode { get => _statusCode; init => _statusCode = value; }

    /// <summary>fal's <c>error_type</c> from the body, else the <c>X-Fal-Error-Type</c> header
    /// (e.g. <c>runner_scheduling_failure</c>; PROTOCOL.md "Errors").</summary>
    public string? ErrorType { get => _errorType; init => _errorType = value; }

    /// <summary>The fal request id involved (<c>x-fal-request-id</c> header or the request followed), when known.</summary>
    public string? RequestId { get => _requestId; init => _requestId = value; }

    /// <summary>fal's <c>detail</c> text, the joined validation messages, or the trimmed text of a non-JSON body.</summary>
    public string? Detail { get => _detail; init => _detail = value; }

    /// <summary>The entries of a <c>detail</c> array; empty when <c>detail</c> was a string or absent.</summary>
    public IReadOnlyList<FalValidationError> ValidationErrors { get => _validationErrors; init => _validationErrors = value ?? []; }

    /// <summary>The server's <c>Retry-After</c> hint when it was too long to wait for automatically.</summary>
    public TimeSpan? RetryAfter { get => _retryAfter; init => _retryAfter = value; }

    private int? _statusCode;
    private string? _errorType;
    private string? _requestId;
    private string? _detail;
    private IReadOnlyList<FalValidationError> _validationErrors = [];
    private TimeSpan? _retryAfter;

    /// <summary>Copies the response details of <paramref name="source"/>; lets the mapper pick the subtype first
    /// and fill the details in one place.</summary>
    internal T WithDetailsOf<T>(FalException source)
        where T : FalException
    {
        _statusCode = source.StatusCode;
        _errorType = source.ErrorType;
        _requestId = source.RequestId;
        _detail = source.Detail;
        _validationErrors = source.ValidationErrors;
        _retryAfter = source.RetryAfter;
        return (T)this;
    }
}

/// <summary>HTTP 422: the model rejected the input. <see cref="FalException.ValidationErrors"/> lists the fields.</summary>
public sealed class FalValidationException : FalException
{
    /// <summary>Creates the error (id <c>FalValidationFailed</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalValidationException(string message, Exception? innerException = null)
        : base(message, "FalValidationFailed", innerException)
    {
    }
}

/// <summary>HTTP 401 or 403: the key is missing, wrong or lacks access (id <c>FalUnauthorized</c>).</summary>
public sealed class FalAuthenticationException : FalException
{
    /// <summary>Creates the error (id <c>FalUnauthorized</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalAuthenticationException(string message, Exception? innerException = null)
        : base(message, "FalUnauthorized", innerException)
    {
    }
}

/// <summary>
/// HTTP 403 whose body says the account is locked, e.g. <c>{"detail": "User is locked. Reason: Exhausted balance…"}</c>
/// (PROTOCOL.md "Errors"; fal's FAQ and fal-ai/fal issues 1112, 1147, 1162, 1163): the key is fine, the balance is
/// exhausted, and every further request is refused the same way until it is topped up. Nothing was billed (id
/// <c>FalAccountLocked</c>).
/// </summary>
public sealed class FalAccountLockedException : FalException
{
    /// <summary>fal's billing page, where the balance is topped up.</summary>
    public const string BillingUrl = "https://fal.ai/dashboard/billing";

    /// <summary>Creates the error (id <c>FalAccountLocked</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalAccountLockedException(string message, Exception? innerException = null)
        : base(message, "FalAccountLocked", innerException)
    {
    }

    /// <summary>True for fal's locked-account answer: a 403 whose detail starts "User is locked" (any case).</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="detail">fal's <c>detail</c> text, or null.</param>
    public static bool Matches(int statusCode, string? detail) =>
        statusCode == 403 && detail is not null && detail.TrimStart().StartsWith("User is locked", StringComparison.OrdinalIgnoreCase);
}

/// <summary>HTTP 404: unknown endpoint or request id, or a result no longer kept (id <c>FalNotFound</c>).</summary>
public sealed class FalNotFoundException : FalException
{
    /// <summary>Creates the error (id <c>FalNotFound</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalNotFoundException(string message, Exception? innerException = null)
        : base(message, "FalNotFound", innerException)
    {
    }
}

/// <summary>HTTP 429 after the retries were used up (id <c>FalRateLimited</c>).</summary>
public sealed class FalRateLimitException : FalException
{
    /// <summary>Creates the error (id <c>FalRateLimited</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalRateLimitException(string message, Exception? innerException = null)
        : base(message, "FalRateLimited", innerException)
    {
    }
}

/// <summary>HTTP 5xx after the retries were used up, or a final one such as a user start-timeout 504
/// (id <c>FalServerError</c>).</summary>
public sealed class FalServerException : FalException
{
    /// <summary>Creates the error (id <c>FalServerError</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalServerException(string message, Exception? innerException = null)
        : base(message, "FalServerError", innerException)
    {
    }
}

/// <summary>fal answered with something this client cannot use: a non-JSON or oversized body, or
/// missing fields (id <c>FalProtocolError</c>).</summary>
public sealed class FalProtocolException : FalException
{
    /// <summary>Creates the error (id <c>FalProtocolError</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalProtocolException(string message, Exception? innerException = null)
        : base(message, "FalProtocolError", innerException)
    {
    }
}

/// <summary>
/// A submit failed after the request may have reached fal (timeout, connection reset, 5xx, unreadable 2xx).
/// fal has no idempotency key (PROTOCOL.md "Submit"), so resending could start a second billable job:
/// the client never resends and leaves the decision to the user (id <c>FalAmbiguousSubmission</c>).
/// </summary>
public sealed class FalAmbiguousSubmissionException : FalException
{
    /// <summary>Creates the error (id <c>FalAmbiguousSubmission</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalAmbiguousSubmissionException(string message, Exception? innerException = null)
        : base(message, "FalAmbiguousSubmission", innerException)
    {
    }

    /// <summary>The endpoint id the submit was sent to.</summary>
    public string? EndpointId { get; init; }
}

/// <summary>The client is not usable as configured: no key, plain <c>http://</c> to a non-loopback host,
/// out-of-range settings (id <c>FalConfiguration</c>).</summary>
public sealed class FalConfigurationException : FalException
{
    /// <summary>Creates the error (id <c>FalConfiguration</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalConfigurationException(string message, Exception? innerException = null)
        : base(message, "FalConfiguration", innerException)
    {
    }

    private FalConfigurationException(string message, string errorId)
        : base(message, errorId, null)
    {
    }

    /// <summary>No API key anywhere the module looks (id <c>FalMissingKey</c>, an authentication error rather than a bad
    /// argument: nothing the user typed was wrong, a credential is absent). The message names every place a key can come
    /// from, the cmdlets' own first.</summary>
    public static FalConfigurationException MissingKey() => new(
        "No fal.ai API key was found. Pass -ApiKey, set one for the session with Set-FalConfiguration -ApiKey, " +
        "or set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET).", "FalMissingKey");
}

/// <summary>A download of an output file failed: HTTP error, size mismatch, transport failure or a local
/// write error (id <c>FalDownloadFailed</c>). No partial file is left under the target name.</summary>
public sealed class FalDownloadException : FalException
{
    /// <summary>Creates the error (id <c>FalDownloadFailed</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalDownloadException(string message, Exception? innerException = null)
        : base(message, "FalDownloadFailed", innerException)
    {
    }
}

/// <summary>fal could not be reached or did not answer in time, after the retries were used up
/// (id <c>FalNetworkError</c>). For a submit this type means nothing was sent.</summary>
public sealed class FalNetworkException : FalException
{
    /// <summary>Creates the error (id <c>FalNetworkError</c>).</summary>
    /// <param name="message">Message without the key.</param>
    /// <param name="innerException">Cause, if any.</param>
    public FalNetworkException(string message, Exception? innerException = null)
        : base(message, "FalNetworkError", innerException)
    {
    }
}
