using FalVideo.Fal;

namespace FalVideo.Engine;

/// <summary>
/// The kind of failure an error id stands for. The names and numbers are those of PowerShell's
/// <c>System.Management.Automation.ErrorCategory</c> members this module uses, so the module maps one onto the
/// other by name without Core referencing PowerShell.
/// </summary>
public enum FalErrorCategory
{
    /// <summary>No better category fits.</summary>
    NotSpecified = 0,
    /// <summary>A parameter or cell value is unusable.</summary>
    InvalidArgument = 5,
    /// <summary>Data (fal's validation, a price override file) is not valid.</summary>
    InvalidData = 6,
    /// <summary>The operation does not apply to the object in its current state.</summary>
    InvalidOperation = 7,
    /// <summary>An operation ended without the result it should have (a failed job, a result without a video).</summary>
    InvalidResult = 8,
    /// <summary>What was asked for does not exist.</summary>
    ObjectNotFound = 13,
    /// <summary>Ctrl+C or an earlier error stopped the operation.</summary>
    OperationStopped = 14,
    /// <summary>A time limit passed.</summary>
    OperationTimeout = 15,
    /// <summary>The object already exists (a file, an earlier submission).</summary>
    ResourceExists = 20,
    /// <summary>A service (fal, the job store) cannot be used now.</summary>
    ResourceUnavailable = 21,
    /// <summary>Reading failed.</summary>
    ReadError = 22,
    /// <summary>Writing failed.</summary>
    WriteError = 23,
    /// <summary>A security check failed (a webhook signature).</summary>
    SecurityError = 25,
    /// <summary>A server answered outside the protocol.</summary>
    ProtocolError = 26,
    /// <summary>The key was refused.</summary>
    AuthenticationError = 28,
    /// <summary>A rate limit was hit.</summary>
    LimitsExceeded = 29,
    /// <summary>An allowance is used up (a fal account whose balance is exhausted).</summary>
    QuotaExceeded = 30,
}

/// <summary>One stable error id: the text scripts and tests match as PowerShell's <c>FullyQualifiedErrorId</c>.</summary>
public sealed class FalErrorId
{
    internal FalErrorId(string id, FalErrorCategory category, string meaning)
    {
        Id = id;
        Category = category;
        Meaning = meaning;
    }

    /// <summary>The id, e.g. <c>FalJobFailed</c>; never changes between versions.</summary>
    public string Id { get; }

    /// <summary>The category errors with this id are filed under.</summary>
    public FalErrorCategory Category { get; }

    /// <summary>What the error means, in one sentence (for the documentation and the list's tests).</summary>
    public string Meaning { get; }

    /// <inheritdoc />
    public override string ToString() => Id;
}

/// <summary>
/// Every error id this module raises, in one list. The ids of <see cref="FalException"/> subclasses come from the
/// exceptions themselves (<see cref="FalException.ErrorId"/>) and are listed here too, with their categories.
/// </summary>
public static class FalErrorIds
{
    private static readonly List<FalErrorId> s_all = new();
    private static readonly Dictionary<string, FalErrorId> s_byId = new(StringComparer.Ordinal);

    // fal's answers (FalException.ErrorId).

    /// <summary>fal refused the input (HTTP 422).</summary>
    public static readonly FalErrorId ValidationFailed = Add("FalValidationFailed", FalErrorCategory.InvalidData, "fal refused the input (HTTP 422).");
    /// <summary>The key was refused (HTTP 401/403).</summary>
    public static readonly FalErrorId Unauthorized = Add("FalUnauthorized", FalErrorCategory.AuthenticationError, "fal refused the key (HTTP 401/403).");
    /// <summary>The account is locked, its balance exhausted (HTTP 403 "User is locked"). QuotaExceeded, not
    /// AuthenticationError: the key is valid and accepted; what ran out is the account's prepaid balance, which the
    /// user tops up (PowerShell's PermissionDenied would also point at rights the key lacks).</summary>
    public static readonly FalErrorId AccountLocked = Add("FalAccountLocked", FalErrorCategory.QuotaExceeded, "fal refused the request because the account is locked (balance exhausted, HTTP 403); top up the balance. Nothing was billed.");
    /// <summary>Unknown endpoint or request (HTTP 404).</summary>
    public static readonly FalErrorId NotFound = Add("FalNotFound", FalErrorCategory.ObjectNotFound, "fal does not know the endpoint or request (HTTP 404).");
    /// <summary>Still rate limited after the retries (HTTP 429).</summary>
    public static readonly FalErrorId RateLimited = Add("FalRateLimited", FalErrorCategory.LimitsExceeded, "fal kept answering HTTP 429 after the retries.");
    /// <summary>fal's servers failed after the retries (5xx).</summary>
    public static readonly FalErrorId ServerError = Add("FalServerError", FalErrorCategory.ResourceUnavailable, "fal answered 5xx after the retries.");
    /// <summary>An answer outside the protocol (not JSON, too large, a malformed event).</summary>
    public static readonly FalErrorId ProtocolError = Add("FalProtocolError", FalErrorCategory.ProtocolError, "fal's answer did not follow the protocol (PROTOCOL.md).");
    /// <summary>A submission whose answer is unknown: fal may have accepted and billed it.</summary>
    public static readonly FalErrorId AmbiguousSubmission = Add("FalAmbiguousSubmission", FalErrorCategory.InvalidResult, "A submission's answer was lost: fal may have accepted (and billed) it.");
    /// <summary>No API key: not passed, not set for the session, not in the environment.</summary>
    public static readonly FalErrorId MissingKey = Add("FalMissingKey", FalErrorCategory.AuthenticationError, "No fal API key was given (-ApiKey), set (Set-FalConfiguration -ApiKey) or found in FAL_KEY.");
    /// <summary>Missing key, bad base URL or another unusable setting.</summary>
    public static readonly FalErrorId Configuration = Add("FalConfiguration", FalErrorCategory.InvalidArgument, "A setting (base URL, timeout, retries, the key's characters) is unusable; a missing key is FalMissingKey.");
    /// <summary>A video download failed (cut short, wrong size, too slow).</summary>
    public static readonly FalErrorId DownloadFailed = Add("FalDownloadFailed", FalErrorCategory.WriteError, "A video download failed; nothing was left under the final name.");
    /// <summary>fal could not be reached; for a submit, nothing was sent.</summary>
    public static readonly FalErrorId NetworkError = Add("FalNetworkError", FalErrorCategory.NotSpecified, "fal could not be reached, or a stream broke.");
    /// <summary>Another failed request (an unexpected HTTP 400/409).</summary>
    public static readonly FalErrorId RequestFailed = Add("FalRequestFailed", FalErrorCategory.NotSpecified, "fal refused a request for another reason.");

