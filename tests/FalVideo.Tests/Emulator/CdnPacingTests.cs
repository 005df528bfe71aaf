using System.Diagnostics;
using System.Net;
using System.Text.Json;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// The CDN route's size and pace options (<see cref="EmulatorOptions.VideoBytes"/>,
/// <see cref="EmulatorOptions.CdnBytesPerSecondPerConnection"/>), which the benchmark's download profile relies on.
/// </summary>
public sealed class CdnPacingTests
{
    private const string Input = """{"prompt":"a lighthouse at dusk","duration":"5","generate_audio":false}""";

    /// <summary>Submits one instant job and returns its result's video element once it has completed.</summary>
    private static async Task<JsonElement> VideoOfNewJobAsync(HttpClient http)
    {
        var (status, submitted) = await SubmitAsync(http, KlingT2V, Input);
        Assert.Equal(200, status);
        var statusUrl = submitted.GetProperty("status_url").GetString()!;
        for (var i = 0; i < 100; i++)
        {
            var (_, body) = await GetJsonAsync(http, statusUrl);
            if (body.GetProperty("status").GetString() == "COMPLETED") break;
            await Task.Delay(50);
        }
        var (resultStatus, result) = await GetJsonAsync(http, submitted.GetProperty("response_url").GetString()!);
        Assert.Equal(200, resultStatus);
        return result.GetProperty("video");
    }

    [Fact]
    public async Task Video_bytes_option_sets_the_size_every_job_serves()
    {
        const long size = 3 * 1024 * 1024 + 5;
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", VideoBytes = size });
        using var http = CreateClient(emulator, ApiKey);

        var video = await VideoOfNewJobAsync(http);
        var bytes = await http.GetByteArrayAsync(video.GetProperty("url").GetString());

        Assert.Equal(size, video.GetProperty("file_size").GetInt64());
        Assert.Equal(size, bytes.LongLength);
    }

    [Fact]
    public async Task Capped_connection_cannot_download_faster_than_the_cap()
    {
        const long size = 2 * 1024 * 1024;
        const long cap = 1024 * 1024; // bytes per second: 2 MiB need 2 s, less the first slice sent at once
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0",
            VideoBytes = size,
            CdnBytesPerSecondPerConnection = cap,
        });
        using var http = CreateClient(emulator, ApiKey);
        var url = (await VideoOfNewJobAsync(http)).GetProperty("url").GetString()!;

        var clock = Stopwatch.StartNew();
        var bytes = await http.GetByteArrayAsync(url);
        clock.Stop();

        // A lower bound only: a slow machine can take longer, never less.
        Assert.Equal(size, bytes.LongLength);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"2 MiB at 1 MiB/s arrived in {clock.Elapsed.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task Capped_range_request_still_returns_the_asked_bytes()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0",
            VideoBytes = 1024 * 1024,
            CdnBytesPerSecondPerConnection = 4 * 1024 * 1024,
        });
        using var http = CreateClient(emulator, ApiKey);
        var url = (await VideoOfNewJobAsync(http)).GetProperty("url").GetString()!;
        var whole = await http.GetByteArrayAsync(url);

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 299);
        using var partial = await http.SendAsync(request);
        var part = await partial.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(whole.AsSpan(100, 200).ToArray(), part);
    }
}
