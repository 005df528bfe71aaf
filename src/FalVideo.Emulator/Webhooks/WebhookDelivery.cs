using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Routes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FalVideo.Emulator.Webhooks;

/// <summary>
/// Sends the webhooks of submissions that carried <c>?fal_webhook=</c>, as fal does (PROTOCOL.md, "Webhooks";
/// docs.fal.ai, model-endpoints/webhooks): once the job has completed, a POST of <c>{request_id, gateway_request_id,
/// status: "OK", payload: &lt;the result&gt;}</c>, or <c>{..., status: "ERROR", error: "Invalid status code: N", payload:
/// &lt;the model's error body&gt;}</c> for a failed job, signed with <see cref="WebhookSigner"/> in fal's four
/// <c>X-Fal-Webhook-*</c> headers. A receiver that does not answer 2xx gets it again, up to 10 retries (fal: "10 times
/// in the span of 2 hours"), <see cref="EmulatorOptions.WebhookRetrySeconds"/> apart. Jobs progress on the emulator's
/// clock, so this checks them every 50 ms of real time.
/// </summary>
internal sealed class WebhookDelivery(EmulatorState state, JobScheduler jobs, EmulatorOptions options, ILogger<WebhookDelivery> log) : BackgroundService
{
    /// <summary>Retries after the first delivery (fal's retry policy).</summary>
    public const int MaxRetries = 10;

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            Timeout = TimeSpan.FromSeconds(options.WebhookTimeoutSeconds),
        };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Tick, stoppingToken);
                foreach (var pending in state.Webhooks.Due(DateTimeOffset.UtcNow))
                {
                    if (jobs.FindAnyApp(pending.RequestId) is not { Status: JobStatus.Completed } job) continue;
                    await DeliverAsync(http, pending, job, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Webhook delivery failed");
            }
        }
    }

    private async Task DeliverAsync(HttpClient http, WebhookOutbox.Pending pending, EmulatedJob job, CancellationToken ct)
    {
        var body = Body(pending.BaseUrl, job).ToJsonString();
        var timestamp = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, pending.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Fal-Webhook-Request-Id", job.RequestId);
        request.Headers.Add("X-Fal-Webhook-User-Id", options.WebhookUserId);
        request.Headers.Add("X-Fal-Webhook-Timestamp", timestamp);
        request.Headers.Add("X-Fal-Webhook-Signature", state.WebhookKeys.Sign(job.RequestId, options.WebhookUserId, timestamp, body));

        pending.Attempts++;
        int? code = null;
        try
        {
            using var response = await http.SendAsync(request, ct);
            code = (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            log.LogInformation("Webhook for {RequestId} to {Url}: {Error}", job.RequestId, pending.Url, e.Message);
        }
        var attempt = new WebhookAttempt(job.RequestId, pending.Url, pending.Attempts, code, body, options.TimeProvider.GetUtcNow());
        state.Webhooks.Record(attempt);
        if (attempt.Delivered || pending.Attempts > MaxRetries) state.Webhooks.Remove(pending);
        else pending.NextAttemptAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(options.WebhookRetrySeconds);
    }

    /// <summary>fal's webhook body for a completed job.</summary>
    internal static JsonObject Body(string baseUrl, EmulatedJob job)
    {
        var body = new JsonObject
        {
            ["request_id"] = job.RequestId,
            ["gateway_request_id"] = job.RequestId,
        };
        if (job.Error is null)
        {
            body["status"] = "OK";
            body["payload"] = QueueJson.Result(baseUrl, job);
            return body;
        }
        var errorType = job.ErrorType ?? Failures.CancelledType;
        body["status"] = "ERROR";
        body["error"] = $"Invalid status code: {Failures.HttpStatus(errorType)}";
        body["payload"] = new JsonObject { ["detail"] = job.Error, ["error_type"] = errorType };
        return body;
    }
}
