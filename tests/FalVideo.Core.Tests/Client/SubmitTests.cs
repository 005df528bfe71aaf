using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class SubmitTests
{
    private const string Accepted = """
        {"request_id":"req-42","status":"IN_QUEUE","queue_position":3,
         "status_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42/status",
         "response_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42",
         "cancel_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42/cancel"}
        """;

    private static JsonObject Input() => new() { ["prompt"] = "a cat", ["duration"] = "5" };

    // A refused connection as each HTTP stack reports it.
#if NET8_0_OR_GREATER
    private static HttpRequestException Refused() =>
        new(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));
#else
    private static HttpRequestException Refused() =>
        new("An error occurred while sending the request.", new WebException(
            "Unable to connect to the remote server", new SocketException((int)SocketError.ConnectionRefused), WebExceptionStatus.ConnectFailure, null));
#endif

    [Fact]
    public async Task Submit_posts_to_the_full_endpoint_id_with_auth_and_json()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, Accepted);

        var result = await t.Client.SubmitAsync(TestClient.Kling, Input());

        var post = Assert.Single(t.Handler.Requests);
        Assert.Equal(HttpMethod.Post, post.Method);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/v3/pro/text-to-video", post.Url.AbsoluteUri);
        Assert.Equal("Key " + TestClient.Key, post.Header("Authorization"));
        Assert.StartsWith("FalVideo/", post.Header("User-Agent"));
        Assert.StartsWith("application/json", post.Header("Content-Type"));
        var sent = JsonNode.Parse(post.Body!)!;
        Assert.Equal("5", sent["duration"]!.GetValue<string>());

        Assert.Equal("req-42", result.RequestId);
        Assert.Equal("IN_QUEUE", result.Status);
        Assert.Equal(3, result.QueuePosition);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42/status", result.StatusUrl.AbsoluteUri);
        Assert.Equal(result.CancelUrl, result.Handle.CancelUrl);
        Assert.Equal(TestClient.Kling, result.Handle.EndpointId);
    }

    [Fact]
    public async Task Submit_rebuilds_urls_that_are_missing_or_on_another_host()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, """{"request_id":"r9","status_url":"https://evil.example/steal"}""");

        var result = await t.Client.SubmitAsync(TestClient.Kling, Input());

        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/r9/status", result.StatusUrl.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:8787/fal-ai/kling-video/requests/r9", result.ResponseUrl.AbsoluteUri);
    }

    [Fact]
    public async Task Submit_options_become_query_and_headers()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, Accepted);

        await t.Client.SubmitAsync(TestClient.Kling, Input(), new FalSubmitOptions
        {
            Webhook = new Uri("https://hooks.example/fal?job=1"),
            QueuePriority = "Low",
            StartTimeoutSeconds = 300,
        });

        var post = t.Handler.Requests.Single();
        Assert.Equal("?fal_webhook=https%3A%2F%2Fhooks.example%2Ffal%3Fjob%3D1", post.Url.Query);
        Assert.Equal("low", post.Header("X-Fal-Queue-Priority"));
        Assert.Equal("300", post.Header("X-Fal-Request-Timeout"));
    }

    [Fact]
    public async Task Every_submit_option_goes_out_as_fal_js_sends_it()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, Accepted);

        await t.Client.SubmitAsync(TestClient.Kling, Input(), new FalSubmitOptions
        {
            Webhook = new Uri("https://hooks.example/run?token=a~b*c!(d) e"),
            StartTimeoutSeconds = 2.5,
            DisableFallbacks = true,
            ObjectExpirationSeconds = 86400,
        });

        var post = t.Handler.Requests.Single();
        Assert.Equal("normal", post.Header("x-fal-queue-priority"));
        Assert.Equal("2.5", post.Header("x-fal-request-timeout"));
        Assert.Equal("true", post.Header("x-fal-disable-fallbacks"));
        Assert.Equal("{\"expiration_duration_seconds\":86400}", post.Header("x-fal-object-lifecycle-preference"));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(3e9)]
    public async Task Start_timeouts_fal_js_refuses_are_refused_before_sending(double seconds)
    {
        using var t = new TestClient();

        await Assert.ThrowsAsync<ArgumentException>(() => t.Client.SubmitAsync(TestClient.Kling, Input(), new FalSubmitOptions { StartTimeoutSeconds = seconds }));
        Assert.Empty(t.Handler.Requests);
        Assert.Null(FalSubmitOptions.CheckStartTimeout(1.001));
    }

    [Theory]
    [InlineData("1d", 86400)]
    [InlineData("7D", 604800)]
    [InlineData("immediate", 60)]
    [InlineData("3600", 3600)]
    [InlineData("never", null)]
    public void Media_expiries_read_fal_js_names_and_seconds(string text, int? seconds)
    {
        Assert.True(FalSubmitOptions.TryParseExpiry(text, out var parsed, out var problem));
        Assert.Null(problem);
        Assert.Equal(seconds, parsed);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("2w")]
    [InlineData("1.5")]
    public void Unusable_media_expiries_are_named(string text)
    {
        Assert.False(FalSubmitOptions.TryParseExpiry(text, out _, out var problem));
        Assert.Contains($"OutputExpiry '{text}'", problem);
    }

    [Theory]
    [InlineData("ftp://hooks.example/x")]
    [InlineData("/relative/hook")]
    [InlineData("hooks.example")]
    public void Webhooks_must_be_absolute_http_urls(string text)
    {
        Assert.Null(FalSubmitOptions.ParseWebhook(text, out var problem));
        Assert.Contains("not an absolute http(s) URL", problem);
    }

    [Fact]
    public async Task Invalid_priority_is_refused_before_sending()
    {
        using var t = new TestClient();

        await Assert.ThrowsAsync<ArgumentException>(() => t.Client.SubmitAsync(TestClient.Kling, Input(), new FalSubmitOptions { QueuePriority = "urgent" }));
        Assert.Empty(t.Handler.Requests);
    }

    [Fact]
    public async Task Submit_is_retried_on_429()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.TooManyRequests, """{"detail":"slow down"}""")
            .Respond(HttpStatusCode.OK, Accepted);

        var result = await t.Client.SubmitAsync(TestClient.Kling, Input());

        Assert.Equal("req-42", result.RequestId);
        Assert.Equal(2, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Submit_is_retried_on_503_without_request_id()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.ServiceUnavailable, "upstream unavailable", "text/plain")
            .Respond(HttpStatusCode.OK, Accepted);

        var result = await t.Client.SubmitAsync(TestClient.Kling, Input());

        Assert.Equal("req-42", result.RequestId);
        Assert.Equal(2, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Submit_is_retried_when_the_connection_was_refused()
    {
        using var t = new TestClient();
        t.Handler.Throw(Refused()).Respond(HttpStatusCode.OK, Accepted);

        var result = await t.Client.SubmitAsync(TestClient.Kling, Input());

        Assert.Equal("req-42", result.RequestId);
        Assert.Equal(2, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Refused_every_time_is_a_network_error_not_an_ambiguous_one()
    {
        using var t = new TestClient(o => o.MaxRetries = 2);
        t.Handler.Throw(Refused()).Throw(Refused()).Throw(Refused());

        var error = await Assert.ThrowsAsync<FalNetworkException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal("FalNetworkError", error.ErrorId);
        Assert.Contains("Nothing was submitted", error.Message);
        Assert.Equal(3, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Submit_500_is_ambiguous_and_not_resent()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.InternalServerError, """{"detail":"boom","error_type":"runner_server_error"}""");

        var error = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.Equal("FalAmbiguousSubmission", error.ErrorId);
        Assert.Equal(500, error.StatusCode);
        Assert.Equal("runner_server_error", error.ErrorType);
        Assert.Equal(TestClient.Kling, error.EndpointId);
        Assert.Contains("may have been accepted", error.Message);
        Assert.Contains("check before resubmitting", error.Message);
    }

    [Fact]
    public async Task Submit_503_with_request_id_is_ambiguous_and_not_resent()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.ServiceUnavailable, """{"detail":"runner"}""", "application/json", ("x-fal-request-id", "req-7"));

        var error = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.Equal("req-7", error.RequestId);
    }

    [Fact]
    public async Task Submit_connection_reset_is_ambiguous_and_not_resent()
    {
        using var t = new TestClient();
        t.Handler.Throw(new HttpRequestException("The response ended prematurely.",
            new IOException("reset", new SocketException((int)SocketError.ConnectionReset))));

        var error = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.IsType<HttpRequestException>(error.InnerException);
    }

    [Fact]
    public async Task Submit_timeout_is_ambiguous_and_not_resent()
    {
        using var t = new TestClient(o => o.RequestTimeout = TimeSpan.FromMilliseconds(200));
        t.Handler.Hang();

        var error = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.IsType<TimeoutException>(error.InnerException);
    }

    [Fact]
    public async Task Submit_with_malformed_2xx_body_is_ambiguous()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "<html>gateway</html>", "text/html");

        var error = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.Equal(200, error.StatusCode);
    }

    [Fact]
    public async Task Submit_2xx_without_request_id_is_ambiguous()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, """{"status":"IN_QUEUE"}""");

        await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));
        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Submit_422_is_a_validation_error_and_not_resent()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.UnprocessableEntity,
            """{"detail":[{"loc":["body","duration"],"msg":"Input should be '5' or '10'","type":"literal_error"}]}""");

        var error = await Assert.ThrowsAsync<FalValidationException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal(1, t.Handler.Count(HttpMethod.Post));
        Assert.Equal("duration", Assert.Single(error.ValidationErrors).Field);
    }

    [Fact]
    public async Task Submit_429_after_all_retries_is_a_rate_limit_error()
    {
        using var t = new TestClient(o => o.MaxRetries = 1);
        t.Handler.Respond(StatusCodes.TooManyRequests).Respond(StatusCodes.TooManyRequests);

        var error = await Assert.ThrowsAsync<FalRateLimitException>(() => t.Client.SubmitAsync(TestClient.Kling, Input()));

        Assert.Equal("FalRateLimited", error.ErrorId);
        Assert.Equal(2, t.Handler.Count(HttpMethod.Post));
    }

    [Fact]
    public async Task Log_has_one_line_per_attempt_and_never_the_key()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.TooManyRequests).Respond(HttpStatusCode.OK, Accepted);

        await t.Client.SubmitAsync(TestClient.Kling, Input());

        var attempts = t.Log.Where(l => l.StartsWith("POST ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Matches(@"^POST http://127\.0\.0\.1:8787/fal-ai/kling-video/v3/pro/text-to-video -> 429 \(\d+ ms\)$", attempts[0]);
        Assert.Matches(@"-> 200 \(\d+ ms\)$", attempts[1]);
        Assert.All(t.Log, line => Assert.DoesNotContain(TestClient.KeySecret, line));
    }
}