    // Failures that are not fal's answers.

    /// <summary>Ctrl+C stopped the operation.</summary>
    public static readonly FalErrorId OperationStopped = Add("FalOperationStopped", FalErrorCategory.OperationStopped, "The operation was stopped (Ctrl+C).");
    /// <summary>A local file could not be read or written.</summary>
    public static readonly FalErrorId FileError = Add("FalFileError", FalErrorCategory.WriteError, "A local file or folder could not be written or read.");
    /// <summary>A failure nobody foresaw; the exception says more.</summary>
    public static readonly FalErrorId UnexpectedError = Add("FalUnexpectedError", FalErrorCategory.NotSpecified, "An unforeseen failure; the exception says more.");
    /// <summary>A row or parameter value is unusable; nothing was sent for it.</summary>
    public static readonly FalErrorId InvalidInput = Add("FalInvalidInput", FalErrorCategory.InvalidArgument, "A row or parameter value is unusable; nothing was sent for it.");
    /// <summary>A job without a request id (an ambiguous submission): nothing at fal to act on.</summary>
    public static readonly FalErrorId NoRequestId = Add("FalNoRequestId", FalErrorCategory.InvalidOperation, "The job has no request id (an ambiguous submission), so there is nothing at fal to act on.");
    /// <summary>Save-FalVideo got a job that has not completed.</summary>
    public static readonly FalErrorId JobNotCompleted = Add("FalJobNotCompleted", FalErrorCategory.InvalidOperation, "The job has not completed (or failed), so there is no video to save.");
    /// <summary>A completed job whose result names no video.</summary>
    public static readonly FalErrorId NoVideo = Add("FalNoVideo", FalErrorCategory.InvalidResult, "The job completed but its result has no video URL.");
    /// <summary>Another file is already at the target path.</summary>
    public static readonly FalErrorId FileExists = Add("FalFileExists", FalErrorCategory.ResourceExists, "Another file is at the target path; -Force overwrites it.");
    /// <summary>Wait-FalJob -Timeout passed with the job still running.</summary>
    public static readonly FalErrorId WaitTimeout = Add("FalWaitTimeout", FalErrorCategory.OperationTimeout, "The wait's time limit passed; the job still runs at fal.");
    /// <summary>The job failed or was cancelled at fal.</summary>
    public static readonly FalErrorId JobFailed = Add("FalJobFailed", FalErrorCategory.InvalidResult, "The job failed or was cancelled at fal.");
    /// <summary>An earlier attempt of the row may have reached fal; it is not sent again until settled.</summary>
    public static readonly FalErrorId AmbiguousEarlierSubmission = Add("FalAmbiguousEarlierSubmission", FalErrorCategory.ResourceExists, "An earlier attempt of this row may have reached fal; it is not sent again until the user settles it.");
    /// <summary>The job store could not be written (or read for the idempotency check); the row was not sent.</summary>
    public static readonly FalErrorId JournalNotWritten = Add("FalJournalNotWritten", FalErrorCategory.WriteError, "The job store could not be written (or read); the row was not sent, or the store was not changed.");
    /// <summary>The job store keeps failing: the batch stopped.</summary>
    public static readonly FalErrorId JournalUnavailable = Add("FalJournalUnavailable", FalErrorCategory.WriteError, "The job store cannot be written, so the batch stopped before any later row was sent.");
    /// <summary>An earlier error stopped the batch; no later row was sent.</summary>
    public static readonly FalErrorId BatchStopped = Add("FalBatchStopped", FalErrorCategory.OperationStopped, "An earlier error stopped the batch; no later row was sent.");
    /// <summary>Remove-FalJob without a filter.</summary>
    public static readonly FalErrorId NoJobFilter = Add("FalNoJobFilter", FalErrorCategory.InvalidArgument, "Remove-FalJob needs -Before, -Status or piped jobs.");
    /// <summary>A job that matches nothing in the store.</summary>
    public static readonly FalErrorId JobNotInJournal = Add("FalJobNotInJournal", FalErrorCategory.InvalidArgument, "The job has neither a request id nor a journal id to match store entries.");
    /// <summary>Remove-FalJob was given a job the store has no record of.</summary>
    public static readonly FalErrorId JobNotFound = Add("FalJobNotFound", FalErrorCategory.ObjectNotFound, "The job store has no record of the job; nothing was forgotten for it.");
    /// <summary>A request id was given without an endpoint id, and the job store does not know it.</summary>
    public static readonly FalErrorId RequestNotInStore = Add("FalRequestNotInStore", FalErrorCategory.ObjectNotFound, "The job store does not know the request id given alone; give -EndpointId too.");
    /// <summary>The price override file is not valid.</summary>
    public static readonly FalErrorId PriceOverrideInvalid = Add("FalPriceOverrideInvalid", FalErrorCategory.InvalidData, "The price override file could not be read or is not valid.");
    /// <summary>The settings could not be saved.</summary>
    public static readonly FalErrorId ConfigurationNotSaved = Add("FalConfigurationNotSaved", FalErrorCategory.WriteError, "The settings file could not be written.");
    /// <summary>No catalog model of that name.</summary>
    public static readonly FalErrorId ModelNotFound = Add("FalModelNotFound", FalErrorCategory.ObjectNotFound, "No catalog model has that name.");
    /// <summary>A webhook delivery failed verification (FalWebhookException).</summary>
    public static readonly FalErrorId WebhookInvalid = Add(FalWebhookException.InvalidId, FalErrorCategory.SecurityError, "A webhook delivery is not signed by fal, was changed, or is too old or too new; nothing in it was used.");
    /// <summary>fal's webhook keys (JWKS) could not be fetched or read (FalWebhookException).</summary>
    public static readonly FalErrorId WebhookKeysUnavailable = Add(FalWebhookException.KeysUnavailableId, FalErrorCategory.ResourceUnavailable, "fal's webhook keys (JWKS) could not be fetched or read, so no delivery could be verified.");

