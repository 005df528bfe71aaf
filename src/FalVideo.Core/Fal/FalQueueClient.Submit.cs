using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

public sealed partial class FalQueueClient
{
    /// <summary>
    /// Queues a job: <c>POST {queue}/{full endpoint id}</c> with the input as JSON (PROTOCOL.md "Submit").
    /// fal has no idempotency key, so the POST is resent only when fal provably did not take it: the connection was
    /// refused or the host did not resolve, a 429, or a 503 without <c>x-fal-request-id</c> (the ingress). Anything
    /// else that fails after the request may have been sent raises <see cref="FalAmbiguousSubmissionException"/>.
    /// </summary>
    /// <param name="endpointId">The full endpoint id, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</param>
    /// <param name="input">The model input, sent as is (enum values such as Kling's <c>duration</c> must already be JSON strings).</param>
    /// <param name="options">Webhook, queue priority, start timeout, fallback switch and media expiry (<see cref="FalSubmitOptions"/>);
    /// null for none (<c>x-fal-queue-priority: normal</c> is still sent, as fal-js does).</param>
    /// <param name="ct">Cancels the call. A submit cancelled while in flight may still have been accepted by fal.</param>
    /// <returns>The request id, the URLs to follow it and, when sent, the queue position.</returns>
    /// <exception cref="ArgumentException">Invalid endpoint id, queue priority, start timeout, webhook or media expiry.</exception>
    /// <exception cref="FalAmbiguousSubmissionException">The request may have been accepted (timeout, connection reset,
    /// 5xx, unreadable 2xx); check before resubmitting.</exception>
    /// <exception cref="FalNetworkException">fal could not be reached; nothing was submitted.</exception>
    /// <exception cref="FalValidationException">HTTP 422: the input was rejected.</exception>
    /// <exception cref="FalException">Other definite rejections (401/403, 404, 429 after retries, an ingress 503 after
    /// retries), or no key (<see cref="FalConfigurationException"/>).</exception>
    public async Task<FalSubmitResult> SubmitAsync(string endpointId, JsonObject input, FalSubmitOptions? options = null, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var id = FalEndpointId.Parse(endpointId);
        ArgumentNullException.ThrowIfNull(input);
        var headers = FalSubmitOptions.Headers(options);
        RequireKey();

        var body = System.Text.Encoding.UTF8.GetBytes(input.ToJsonString());
        var call = new FalHttpCall
        {
            Method = HttpMethod.Post,
            Url = FalQueueUrls.Submit(_options.QueueBaseUrl, id, FalSubmitOptions.WebhookQuery(options)),
            Authorize = true,
            Headers = headers,
            Retry = FalRetryMode.Submit,
            Content = () =>
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                return content;
            },
        };

        var action = $"Submitting to {id.Id}";
        HttpResponseMessage response;
        try
        {
            response = await _sender.SendAsync(call, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (FalRetryPolicy.IsProvablyNotSent(ex))
        {
            throw new FalNetworkException(
                FalCredentials.Mask($"{action} failed: fal.ai could not be reached ({ex.Message}). Nothing was submitted.", _options.ApiKey), ex);
        }
        catch (Exception ex)
        {
            throw Ambiguous(id, ex.Message, ex, null);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    var json = FalJson.ParseObject(await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false), "submit response", _options.ApiKey);
                    return ReadSubmitResult(id, json);
                }
                catch (FalProtocolException ex)
                {
                    throw Ambiguous(id, $"HTTP {(int)response.StatusCode} with an unusable body ({ex.Message})", ex, (int)response.StatusCode);
                }
            }

            var error = await FalErrorMapper.FromResponseAsync(response, action, null, _options.ApiKey).ConfigureAwait(false);
            var rejectedAtIngress = response.StatusCode == HttpStatusCode.ServiceUnavailable && !FalRetryPolicy.HasRequestId(response);
            if ((int)response.StatusCode >= 500 && !rejectedAtIngress)
            {
                throw Ambiguous(id, error.Message, error, (int)response.StatusCode).WithDetailsOf<FalAmbiguousSubmissionException>(error);
            }

            throw error;
        }
    }

    private FalSubmitResult ReadSubmitResult(FalEndpointId id, JsonObject json)
    {
        var requestId = FalJson.GetString(json, "request_id");
        if (string.IsNullOrWhiteSpace(requestId))
        {
            throw new FalProtocolException("The submit response has no request_id.");
        }

        // Use fal's URLs (its docs say so) unless they are missing or point away from the configured queue.
        var handle = Prepare(new FalRequestHandle
        {
            EndpointId = id.Id,
            RequestId = requestId,
            StatusUrl = FalJson.GetAbsoluteUri(json, "status_url")!,
            ResponseUrl = FalJson.GetAbsoluteUri(json, "response_url")!,
            CancelUrl = FalJson.GetAbsoluteUri(json, "cancel_url")!,
        });

        return new FalSubmitResult
        {
            EndpointId = id.Id,
            RequestId = requestId,
            StatusUrl = handle.StatusUrl,
            ResponseUrl = handle.ResponseUrl,
            CancelUrl = handle.CancelUrl,
            Status = FalJson.GetString(json, "status"),
            QueuePosition = FalJson.GetInt(json, "queue_position"),
            Handle = handle,
        };
    }

    private FalAmbiguousSubmissionException Ambiguous(FalEndpointId id, string cause, Exception inner, int? statusCode) =>
        new(FalCredentials.Mask(
            $"The submission to {id.Id} may have been accepted by fal.ai ({cause}); check before resubmitting. "
            + "fal has no idempotency key, so submitting again could start a second billable job: look for the request in "
            + "the fal.ai dashboard or its webhook first.", _options.ApiKey), inner)
        {
            EndpointId = id.Id,
            StatusCode = statusCode,
        };
}
