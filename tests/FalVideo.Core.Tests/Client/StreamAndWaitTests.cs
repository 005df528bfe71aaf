using System.Net;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class StreamAndWaitTests
{
    private const string TwoEvents =
        "data: {\"status\":\"IN_PROGRESS\",\"request_id\":\"req-1\",\"logs\":[{\"message\":\"step 1\"}]}\n\n"
        + ": keep-alive\n\n"
        + "data: {\"status\":\"COMPLETED\",\"request_id\":\"req-1\",\"metrics\":{\"inference_time\":2.5}}\n\n";

    [Fact]
    public async Task Stream_yields_each_data_event_and_skips_keep_alives()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, TwoEvents, "text/event-stream");

        var statuses = new List<FalStatus>();
        await foreach (var status in t.Client.StreamStatusAsync(TestClient.Handle()))
        {
            statuses.Add(status);
        }

        var get = t.Handler.Requests.Single();
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-1/status/stream?logs=1", get.Url.AbsoluteUri);
        Assert.Equal("text/event-stream", get.Header("Accept"));
        Assert.Equal("Key " + TestClient.Key, get.Header("Authorization"));
        Assert.Equal(2, statuses.Count);
        Assert.Equal(FalQueueStatus.InProgress, statuses[0].Status);
        Assert.Equal("step 1", statuses[0].Logs.Single().Message);
        Assert.Equal(FalQueueStatus.Completed, statuses[1].Status);
        Assert.Equal(2.5, statuses[1].InferenceTimeSeconds);
    }

    [Fact]
    public async Task Stream_with_malformed_event_is_a_protocol_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "data: not json\n\n", "text/event-stream");

        await Assert.ThrowsAsync<FalProtocolException>(async () =>
        {
            await foreach (var _ in t.Client.StreamStatusAsync(TestClient.Handle()))
            {
            }
        });
    }

    [Fact]
    public async Task Wait_uses_the_stream_and_reports_every_update()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, TwoEvents, "text/event-stream");
        var updates = new List<string>();

        var done = await t.Client.WaitForCompletionAsync(TestClient.Handle(), s => updates.Add(s.RawStatus));

        Assert.True(done.IsCompleted);
        Assert.Equal(["IN_PROGRESS", "COMPLETED"], updates);
        Assert.Single(t.Handler.Requests);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.MethodNotAllowed)]
    public async Task Wait_falls_back_to_polling_when_the_stream_endpoint_is_missing(HttpStatusCode streamStatus)
    {
        using var t = new TestClient();
        t.Handler.Respond(streamStatus, """{"detail":"Not Found"}""")
            .Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE","queue_position":1}""")
            .Respond(HttpStatusCode.Accepted, """{"status":"IN_PROGRESS"}""")
            .Respond(HttpStatusCode.OK, """{"status":"COMPLETED","error":"boom","error_type":"runner_disconnected"}""");
        var updates = new List<FalQueueStatus>();

        var done = await t.Client.WaitForCompletionAsync(TestClient.Handle(), s => updates.Add(s.Status));

        Assert.True(done.IsFailed);
        Assert.Equal("runner_disconnected", done.ErrorType);
        Assert.Equal([FalQueueStatus.InQueue, FalQueueStatus.InProgress, FalQueueStatus.Completed], updates);
        var urls = t.Handler.Requests.Select(r => r.Url.AbsolutePath).ToList();
        Assert.Equal("/fal-ai/kling-video/requests/req-1/status/stream", urls[0]);
        Assert.All(urls.Skip(1), u => Assert.Equal("/fal-ai/kling-video/requests/req-1/status", u));
        Assert.Equal(4, urls.Count);
    }

    [Fact]
    public async Task Wait_reconnects_a_stream_that_ends_early()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "data: {\"status\":\"IN_QUEUE\",\"queue_position\":4}\n\n", "text/event-stream")
            .Respond(HttpStatusCode.OK, "data: {\"status\":\"COMPLETED\"}\n\n", "text/event-stream");

        var done = await t.Client.WaitForCompletionAsync(TestClient.Handle());

        Assert.True(done.IsCompleted);
        Assert.Equal(2, t.Handler.Requests.Count);
        Assert.All(t.Handler.Requests, r => Assert.EndsWith("/status/stream", r.Url.AbsolutePath));
    }

    [Fact]
    public async Task Wait_polls_after_the_stream_keeps_breaking()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Throw(new HttpRequestException("reset"))
            .Throw(new HttpRequestException("reset"))
            .Throw(new HttpRequestException("reset"))
            .Respond(HttpStatusCode.OK, """{"status":"COMPLETED"}""");

        var done = await t.Client.WaitForCompletionAsync(TestClient.Handle());

        Assert.True(done.IsCompleted);
        Assert.Equal(4, t.Handler.Requests.Count);
        Assert.EndsWith("/status", t.Handler.Requests[3].Url.AbsolutePath);
    }

    [Fact]
    public async Task Wait_without_streaming_polls_from_the_start()
    {
        using var t = new TestClient(o => o.UseStatusStream = false);
        t.Handler.Respond(HttpStatusCode.Accepted, """{"status":"IN_QUEUE"}""")
            .Respond(HttpStatusCode.OK, """{"status":"COMPLETED"}""");

        var done = await t.Client.WaitForCompletionAsync(TestClient.Handle());

        Assert.True(done.IsCompleted);
        Assert.All(t.Handler.Requests, r => Assert.EndsWith("/status", r.Url.AbsolutePath));
        Assert.Equal(2, t.Handler.Requests.Count);
    }

    [Fact]
    public async Task Wait_stops_on_authentication_errors()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Unauthorized, """{"detail":"bad key"}""");

        await Assert.ThrowsAsync<FalAuthenticationException>(() => t.Client.WaitForCompletionAsync(TestClient.Handle()));
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task Wait_surfaces_an_unknown_request_when_polling_also_404s()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.NotFound).Respond(HttpStatusCode.NotFound, """{"detail":"Request not found"}""");

        await Assert.ThrowsAsync<FalNotFoundException>(() => t.Client.WaitForCompletionAsync(TestClient.Handle()));
        Assert.Equal(2, t.Handler.Requests.Count);
    }
}
