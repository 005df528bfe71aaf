using System.Net;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

public class ErrorMappingTests
{
    [Fact]
    public async Task Detail_array_becomes_validation_errors()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.UnprocessableEntity, """
            {"detail":[
              {"loc":["body","prompt"],"msg":"Field required","type":"missing"},
              {"loc":["body","image",0],"msg":"Invalid URL","type":"url_parsing"}]}
            """);

        var error = await Assert.ThrowsAsync<FalValidationException>(() => t.Client.GetResultAsync(TestClient.Handle()));

        Assert.Equal("FalValidationFailed", error.ErrorId);
        Assert.Equal(422, error.StatusCode);
        Assert.Equal(2, error.ValidationErrors.Count);
        Assert.Equal(["body", "prompt"], error.ValidationErrors[0].Location);
        Assert.Equal("Field required", error.ValidationErrors[0].Message);
        Assert.Equal("missing", error.ValidationErrors[0].Type);
        Assert.Equal(["body", "image", "0"], error.ValidationErrors[1].Location);
        Assert.Equal("image.0", error.ValidationErrors[1].Field);
        Assert.Equal("prompt: Field required; image.0: Invalid URL", error.Detail);
        Assert.Contains("prompt: Field required", error.Message);
        Assert.Contains("HTTP 422", error.Message);
    }

    [Fact]
    public async Task Detail_string_is_kept_as_detail()
    {
        using var t = new TestClient();
        t.Handler.Respond(StatusCodes.UnprocessableEntity, """{"detail":"Image too large"}""");

        var error = await Assert.ThrowsAsync<FalValidationException>(() => t.Client.GetResultAsync(TestClient.Handle()));

        Assert.Empty(error.ValidationErrors);
        Assert.Equal("Image too large", error.Detail);
    }

    [Fact]
    public async Task Non_json_error_body_becomes_trimmed_text()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Forbidden, "\n   Access denied by policy   \n", "text/plain");

        var error = await Assert.ThrowsAsync<FalAuthenticationException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Equal("FalUnauthorized", error.ErrorId);
        Assert.Equal(403, error.StatusCode);
        Assert.Equal("Access denied by policy", error.Detail);
    }

    [Fact]
    public async Task Error_type_header_is_used_when_the_body_has_none()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Respond(HttpStatusCode.InternalServerError, """{"detail":"crash"}""", "application/json",
            ("X-Fal-Error-Type", "runner_server_error"), ("x-fal-request-id", "req-h"));

        var error = await Assert.ThrowsAsync<FalServerException>(() => t.Client.GetResultAsync(TestClient.Handle()));

        Assert.Equal("runner_server_error", error.ErrorType);
        Assert.Equal("req-h", error.RequestId);
        Assert.Equal("crash", error.Detail);
    }

    [Fact]
    public async Task Not_found_maps_to_its_own_type()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.NotFound, """{"detail":"Request not found"}""");

        var error = await Assert.ThrowsAsync<FalNotFoundException>(() => t.Client.GetStatusAsync(TestClient.Handle("gone")));

        Assert.Equal("gone", error.RequestId);
        Assert.Contains("gone", error.Message);
    }

    [Fact]
    public async Task Key_never_appears_in_an_exception_message()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.Unauthorized,
            $$"""{"detail":"Invalid key {{TestClient.Key}} (id {{TestClient.KeyId}}, secret {{TestClient.KeySecret}})"}""");

        var error = await Assert.ThrowsAsync<FalAuthenticationException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.DoesNotContain(TestClient.KeySecret, error.Message);
        Assert.DoesNotContain(TestClient.KeyId, error.Message);
        Assert.DoesNotContain(TestClient.KeySecret, error.Detail);
        Assert.Contains("***", error.Message);
        Assert.Contains("check the fal.ai API key", error.Message);
    }

    [Fact]
    public async Task Key_never_appears_in_a_transport_error_message()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Throw(new HttpRequestException($"proxy said: bad credentials {TestClient.Key}"));

        var error = await Assert.ThrowsAsync<FalNetworkException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.DoesNotContain(TestClient.KeySecret, error.Message);
        Assert.All(t.Log, line => Assert.DoesNotContain(TestClient.KeySecret, line));
    }

    [Fact]
    public async Task Oversized_json_body_is_a_protocol_error()
    {
        using var t = new TestClient();
        var huge = "{\"status\":\"IN_QUEUE\",\"pad\":\"" + new string('x', 5 * 1024 * 1024) + "\"}";
        t.Handler.Respond(HttpStatusCode.Accepted, huge);

        var error = await Assert.ThrowsAsync<FalProtocolException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Equal("FalProtocolError", error.ErrorId);
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task Non_json_success_body_is_a_protocol_error()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "<html>hello</html>", "text/html");

        var error = await Assert.ThrowsAsync<FalProtocolException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        Assert.Contains("<html>hello</html>", error.Message);
    }
}
