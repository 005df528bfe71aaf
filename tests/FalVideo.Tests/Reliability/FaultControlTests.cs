using System.Net;
using System.Text.Json;
using FalVideo.Emulator;
using FalVideo.Emulator.Faults;
using FalVideo.Tests.Emulator;

namespace FalVideo.Tests.Reliability;

/// <summary>The emulator's fault control route and restart, as a runbook rehearsal (or a test in another language) uses them.</summary>
public sealed class FaultControlTests : EmulatorControlTestBase
{
    [Fact]
    public async Task Rules_posted_as_JSON_fire_in_order_then_pass_and_DELETE_clears_them()
    {
        var posted = await _http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody("""
            [{"route": "submit", "status": 429, "retry_after": 2, "times": 2},
             {"route": "submit", "action": "reset-after"}]
            """));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var input = """{"prompt": "A fox", "duration": "5"}""";

        var first = await _http.PostAsync("/" + EmulatorFixture.KlingT2V, EmulatorFixture.JsonBody(input));
        var second = await _http.PostAsync("/" + EmulatorFixture.KlingT2V, EmulatorFixture.JsonBody(input));
        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), first.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(0, _emulator.State.AcceptedSubmissions);

        // reset-after: the job is created, the connection dropped before the answer.
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.PostAsync("/" + EmulatorFixture.KlingT2V, EmulatorFixture.JsonBody(input)));
        Assert.Equal(1, _emulator.State.AcceptedSubmissions);
        var fourth = await _http.PostAsync("/" + EmulatorFixture.KlingT2V, EmulatorFixture.JsonBody(input));
        Assert.Equal(HttpStatusCode.OK, fourth.StatusCode);

        var listed = await EmulatorFixture.GetJsonAsync(_http, "/_emulator/faults");
        Assert.Equal([2, 1], listed.Body.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("fired").GetInt32()));
        Assert.Equal(4, listed.Body.GetProperty("requests").GetProperty("submit").GetInt32());
        Assert.Equal(3, listed.Body.GetProperty("injected").GetInt32());

        var cleared = await _http.DeleteAsync("/_emulator/faults");
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.Empty(_emulator.Faults.Rules);
    }

    [Fact]
    public async Task A_bad_rule_is_a_400_naming_what_is_allowed()
    {
        var response = await _http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody("""{"route": "everything"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await EmulatorFixture.BodyAsync(response)).GetProperty("detail").GetString();
        Assert.Contains("upload-initiate", detail);
        Assert.Empty(_emulator.Faults.Rules);
    }

    [Fact]
    public async Task A_restart_keeps_the_port_the_jobs_and_their_timeline()
    {
        var (code, body) = await EmulatorFixture.SubmitAsync(_http, EmulatorFixture.KlingT2V, """{"prompt": "Across a restart [emulator:seconds=1]", "duration": "5"}""");
        Assert.Equal(200, code);
        var statusUrl = body.GetProperty("status_url").GetString()!;

        await _emulator.StopAsync(TimeSpan.Zero);
        Assert.False(_emulator.IsListening);
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync(statusUrl));
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // the job finishes while nobody can ask
        await _emulator.StartAgainAsync();

        var (statusCode, status) = await EmulatorFixture.GetJsonAsync(_http, statusUrl);
        Assert.Equal(200, statusCode);
        Assert.Equal("COMPLETED", status.GetProperty("status").GetString());
        Assert.Equal(1, _emulator.State.AcceptedSubmissions);
    }
}
