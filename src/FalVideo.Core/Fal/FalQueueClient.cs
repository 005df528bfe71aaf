using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>
/// Client of fal's queue API: submit, status (polled or streamed), result, cancel, plus storage upload and
/// output download. Protocol facts: PROTOCOL.md; shape after fal-js <c>libs/client/src/queue.ts</c>. Thread-safe;
/// knows nothing of PowerShell.
/// </summary>
public sealed partial class FalQueueClient : IDisposable
{
    private readonly FalClientOptions _options;
    private readonly FalHttpSender _sender;
    private bool _disposed;
    private bool _keyChecked;

    /// <summary>Creates a client.</summary>
    /// <param name="options">Settings; copied, so later changes do not affect this client. A key is only needed for
    /// the keyed calls (everything but <see cref="DownloadFileAsync"/>).</param>
    /// <param name="httpClient">An HTTP client to use (tests, custom proxies); the caller keeps ownership. Null uses
    /// one process-wide pooled client (never one per call). Its <see cref="HttpClient.Timeout"/> should be infinite
    /// or longer than <see cref="FalClientOptions.RequestTimeout"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="FalConfigurationException">A base URL or timing setting is invalid (see <see cref="FalClientOptions.Validate"/>).</exception>
    public FalQueueClient(FalClientOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _options.ValidateSettings();
        _sender = new FalHttpSender(httpClient ?? FalSharedHttp.Client, _options);
    }

    /// <summary>The queue base URL this client sends to (its copy of <see cref="FalClientOptions.QueueBaseUrl"/>).</summary>
    public Uri QueueBaseUrl => _options.QueueBaseUrl;

