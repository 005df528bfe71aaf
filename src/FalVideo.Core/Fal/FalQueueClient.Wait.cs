using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace FalVideo.Fal;

public sealed partial class FalQueueClient
{
    /// <summary>How many times the status stream is opened before waiting falls back to polling.</summary>
    private const int MaxStreamAttempts = 3;

    /// <summary>
    /// Follows the SSE status stream: <c>GET {status_url}/stream?logs=1</c> with <c>Accept: text/event-stream</c>
    /// (PROTOCOL.md "Status stream (SSE)"; fal-js <c>queue.ts</c> <c>streamStatus</c>). Opening the stream is retried
    /// like a status call; a stream that breaks later is not reopened here (see <see cref="WaitForCompletionAsync"/>).
    /// A server that answers with one JSON status instead of a stream yields that status.
    /// </summary>
    /// <param name="request">The request to follow.</param>
    /// <param name="includeLogs">Ask for <c>logs</c> in each event.</param>
    /// <param name="ct">Stops the stream.</param>
    /// <returns>Each status event; the sequence ends after <c>COMPLETED</c> or when the server closes the stream.</returns>
    /// <exception cref="FalNotFoundException">HTTP 404 (unknown request, or a server without the stream endpoint).</exception>
    /// <exception cref="FalNetworkException">The stream could not be opened, broke, or stayed silent longer than
    /// <see cref="FalClientOptions.RequestTimeout"/>.</exception>
    /// <exception cref="FalException">Other HTTP failures (405 from a server without streaming), a malformed event
    /// (<see cref="FalProtocolException"/>), or no key (<see cref="FalConfigurationException"/>).</exception>
    public async IAsyncEnumerable<FalStatus> StreamStatusAsync(
        FalRequestHandle request, bool includeLogs = true, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var handle = Prepare(request);
        var action = $"Streaming the status of request {handle.RequestId}";
        var call = new FalHttpCall
        {
            Method = HttpMethod.Get,
            Url = FalQueueUrls.StatusStream(handle.StatusUrl, includeLogs),
            Authorize = true,
            Accept = "text/event-stream",
            StreamSuccessBody = true,
        };

        using var response = await SendAsync(call, action, ct).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, action, handle.RequestId).ConfigureAwait(false);

        if (IsJson(response.Content.Headers.ContentType))
        {
            var body = await FalHttpSender.ReadCappedAsync(response.Content, (int)response.StatusCode, ct).ConfigureAwait(false);
            yield return FalStatus.FromJson(FalJson.ParseObject(body, "status response", _options.ApiKey), handle.RequestId, _options.ApiKey);
            yield break;
        }

        var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using var events = FalStatusStream.ReadAsync(stream, handle.RequestId, _options.RequestTimeout, _options.ApiKey, ct).GetAsyncEnumerator(ct);
        while (true)
        {
            // yield cannot sit inside try/catch, so the move is wrapped on its own.
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (Exception ex) when (FalRetryPolicy.IsTransient(ex) && !ct.IsCancellationRequested)
            {
                throw NetworkError(action, ex);
            }

            yield return events.Current;
        }
    }

    /// <summary>
    /// Waits until the job is <c>COMPLETED</c>. Uses the SSE stream first (opened up to three times when it breaks or
    /// ends early), then falls back to adaptive polling of <c>GET status_url</c>: <see cref="FalClientOptions.MinPollInterval"/>
    /// doubling up to <see cref="FalClientOptions.MaxPollInterval"/>, back to the minimum whenever the status changes
    /// — far fewer requests than fal-js's fixed 500 ms for minute-long video jobs (PROTOCOL.md "Status"). A stream
    /// endpoint answering 404/405 switches to polling at once. Disabled streaming
    /// (<see cref="FalClientOptions.UseStatusStream"/>) polls from the start.
    /// </summary>
    /// <param name="request">The request to wait for.</param>
    /// <param name="onUpdate">Called with every status received, on the waiting thread; its exceptions propagate.</param>
    /// <param name="ct">The only overall limit: there is no built-in wait timeout.</param>
    /// <returns>The completed status; failed jobs too (check <see cref="FalStatus.IsFailed"/>).</returns>
    /// <exception cref="FalAuthenticationException">HTTP 401/403.</exception>
    /// <exception cref="FalNotFoundException">Unknown request id.</exception>
    /// <exception cref="FalException">Polling failed after its retries (see <see cref="GetStatusAsync"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; the job keeps running.</exception>
    public async Task<FalStatus> WaitForCompletionAsync(FalRequestHandle request, Action<FalStatus>? onUpdate = null, CancellationToken ct = default)
    {
        var handle = Prepare(request);
        if (_options.UseStatusStream && await TryStreamUntilCompletedAsync(handle, onUpdate, ct).ConfigureAwait(false) is { } done)
        {
            return done;
        }

        return await PollUntilCompletedAsync(handle, onUpdate, ct).ConfigureAwait(false);
    }

    /// <summary>Returns the completed status, or null when the stream should be given up for polling.</summary>
    private async Task<FalStatus?> TryStreamUntilCompletedAsync(FalRequestHandle handle, Action<FalStatus>? onUpdate, CancellationToken ct)
    {
        for (var attempt = 1; attempt <= MaxStreamAttempts; attempt++)
        {
            try
            {
                await foreach (var status in StreamStatusAsync(handle, includeLogs: true, ct).ConfigureAwait(false))
                {
                    onUpdate?.Invoke(status);
                    if (status.IsCompleted)
                    {
                        return status;
                    }
                }

                _sender.Log($"status stream of request {handle.RequestId} ended before COMPLETED (attempt {attempt} of {MaxStreamAttempts})");
            }
            catch (FalException ex) when (ex.StatusCode is 404 or 405)
            {
                // No stream endpoint (a proxy, an older emulator); polling reports a truly unknown request itself.
                _sender.Log($"status stream unavailable (HTTP {ex.StatusCode}); polling instead");
                return null;
            }
            catch (FalException ex) when (ex is not (FalAuthenticationException or FalConfigurationException))
            {
                _sender.Log($"status stream of request {handle.RequestId} failed (attempt {attempt} of {MaxStreamAttempts}): {ex.Message}");
            }

            if (attempt < MaxStreamAttempts)
            {
                await Task.Delay(_options.MinPollInterval, ct).ConfigureAwait(false);
            }
        }

        _sender.Log("status stream gave up; polling instead");
        return null;
    }

    private async Task<FalStatus> PollUntilCompletedAsync(FalRequestHandle handle, Action<FalStatus>? onUpdate, CancellationToken ct)
    {
        var interval = _options.MinPollInterval;
        string? previous = null;
        while (true)
        {
            var status = await GetStatusAsync(handle, includeLogs: true, ct).ConfigureAwait(false);
            onUpdate?.Invoke(status);
            if (status.IsCompleted)
            {
                return status;
            }

            if (previous is not null && status.RawStatus != previous)
            {
                interval = _options.MinPollInterval;
            }

            previous = status.RawStatus;
            await Task.Delay(interval, ct).ConfigureAwait(false);
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, _options.MaxPollInterval.Ticks));
        }
    }

    private static bool IsJson(MediaTypeHeaderValue? contentType) =>
        contentType?.MediaType is { } media
        && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
