using System.Diagnostics;
using System.Net;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>Submit, status, result, cancel and download over real HTTP, as PROTOCOL.md describes them.</summary>
public sealed class QueueFlowTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const string Prompt = """{"prompt": "A lighthouse at dusk, slow dolly in", "duration": "5", "generate_audio": false}""";

    [Fact]
    public async Task Submit_then_status_result_and_download_follow_the_returned_urls()
    {
        var (code, submitted) = await fixture.SubmitAsync(KlingT2V, Prompt);

        Assert.Equal(200, code);
        var id = submitted.GetProperty("request_id").GetString()!;
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal("IN_QUEUE", submitted.GetProperty("status").GetString());
        Assert.Equal(0, submitted.GetProperty("queue_position").GetInt32());
        var responseUrl = $"{fixture.BaseUrl}/fal-ai/kling-video/requests/{id}";
        Assert.Equal(responseUrl, submitted.GetProperty("response_url").GetString());
        Assert.Equal(responseUrl + "/status", submitted.GetProperty("status_url").GetString());
        Assert.Equal(responseUrl + "/cancel", submitted.GetProperty("cancel_url").GetString());

        var (statusCode, status) = await GetJsonAsync(fixture.Http, submitted.GetProperty("status_url").GetString() + "?logs=1");
        Assert.Equal(200, statusCode);
        Assert.Equal("COMPLETED", status.GetProperty("status").GetString());
        Assert.Equal(id, status.GetProperty("request_id").GetString());
        Assert.Equal(0, status.GetProperty("metrics").GetProperty("inference_time").GetDouble());
        var logs = status.GetProperty("logs").EnumerateArray().ToList();
        Assert.Equal(2, logs.Count);
        Assert.All(logs, log => Assert.Equal("INFO", log.GetProperty("level").GetString()));
        Assert.False(status.TryGetProperty("error", out _));

        using var result = await fixture.Http.GetAsync(responseUrl);
        Assert.Equal(HttpStatusCode.OK, result.StatusCode);
        Assert.Equal(id, result.Headers.GetValues("x-fal-request-id").Single());
        var video = (await BodyAsync(result)).GetProperty("video");
        Assert.Equal($"{fixture.BaseUrl}/cdn/{id}/output.mp4", video.GetProperty("url").GetString());
        Assert.Equal("video/mp4", video.GetProperty("content_type").GetString());
        Assert.Equal("output.mp4", video.GetProperty("file_name").GetString());

        using var anonymous = new HttpClient();
        using var download = await anonymous.GetAsync(video.GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("video/mp4", download.Content.Headers.ContentType!.MediaType);
        var bytes = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(video.GetProperty("file_size").GetInt64(), bytes.Length);
        Assert.Equal(bytes.Length, download.Content.Headers.ContentLength);
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4));

        var job = fixture.Emulator.State.Jobs.Single(j => j.RequestId == id);
        Assert.Equal(KlingT2V, job.EndpointId);
        Assert.Equal("fal-ai/kling-video", job.AppId);
        Assert.Equal(Prompt, job.Input);
        Assert.Equal(JobStatus.Completed, job.Status);
    }

    [Fact]
    public async Task Downloaded_video_is_a_real_mp4_that_ffprobe_accepts()
    {
        var (_, submitted) = await fixture.SubmitAsync(KlingT2V, Prompt);
        var id = submitted.GetProperty("request_id").GetString()!;
        var file = Path.Combine(Path.GetTempPath(), $"falvideo-emulator-{id}.mp4");
        try
        {
            await File.WriteAllBytesAsync(file, await fixture.Http.GetByteArrayAsync($"/cdn/{id}/output.mp4"));
            var probe = new ProcessStartInfo("ffprobe", ["-v", "error", "-show_format", "-show_streams", file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            Process process;
            try
            {
                process = Process.Start(probe) ?? throw new InvalidOperationException("ffprobe did not start");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("ffprobe is needed for this test: apt-get install -y --no-install-recommends ffmpeg (test.sh does).", e);
            }
            using var _ = process;
            var output = await process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0, $"ffprobe exited {process.ExitCode}: {errors}");
            Assert.Contains("format_name=mov,mp4", output);
            Assert.Contains("codec_name=h264", output);
            Assert.Contains("codec_name=aac", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Cdn_honours_range_requests()
    {
        var (_, submitted) = await fixture.SubmitAsync(KlingT2V, Prompt);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/cdn/{submitted.GetProperty("request_id").GetString()}/output.mp4");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(4, 7);

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("ftyp", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/fal-ai/kling-video/v3/pro/text-to-video/requests/{id}/status")]
    [InlineData("/fal-ai/kling-video/v3/pro/text-to-video/requests/{id}")]
    [InlineData("/fal-ai/minimax/requests/{id}/status")]
    [InlineData("/other-owner/kling-video/requests/{id}/status")]
    [InlineData("/fal-ai/kling-video/v3/requests/{id}/status")]
    public async Task Request_urls_that_keep_the_sub_path_or_name_another_app_are_404(string template)
    {
        var (_, submitted) = await fixture.SubmitAsync(KlingT2V, Prompt);
        var id = submitted.GetProperty("request_id").GetString()!;

        using var wrong = await fixture.Http.GetAsync(template.Replace("{id}", id));
        using var right = await fixture.Http.GetAsync($"/fal-ai/kling-video/requests/{id}/status");

        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    [Fact]
    public async Task Unknown_request_id_is_404_with_detail()
    {
        var (code, body) = await GetJsonAsync(fixture.Http, $"/fal-ai/kling-video/requests/{Guid.NewGuid()}/status");

        Assert.Equal(404, code);
        Assert.Equal("Request not found", body.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task Queue_routes_without_a_key_are_401_and_create_no_job(string? key)
    {
        using var client = fixture.CreateClient(null);
        if (key is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Key " + key);
        var before = fixture.Emulator.State.AcceptedSubmissions;

        var (code, body) = await SubmitAsync(client, KlingT2V, Prompt);
        var (statusCode, _) = await GetJsonAsync(client, $"/fal-ai/kling-video/requests/{Guid.NewGuid()}/status");

        Assert.Equal(401, code);
        Assert.Contains("Authorization: Key", body.GetProperty("detail").GetString());
        Assert.Equal(401, statusCode);
        Assert.Equal(before, fixture.Emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public async Task A_required_key_refuses_other_keys()
    {
        await using var strict = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", RequiredApiKey = "right" });
        using var wrongKey = CreateClient(strict, "wrong");
        using var rightKey = CreateClient(strict, "right");

        var (wrongCode, wrongBody) = await SubmitAsync(wrongKey, KlingT2V, Prompt);
        var (rightCode, _) = await SubmitAsync(rightKey, KlingT2V, Prompt);

        Assert.Equal(401, wrongCode);
        Assert.Equal("Invalid API key.", wrongBody.GetProperty("detail").GetString());
        Assert.Equal(200, rightCode);
        Assert.Equal(1, strict.State.AcceptedSubmissions);
    }

    [Fact]
    public async Task Cancel_of_a_queued_job_is_accepted_then_already_completed()
    {
        await using var slow = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = 30, Concurrency = 1 });
        using var http = CreateClient(slow, ApiKey);
        var (_, running) = await SubmitAsync(http, KlingT2V, Prompt);
        var (_, queued) = await SubmitAsync(http, KlingT2V, Prompt);
        var cancelUrl = queued.GetProperty("cancel_url").GetString();

        using var first = await http.PutAsync(cancelUrl, null);
        using var second = await http.PutAsync(cancelUrl, null);
        using var unknown = await http.PutAsync($"/fal-ai/kling-video/requests/{Guid.NewGuid()}/cancel", null);
        var (statusCode, status) = await GetJsonAsync(http, queued.GetProperty("status_url").GetString()!);
        using var result = await http.GetAsync(queued.GetProperty("response_url").GetString());
        var (runningCode, runningStatus) = await GetJsonAsync(http, running.GetProperty("status_url").GetString()!);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("CANCELLATION_REQUESTED", (await BodyAsync(first)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("ALREADY_COMPLETED", (await BodyAsync(second)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("NOT_FOUND", (await BodyAsync(unknown)).GetProperty("status").GetString());
        Assert.Equal(200, statusCode);
        Assert.Equal("COMPLETED", status.GetProperty("status").GetString());
        Assert.Equal("cancelled", status.GetProperty("error_type").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, result.StatusCode);
        Assert.Equal("cancelled", result.Headers.GetValues("X-Fal-Error-Type").Single());
        Assert.Equal(202, runningCode);
        Assert.Equal("IN_PROGRESS", runningStatus.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_of_a_running_job_is_accepted_and_the_job_still_finishes()
    {
        await using var slow = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = 30 });
        using var http = CreateClient(slow, ApiKey);
        var (_, submitted) = await SubmitAsync(http, KlingT2V, Prompt);

        using var cancel = await http.PutAsync(submitted.GetProperty("cancel_url").GetString(), null);
        using var again = await http.PutAsync(submitted.GetProperty("cancel_url").GetString(), null);
        using var early = await http.GetAsync(submitted.GetProperty("response_url").GetString());

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, early.StatusCode);
        Assert.Equal("Request is still in progress", (await BodyAsync(early)).GetProperty("detail").GetString());
        var job = slow.State.Jobs.Single();
        Assert.True(job.CancelRequested);
        Assert.Equal(JobStatus.InProgress, job.Status);
    }

    [Theory]
    [InlineData("[emulator:fail]", "runner_disconnected", 503)]
    [InlineData("[emulator:fail=request_timeout]", "request_timeout", 504)]
    [InlineData("[emulator:fail=runner_server_error]", "runner_server_error", 500)]
    public async Task Failure_marker_completes_with_error_and_the_result_returns_it(string marker, string errorType, int resultCode)
    {
        var (_, submitted) = await fixture.SubmitAsync("fal-ai/minimax/hailuo-2.3/pro/text-to-video",
            $$"""{"prompt": "A storm over the sea {{marker}}"}""");

        var (statusCode, status) = await GetJsonAsync(fixture.Http, submitted.GetProperty("status_url").GetString() + "?logs=1");
        using var result = await fixture.Http.GetAsync(submitted.GetProperty("response_url").GetString());
        var body = await BodyAsync(result);

        Assert.Equal(200, statusCode);
        Assert.Equal("COMPLETED", status.GetProperty("status").GetString());
        Assert.Equal(errorType, status.GetProperty("error_type").GetString());
        Assert.False(string.IsNullOrEmpty(status.GetProperty("error").GetString()));
        Assert.Equal("ERROR", status.GetProperty("logs").EnumerateArray().Last().GetProperty("level").GetString());
        Assert.Equal(resultCode, (int)result.StatusCode);
        Assert.Equal(errorType, result.Headers.GetValues("X-Fal-Error-Type").Single());
        Assert.Equal(errorType, body.GetProperty("error_type").GetString());
        Assert.Equal(status.GetProperty("error").GetString(), body.GetProperty("detail").GetString());

        using var video = await fixture.Http.GetAsync($"/cdn/{submitted.GetProperty("request_id").GetString()}/output.mp4");
        Assert.Equal(HttpStatusCode.NotFound, video.StatusCode);
    }

    [Fact]
    public async Task Seconds_marker_sets_the_run_time_of_one_job()
    {
        await using var own = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        using var http = CreateClient(own, ApiKey);
        var (_, slow) = await SubmitAsync(http, KlingT2V, """{"prompt": "slow one [emulator:seconds=30]"}""");
        var (_, quick) = await SubmitAsync(http, KlingT2V, """{"prompt": "quick one"}""");

        var (slowCode, slowStatus) = await GetJsonAsync(http, slow.GetProperty("status_url").GetString()!);
        var (quickCode, _) = await GetJsonAsync(http, quick.GetProperty("status_url").GetString()!);

        Assert.Equal(202, slowCode);
        Assert.Equal("IN_PROGRESS", slowStatus.GetProperty("status").GetString());
        Assert.Equal(200, quickCode);
        Assert.Equal([30, 0], own.State.Jobs.Select(j => j.RunSeconds));
    }

    [Fact]
    public async Task Stats_count_requests_and_reset_forgets_everything()
    {
        await using var own = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        using var http = CreateClient(own, ApiKey);
        var (_, submitted) = await SubmitAsync(http, KlingT2V, Prompt);
        await GetJsonAsync(http, submitted.GetProperty("status_url").GetString()!);
        await SubmitAsync(http, KlingT2V, "{}");

        var (_, stats) = await GetJsonAsync(http, "/_emulator/stats");

        Assert.Equal(1, stats.GetProperty("accepted_submissions").GetInt32());
        Assert.Equal(1, stats.GetProperty("status_requests").GetInt32());
        Assert.Equal(1, stats.GetProperty("completed").GetInt32());
        Assert.Equal(4, stats.GetProperty("requests").GetInt32());
        Assert.Equal(4, own.State.Requests);

        using var reset = await http.PostAsync("/_emulator/reset", null);
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal(0, own.State.AcceptedSubmissions);
        Assert.Empty(own.State.Jobs);
        var (afterCode, _) = await GetJsonAsync(http, submitted.GetProperty("status_url").GetString()!);
        Assert.Equal(404, afterCode);
    }
}
