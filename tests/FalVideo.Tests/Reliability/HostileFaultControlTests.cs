using System.Net;
using FalVideo.Emulator;
using FalVideo.Tests.Emulator;

namespace FalVideo.Tests.Reliability;

/// <summary>The hostile-server fault actions as a test in another language scripts them: JSON rules, their checks, the
/// framing on the wire and the counters <c>GET /_emulator/faults</c> shows.</summary>
public sealed class HostileFaultControlTests : EmulatorControlTestBase
{
    [Theory]
    [InlineData("""{"route": "download", "action": "endless-sse-line"}""", "status stream only")]
    [InlineData("""{"route": "stream", "action": "truncate-no-length"}""", "does not apply to the status stream")]
    [InlineData("""{"route": "download", "action": "trickle", "bytes_per_second": 0}""", "bytes_per_second must be at least 1")]
    [InlineData("""{"route": "result", "action": "truncate-no-length", "limit_bytes": -1}""", "limit_bytes must not be negative")]
    [InlineData("""{"route": "result", "action": "truncate-no-length", "limit_bytes": 1.5}""", "'limit_bytes' must be a whole number")]
    public async Task A_hostile_rule_that_cannot_apply_is_a_400_and_is_not_kept(string rule, string detail)
    {
        var response = await _http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody(rule));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(detail, (await EmulatorFixture.BodyAsync(response)).GetProperty("detail").GetString());
        Assert.Empty(_emulator.Faults.Rules);
    }

    [Fact]
    public async Task Truncate_no_length_sends_part_of_the_body_chunked_and_ends_normally_counted_in_the_listing()
    {
        var (status, job) = await EmulatorFixture.SubmitAsync(_http, EmulatorFixture.KlingT2V, """{"prompt": "A fox", "duration": "5"}""");
        Assert.Equal(200, status);
        var resultUrl = job.GetProperty("response_url").GetString()!;
        var whole = await _http.GetByteArrayAsync(resultUrl);
        var posted = await _http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody("""{"route": "result", "action": "truncate-no-length", "limit_bytes": 10}"""));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        using var cut = await _http.GetAsync(resultUrl, HttpCompletionOption.ResponseHeadersRead);
        // Read before the body: once it is buffered, HttpContent reports the buffer's length.
        var announced = cut.Content.Headers.ContentLength;
        var body = await cut.Content.ReadAsByteArrayAsync(); // a normal end: no exception
        var listed = await EmulatorFixture.GetJsonAsync(_http, "/_emulator/faults");

        Assert.Equal(HttpStatusCode.OK, cut.StatusCode);
        Assert.Null(announced);
        Assert.True(cut.Headers.TransferEncodingChunked);
        Assert.Equal(whole.Take(10), body);
        var rule = Assert.Single(listed.Body.GetProperty("rules").EnumerateArray());
        Assert.Equal("truncate-no-length", rule.GetProperty("action").GetString());
        Assert.Equal(10, rule.GetProperty("limit_bytes").GetInt64());
        Assert.Equal(10, rule.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(0, rule.GetProperty("client_gave_up").GetInt32());
    }

    [Fact]
    public async Task Trickle_keeps_the_full_length_and_is_still_sending_when_the_client_leaves()
    {
        var (_, job) = await EmulatorFixture.SubmitAsync(_http, EmulatorFixture.KlingT2V, """{"prompt": "A hare", "duration": "5"}""");
        var resultUrl = job.GetProperty("response_url").GetString()!;
        var whole = await _http.GetByteArrayAsync(resultUrl);
        await _http.PostAsync("/_emulator/faults", EmulatorFixture.JsonBody("""{"route": "result", "action": "trickle", "bytes_per_second": 40}"""));

        var slow = await _http.GetAsync(resultUrl, HttpCompletionOption.ResponseHeadersRead);
        var start = new byte[8];
        using (var stream = await slow.Content.ReadAsStreamAsync())
        {
            var got = 0;
            while (got < start.Length) got += await stream.ReadAsync(start, got, start.Length - got);
        }
        slow.Dispose();
        var armed = Assert.Single(_emulator.Faults.Rules);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (armed.ClientGaveUp == 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);

        Assert.Equal(whole.Length, slow.Content.Headers.ContentLength);
        Assert.Equal(whole.Take(8), start);
        Assert.Equal(1, armed.ClientGaveUp);
        // At 40 bytes a second the whole answer takes seconds: the client left long before it was sent.
        Assert.InRange(armed.BytesSent, 8, whole.Length - 1);
        var rule = Assert.Single((await EmulatorFixture.GetJsonAsync(_http, "/_emulator/faults")).Body.GetProperty("rules").EnumerateArray());
        Assert.Equal(40, rule.GetProperty("bytes_per_second").GetInt32());
        Assert.Equal(armed.BytesSent, rule.GetProperty("bytes_sent").GetInt64());
    }
}
