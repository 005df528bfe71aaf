using System.Net;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

/// <summary>
/// Whatever a server sends back is masked for the key before it reaches an exception, a log line or a field the journal
/// stores: a hostile or broken server may echo the <c>Authorization</c> header it received.
/// </summary>
public sealed class KeyHygieneTests
{
    private const string OtherBearer = "Bearer eyJhbGciOi.J9x2abc.123sig";

    private static void AssertNoKey(string? text)
    {
        Assert.NotNull(text);
        Assert.DoesNotContain(TestClient.KeyId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClient.KeySecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJhbGciOi", text, StringComparison.Ordinal);
    }

    private static void AssertLogClean(TestClient t)
    {
        lock (t.Log)
        {
            Assert.All(t.Log, AssertNoKey);
        }
    }

    private static string Echo => $"echo Authorization: Key {TestClient.Key}; id={TestClient.KeyId} secret={TestClient.KeySecret}; {OtherBearer}";

    [Fact]
    public void Mask_hides_key_and_bearer_credentials_of_any_key_but_keeps_prose()
    {
        Assert.Equal("Authorization: Key ***", FalCredentials.Mask("Authorization: Key 0f1e2d3c-aaaa:bbbb9999", null));
        Assert.Equal("auth Bearer *** done", FalCredentials.Mask("auth Bearer abc.def.1234 done", null));
        Assert.Equal("Key frames matter; Bearer bonds", FalCredentials.Mask("Key frames matter; Bearer bonds", "unrelated-key"));
    }

    [Fact]
    public async Task A_non_json_2xx_status_body_that_echoes_the_key_is_masked_in_the_error()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Respond(HttpStatusCode.OK, Echo, "text/plain");

        var ex = await Assert.ThrowsAsync<FalProtocolException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        AssertNoKey(ex.Message);
        Assert.Contains("***", ex.Message, StringComparison.Ordinal);
        AssertLogClean(t);
    }

    [Fact]
    public async Task A_non_json_2xx_result_and_submit_body_that_echo_the_key_are_masked()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Respond(HttpStatusCode.OK, Echo, "text/html").Respond(HttpStatusCode.OK, Echo, "text/html");

        var result = await Assert.ThrowsAsync<FalProtocolException>(() => t.Client.GetResultAsync(TestClient.Handle()));
        var submit = await Assert.ThrowsAsync<FalAmbiguousSubmissionException>(
            () => t.Client.SubmitAsync(TestClient.Kling, new System.Text.Json.Nodes.JsonObject { ["prompt"] = "x" }));

        AssertNoKey(result.Message);
        AssertNoKey(submit.Message);
        AssertNoKey(submit.InnerException!.Message);
        AssertLogClean(t);
    }

    [Fact]
    public async Task A_failed_status_carrying_the_key_is_masked_in_error_error_type_and_logs()
    {
        using var t = new TestClient();
        var body = $$"""
            {"status":"COMPLETED","error":"runner said {{Echo}}","error_type":"bad_{{TestClient.KeySecret}}",
             "logs":[{"message":"header was Key {{TestClient.Key}}","level":"ERROR"}]}
            """;
        t.Handler.Respond(HttpStatusCode.OK, body);

        var status = await t.Client.GetStatusAsync(TestClient.Handle());

        Assert.True(status.IsFailed);
        AssertNoKey(status.Error);
        AssertNoKey(status.ErrorType);
        AssertNoKey(status.Logs.Single().Message);
        Assert.StartsWith("runner said echo", status.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_status_event_on_the_stream_carrying_the_key_is_masked()
    {
        using var t = new TestClient();
        var json = $$"""{"status":"COMPLETED","error":"{{Echo}}","logs":[{"message":"{{TestClient.Key}}"}]}""";
        t.Handler.Respond(HttpStatusCode.OK, "data: " + json + "\n\n", "text/event-stream");

        var status = await t.Client.WaitForCompletionAsync(TestClient.Handle());

        AssertNoKey(status.Error);
        AssertNoKey(status.Logs.Single().Message);
    }

    [Fact]
    public async Task A_malformed_stream_event_echoing_the_key_is_masked_in_the_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "data: " + Echo + "\n\n", "text/event-stream");

        var ex = await Assert.ThrowsAsync<FalProtocolException>(async () =>
        {
            await foreach (var _ in t.Client.StreamStatusAsync(TestClient.Handle()))
            {
            }
        });

        AssertNoKey(ex.Message);
    }

    [Fact]
    public async Task A_result_error_carrying_the_key_and_a_bearer_token_is_masked()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.UnprocessableEntity, $$"""{"detail":"model failed: {{Echo}}","error_type":"x"}""");

        var ex = await Assert.ThrowsAsync<FalValidationException>(() => t.Client.GetResultAsync(TestClient.Handle()));

        AssertNoKey(ex.Message);
        AssertNoKey(ex.Detail);
        AssertLogClean(t);
    }
}
