namespace FalVideo.Emulator.Jobs;

/// <summary>
/// fal's infrastructure error types with their typical HTTP status, from fal's "Request Error Types"
/// page (docs.fal.ai/documentation/model-apis/request-errors) and PROTOCOL.md, "Errors".
/// </summary>
internal static class Failures
{
    public const string DefaultType = "runner_disconnected";

    /// <summary>Not a fal error type: fal documents no status for a request cancelled in the queue, so the emulator picks this.</summary>
    public const string CancelledType = "cancelled";

    private static readonly Dictionary<string, (int Status, string Message)> Known = new(StringComparer.Ordinal)
    {
        ["request_timeout"] = (504, "Request timed out"),
        ["startup_timeout"] = (504, "The runner did not start within the allowed time"),
        ["runner_scheduling_failure"] = (503, "No runner could be allocated to handle the request"),
        ["runner_connection_timeout"] = (503, "The connection to the runner timed out"),
        ["runner_disconnected"] = (503, "The runner disconnected unexpectedly during processing"),
        ["runner_connection_refused"] = (503, "The runner refused the connection"),
        ["runner_server_error"] = (500, "The runner returned an internal server error"),
        ["bad_request"] = (400, "Bad request"),
        [CancelledType] = (400, "Request cancelled"),
    };

    public static int HttpStatus(string errorType) =>
        Known.TryGetValue(errorType, out var known) ? known.Status : 500;

    public static string Message(string errorType) =>
        Known.TryGetValue(errorType, out var known) ? known.Message : $"Emulated failure ({errorType})";
}