    /// <summary>Reads the status once: <c>GET status_url?logs=1</c> (PROTOCOL.md "Status": 202 while waiting, 200 when
    /// done, the body is read in both). Retried on 408/429/5xx and transport errors.</summary>
    /// <param name="request">The request to look at.</param>
    /// <param name="includeLogs">Ask for <c>logs</c> (<c>logs=1</c>).</param>
    /// <param name="ct">Cancels the whole call, retries included.</param>
    /// <returns>The status; unknown status strings come back as <see cref="FalQueueStatus.Unknown"/>.</returns>
    /// <exception cref="FalNotFoundException">Unknown request id.</exception>
    /// <exception cref="FalException">Other HTTP failures (see <see cref="FalException.ErrorId"/>), a body that is not a
    /// JSON object (<see cref="FalProtocolException"/>), no answer after the retries (<see cref="FalNetworkException"/>),
    /// or no key (<see cref="FalConfigurationException"/>).</exception>
    public async Task<FalStatus> GetStatusAsync(FalRequestHandle request, bool includeLogs = true, CancellationToken ct = default)
    {
        var handle = Prepare(request);
        var action = $"Getting the status of request {handle.RequestId}";
        using var response = await SendAsync(Get(FalQueueUrls.WithLogs(handle.StatusUrl, includeLogs)), action, ct).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, action, handle.RequestId).ConfigureAwait(false);
        var body = await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false);
        return FalStatus.FromJson(FalJson.ParseObject(body, "status response", _options.ApiKey), handle.RequestId, _options.ApiKey);
    }

    /// <summary>Fetches the output: <c>GET response_url</c> (PROTOCOL.md "Result"). For a failed job fal answers with
    /// the model's own error status, which is raised as the matching exception.</summary>
    /// <param name="request">The completed request.</param>
    /// <param name="ct">Cancels the whole call, retries included.</param>
    /// <returns>The raw JSON, its parsed form, the <c>video</c> file when present, and the billed quantity when fal sent
    /// <c>x-fal-billable-units</c>.</returns>
    /// <exception cref="FalValidationException">HTTP 422, usually a job that failed on its input.</exception>
    /// <exception cref="FalNotFoundException">Unknown request, or a result no longer kept.</exception>
    /// <exception cref="FalProtocolException">A 2xx body that is not a JSON object, or larger than 4 MB.</exception>
    /// <exception cref="FalException">Other failures, as for <see cref="GetStatusAsync"/>.</exception>
    public async Task<FalResult> GetResultAsync(FalRequestHandle request, CancellationToken ct = default)
    {
        var handle = Prepare(request);
        var action = $"Getting the result of request {handle.RequestId}";
        using var response = await SendAsync(Get(handle.ResponseUrl), action, ct).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, action, handle.RequestId).ConfigureAwait(false);
        var body = await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false);
        var json = FalJson.ParseObject(body, "result", _options.ApiKey);
        return new FalResult
        {
            RequestId = HeaderRequestId(response) ?? handle.RequestId,
            RawJson = System.Text.Encoding.UTF8.GetString(body),
            Output = json,
            Video = FalFile.FromJson(json["video"]),
            BillableUnits = FalResult.ParseBillableUnits(response),
        };
    }

    /// <summary>Asks fal to cancel: <c>PUT cancel_url</c>, no body (PROTOCOL.md "Cancel"). A queued request is removed;
    /// a running one gets a signal and may still finish.</summary>
    /// <param name="request">The request to cancel.</param>
    /// <param name="ct">Cancels the whole call, retries included.</param>
    /// <returns><c>Accepted=true</c> for a 2xx (<c>CANCELLATION_REQUESTED</c>); <c>Accepted=false</c> for HTTP 400
    /// <c>{"status":"ALREADY_COMPLETED"}</c>, which is a normal outcome, not an error.</returns>
    /// <exception cref="FalNotFoundException">HTTP 404: unknown request id.</exception>
    /// <exception cref="FalException">Other failures, as for <see cref="GetStatusAsync"/>.</exception>
    public async Task<FalCancelResult> CancelAsync(FalRequestHandle request, CancellationToken ct = default)
    {
        var handle = Prepare(request);
        var action = $"Cancelling request {handle.RequestId}";
        using var response = await SendAsync(
            new FalHttpCall { Method = HttpMethod.Put, Url = handle.CancelUrl, Authorize = true }, action, ct).ConfigureAwait(false);
        var body = await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false);
        var status = FalJson.TryParse(body) is JsonObject json ? FalJson.GetString(json, "status") : null;
        if (response.IsSuccessStatusCode)
        {
            return new FalCancelResult { Status = status ?? "CANCELLATION_REQUESTED", Accepted = true, RequestId = handle.RequestId };
        }

        if ((int)response.StatusCode == 400 && string.Equals(status, "ALREADY_COMPLETED", StringComparison.OrdinalIgnoreCase))
        {
            return new FalCancelResult { Status = status!, Accepted = false, RequestId = handle.RequestId };
        }

        throw await FalErrorMapper.FromResponseAsync(response, action, handle.RequestId, _options.ApiKey).ConfigureAwait(false);
    }

    /// <summary>Marks the client unusable. The shared or injected <see cref="HttpClient"/> is not disposed: it is not this
    /// client's to close.</summary>
    public void Dispose() => _disposed = true;

    private FalHttpCall Get(Uri url) => new() { Method = HttpMethod.Get, Url = url, Authorize = true };

    /// <summary>Idempotent send; transport failures left after the retries become <see cref="FalNetworkException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(FalHttpCall call, string action, CancellationToken ct)
    {
        try
        {
            return await _sender.SendAsync(call, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (FalRetryPolicy.IsTransient(ex) && !ct.IsCancellationRequested)
        {
            throw NetworkError(action, ex);
        }
    }

    private FalNetworkException NetworkError(string action, Exception ex) =>
        new(FalCredentials.Mask($"{action} failed: {ex.Message}", _options.ApiKey), ex);

    private async Task ThrowIfFailedAsync(HttpResponseMessage response, string action, string? requestId)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await FalErrorMapper.FromResponseAsync(response, action, requestId, _options.ApiKey).ConfigureAwait(false);
        }
    }

    private static string? HeaderRequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-fal-request-id", out var values)
            ? values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))
            : null;

    /// <summary>Checks the key and the handle, and makes sure the key only goes to the configured queue origin:
    /// a stored handle's URL on another host (an edited journal, a changed base) is rebuilt from its ids.</summary>
    private FalRequestHandle Prepare(FalRequestHandle request)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(request);
        RequireKey();
        if (!FalEndpointId.TryParse(request.EndpointId, out _) || string.IsNullOrWhiteSpace(request.RequestId))
        {
            throw new ArgumentException("The request handle needs a valid EndpointId and a RequestId.", nameof(request));
        }

        FalRequestHandle? rebuilt = null;
        FalRequestHandle Rebuilt() => rebuilt ??= FalRequestHandle.FromIds(request.EndpointId, request.RequestId, _options.QueueBaseUrl);
        Uri Pick(Uri? url, Func<FalRequestHandle, Uri> fallback) =>
            url is not null && FalQueueUrls.SameOrigin(url, _options.QueueBaseUrl) ? url : fallback(Rebuilt());

        return new FalRequestHandle
        {
            EndpointId = request.EndpointId,
            RequestId = request.RequestId,
            StatusUrl = Pick(request.StatusUrl, h => h.StatusUrl),
            ResponseUrl = Pick(request.ResponseUrl, h => h.ResponseUrl),
            CancelUrl = Pick(request.CancelUrl, h => h.CancelUrl),
        };
    }

    private void RequireKey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The options are this client's own copy and never change, so one successful check holds for every call.
        if (_keyChecked)
        {
            return;
        }

        _options.Validate();
        _keyChecked = true;
    }
}
