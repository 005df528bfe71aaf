using System.Net;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class StatusResultCancelTests
{
    [Fact]
    public async Task Status_202_in_queue_is_read_with_logs_from_the_url_without_sub_path()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Accepted, """
            {"status":"IN_QUEUE","request_id":"req-1","queue_position":2,
             "logs":[{"message":"warming up","level":"INFO","source":"user","timestamp":"2025-01-02T03:04:05Z"}]}
            """);

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        var get = Assert.Single(t.Handler.Requests);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1/status?logs=1", get.Url.AbsoluteUri);
        Assert.Equal("Key " + TestClient.Key, get.Header("Authorization"));
        Assert.Equal(FalQueueStatus.InQueue, status.Status);
        Assert.Equal(2, status.QueuePosition);
        var log = Assert.Single(status.Logs);
        Assert.Equal("warming up", log.Message);
        Assert.Equal("INFO", log.Level);
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), log.Timestamp);
        Assert.False(status.IsCompleted);
    }

    [Fact]
    public async Task Status_without_logs_asks_for_logs_0()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Accepted, """{"status":"IN_PROGRESS"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle(), includeLogs: false);

        Assert.EndsWith("/status?logs=0", t.Handler.Requests.Single().Url.AbsoluteUri);
        Assert.Equal(FalQueueStatus.InProgress, status.Status);
        Assert.Equal("req-1", status.RequestId);
    }

    [Fact]
    public async Task Status_200_completed_reads_metrics()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, """{"status":"COMPLETED","request_id":"req-1","metrics":{"inference_time":93.5},"response_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.True(status.IsCompleted);
        Assert.False(status.IsFailed);
        Assert.Equal(93.5, status.InferenceTimeSeconds);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1", status.ResponseUrl!.AbsoluteUri);
    }

    [Fact]
    public async Task Failed_job_is_completed_with_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, """{"status":"COMPLETED","error":"Runner disconnected","error_type":"runner_disconnected"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.True(status.IsCompleted);
        Assert.True(status.IsFailed);
        Assert.Equal("Runner disconnected", status.Error);
        Assert.Equal("runner_disconnected", status.ErrorType);
    }

    [Fact]
    public async Task Unknown_status_string_is_kept_not_a_crash()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Accepted, """{"status":"PAUSED_FOR_TEA","queue_position":"x","logs":"nope"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.Equal(FalQueueStatus.Unknown, status.Status);
        Assert.Equal("PAUSED_FOR_TEA", status.RawStatus);
        Assert.Null(status.QueuePosition);
        Assert.Empty(status.Logs);
    }

    [Fact]
    public async Task Status_is_retried_on_503_then_succeeds()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.ServiceUnavailable, """{"detail":"busy","error_type":"runner_scheduling_failure"}""")
            .Respond(HttpStatusCode.OK, """{"status":"COMPLETED"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.True(status.IsCompleted);
        Assert.Equal(2, t.Handler.Count(HttpMethod.Get));
        Assert.Contains(t.Log, l => l.StartsWith("retry 1 of 3", StringComparison.Ordinal) && l.EndsWith("after HTTP 503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_is_retried_on_transport_errors()
    {
        using var t = new TestClient();
        t.Handler.Throw(new HttpRequestException("reset")).Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE"}""");

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.Equal(FalQueueStatus.InQueue, status.Status);
        Assert.Equal(2, t.Handler.Requests.Count);
    }

    [Fact]
    public async Task Retry_After_seconds_is_honoured()
    {
        using var t = new TestClient(o => o.MaxRetryDelay = TimeSpan.FromSeconds(5));
        t.Handler.Respond(StatusCodes.TooManyRequests, null, "application/json", ("Retry-After", "1"))
            .Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE"}""");

        await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.Equal(2, t.Handler.Requests.Count);
        Assert.Contains("retry 1 of 3 in 1000 ms after HTTP 429", t.Log);
    }

    [Fact]
    public async Task Retry_After_longer_than_the_cap_is_not_waited_for()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.TooManyRequests, null, "application/json", ("Retry-After", "120"));

        var error = await Assert.ThrowsAsync<FalRateLimitException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Single(t.Handler.Requests);
        Assert.Equal(TimeSpan.FromSeconds(120), error.RetryAfter);
    }

    [Fact]
    public async Task User_start_timeout_504_is_final()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.GatewayTimeout, """{"detail":"Request timed out","error_type":"request_timeout"}""", "application/json",
            ("X-Fal-Request-Timeout-Type", "user"));

        var error = await Assert.ThrowsAsync<FalServerException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Single(t.Handler.Requests);
        Assert.Equal(504, error.StatusCode);
        Assert.Equal("request_timeout", error.ErrorType);
    }

    [Fact]
    public async Task Other_504_is_retried()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.GatewayTimeout).Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE"}""");

        await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.Equal(2, t.Handler.Requests.Count);
    }

    [Fact]
    public async Task Status_gives_up_after_max_retries_with_a_server_error()
    {
        using var t = new TestClient(o => o.MaxRetries = 2);
        t.Handler.Respond(HttpStatusCode.BadGateway).Respond(HttpStatusCode.BadGateway).Respond(HttpStatusCode.BadGateway);

        var error = await Assert.ThrowsAsync<FalServerException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Equal(3, t.Handler.Requests.Count);
        Assert.Equal("FalServerError", error.ErrorId);
    }

    [Fact]
    public async Task Status_timeout_on_every_attempt_is_a_network_error()
    {
        using var t = new TestClient(o =>
        {
            o.MaxRetries = 1;
            o.RequestTimeout = TimeSpan.FromMilliseconds(100);
        });
        t.Handler.Hang().Hang();

        var error = await Assert.ThrowsAsync<FalNetworkException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Equal(2, t.Handler.Requests.Count);
        Assert.IsType<TimeoutException>(error.InnerException);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_retried()
    {
        using var t = new TestClient();
        using var cts = new CancellationTokenSource();
        t.Handler.Then(async (_, ct) =>
        {
            cts.Cancel();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Client.GetStatusAsync(TestClient.Handle(), ct: cts.Token));
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task Stored_urls_on_another_host_are_rebuilt_so_the_key_stays_home()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE"}""");
        var handle = TestClient.Handle();
        handle.StatusUrl = new Uri("https://elsewhere.example/fal-ai/kling-video/requests/req-1/status");

        await t.Client.GetStatusAsync(handle);

        Assert.Equal("127.0.0.1", t.Handler.Requests.Single().Url.Host);
    }

    [Fact]
    public async Task Result_reads_video_and_keeps_raw_json()
    {
        using var t = new TestClient();
        const string body = """{"video":{"url":"https://v3.fal.media/files/x/out.mp4","content_type":"video/mp4","file_name":"out.mp4","file_size":123456}}""";
        t.Handler.Respond(HttpStatusCode.OK, body, "application/json", ("x-fal-request-id", "req-1"));

        var result = await t.Client.GetResultAsync(TestClient.Handle());

        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1", t.Handler.Requests.Single().Url.AbsoluteUri);
        Assert.Equal(body, result.RawJson);
        Assert.Equal("req-1", result.RequestId);
        Assert.NotNull(result.Video);
        Assert.Equal("https://v3.fal.media/files/x/out.mp4", result.Video.Url.AbsoluteUri);
        Assert.Equal("video/mp4", result.Video.ContentType);
        Assert.Equal("out.mp4", result.Video.FileName);
        Assert.Equal(123456, result.Video.FileSize);
    }

    [Fact]
    public async Task Result_without_video_has_null_video()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, """{"images":[]}""");

        var result = await t.Client.GetResultAsync(TestClient.Handle());

        Assert.Null(result.Video);
        Assert.NotNull(result.Output["images"]);
    }

    [Fact]
    public async Task Cancel_202_is_accepted()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Accepted, """{"status":"CANCELLATION_REQUESTED"}""");

        var result = await t.Client.CancelAsync(TestClient.Handle());

        var put = t.Handler.Requests.Single();
        Assert.Equal(HttpMethod.Put, put.Method);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1/cancel", put.Url.AbsoluteUri);
        Assert.True(result.Accepted);
        Assert.Equal("CANCELLATION_REQUESTED", result.Status);
    }

    [Fact]
    public async Task Cancel_400_already_completed_is_a_normal_result()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.BadRequest, """{"status":"ALREADY_COMPLETED"}""");

        var result = await t.Client.CancelAsync(TestClient.Handle());

        Assert.False(result.Accepted);
        Assert.Equal("ALREADY_COMPLETED", result.Status);
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task Cancel_404_is_not_found()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.NotFound, """{"status":"NOT_FOUND"}""");

        var error = await Assert.ThrowsAsync<FalNotFoundException>(() => t.Client.CancelAsync(TestClient.Handle("nope")));

        Assert.Equal("FalNotFound", error.ErrorId);
        Assert.Equal("nope", error.RequestId);
    }

    [Fact]
    public async Task Other_cancel_400_is_an_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.BadRequest, """{"detail":"bad"}""");

        var error = await Assert.ThrowsAsync<FalException>(() => t.Client.CancelAsync(TestClient.Handle()));

        Assert.Equal("FalRequestFailed", error.ErrorId);
        Assert.Equal(400, error.StatusCode);
    }
}