    /// <summary>Every id, in the order above.</summary>
    public static IReadOnlyList<FalErrorId> All => s_all;

    /// <summary>The entry for <paramref name="id"/>.</summary>
    /// <exception cref="KeyNotFoundException">The id is not in the list (a bug: every raised id must be listed).</exception>
    public static FalErrorId Get(string id) =>
        s_byId.TryGetValue(id, out var entry) ? entry : throw new KeyNotFoundException($"Error id {id} is not in FalErrorIds.");

    /// <summary>The id an exception is reported under: a <see cref="FalException"/>'s own id, else by its type.</summary>
    /// <param name="exception">The failure.</param>
    public static FalErrorId For(Exception exception) => exception switch
    {
        FalException fe => Get(fe.ErrorId),
        OperationCanceledException => OperationStopped,
        IOException or UnauthorizedAccessException => FileError,
        _ => UnexpectedError,
    };

    /// <summary>The text of an error about <paramref name="exception"/>: its message, fal's validation details (field:
    /// message pairs) and <paramref name="context"/> before it.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="context">Put before the message, e.g. "Row 3" or "Request &lt;id&gt;"; null for none.</param>
    public static string Describe(Exception exception, string? context = null)
    {
        var message = exception.Message;
        // fal's answer already lists its validation errors in the message (FalErrorMapper): only ones it does not name are added.
        if (exception is FalValidationException { ValidationErrors.Count: > 0 } ve
            && ve.ValidationErrors.Where(e => message.IndexOf(e.Message, StringComparison.Ordinal) < 0).ToList() is { Count: > 0 } unsaid)
            message += " " + string.Join("; ", unsaid.Select(e => $"{string.Join(".", e.Location)}: {e.Message}"));
        // A context the message already states ("Request abc" before "Getting the status of request abc failed") is not
        // said twice.
        return context is null || message.IndexOf(context, StringComparison.OrdinalIgnoreCase) >= 0 ? message : $"{context}: {message}";
    }

    private static FalErrorId Add(string id, FalErrorCategory category, string meaning)
    {
        var entry = new FalErrorId(id, category, meaning);
        s_all.Add(entry);
        s_byId.Add(id, entry);
        return entry;
    }
}
