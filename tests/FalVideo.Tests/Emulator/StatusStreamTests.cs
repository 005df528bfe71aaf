using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>The SSE status stream (PROTOCOL.md, "Status stream (SSE)"): one event at once, one per change, closed after COMPLETED.
/// A manual clock drives the job, so each change is made by the test and the events are exact.</summary>
public sealed class StatusStreamTests
{
    private static async IAsyncEnumerable<JsonElement> EventsAsync(HttpClient http, string url, [EnumeratorCancellation] CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
                yield return JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
        }
    }

    private static async Task<List<JsonElement>> ReadEventsAsync(HttpClient http, string url, CancellationToken ct)
    {
        var events = new List<JsonElement>();
        await foreach (var e in EventsAsync(http, url, ct)) events.Add(e);
        return events;
    }

    [Fact]
    public async Task Stream_sends_an_event_per_change_and_closes_after_completed()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0", JobSeconds = 10, Concurrency = 1, TimeProvider = clock,
        });
        using var http = CreateClient(emulator, ApiKey);
        await SubmitAsync(http, KlingT2V, """{"prompt":"first"}""");
        var (_, second) = await SubmitAsync(http, KlingT2V, """{"prompt":"second"}""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = new List<JsonElement>();

        await using (var stream = EventsAsync(http, second.GetProperty("status_url").GetString() + "/stream?logs=1", timeout.Token).GetAsyncEnumerator())
        {
            // The next event that reports a change; the repeats sent every 2 s while nothing happens are skipped.
            async Task<JsonElement> NextAsync()
            {
                while (true)
                {
                    Assert.True(await stream.MoveNextAsync(), "the stream closed early");
                    var current = stream.Current;
                    var previous = events.Count > 0 ? events[^1] : (JsonElement?)null;
                    events.Add(current);
                    if (previous is not { } last || Describe(last) != Describe(current) || current.GetProperty("logs").GetArrayLength() > 0)
                        return current;
                }
            }

            static string Describe(JsonElement e) =>
                e.GetProperty("status").GetString() + (e.TryGetProperty("queue_position", out var p) ? p.GetInt32().ToString() : "");

            var queued = await NextAsync();
            Assert.Equal("IN_QUEUE", queued.GetProperty("status").GetString());
            Assert.Equal(0, queued.GetProperty("queue_position").GetInt32());
            Assert.Empty(queued.GetProperty("logs").EnumerateArray());

            clock.Advance(10);
            var started = await NextAsync();
            Assert.Equal("IN_PROGRESS", started.GetProperty("status").GetString());
            Assert.False(started.TryGetProperty("queue_position", out _));

            clock.Advance(5);
            var halfway = await NextAsync();
            Assert.Equal("IN_PROGRESS", halfway.GetProperty("status").GetString());
            Assert.Equal("Generating frames: 50%", Assert.Single(halfway.GetProperty("logs").EnumerateArray()).GetProperty("message").GetString());

            clock.Advance(5);
            var completed = await NextAsync();
            Assert.Equal("COMPLETED", completed.GetProperty("status").GetString());
            Assert.Equal(10, completed.GetProperty("metrics").GetProperty("inference_time").GetDouble());
            Assert.False(await stream.MoveNextAsync(), "the stream stayed open after COMPLETED");
        }

        // Each event carries only new log lines; together they are the whole log, in order.
        var messages = events.SelectMany(e => e.GetProperty("logs").EnumerateArray()).Select(l => l.GetProperty("message").GetString()).ToList();
        Assert.Equal(3, messages.Count);
        Assert.StartsWith("Runner assigned", messages[0]);
        Assert.Equal("Video ready: output.mp4", messages[^1]);
        Assert.Equal(1, emulator.State.StatusRequests);
    }

    [Fact]
    public async Task Stream_of_a_completed_job_sends_one_event_and_closes()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        using var http = CreateClient(emulator, ApiKey);
        var (_, submitted) = await SubmitAsync(http, KlingT2V, """{"prompt":"p [emulator:fail]"}""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var events = await ReadEventsAsync(http, submitted.GetProperty("status_url").GetString() + "/stream", timeout.Token);

        var only = Assert.Single(events);
        Assert.Equal("COMPLETED", only.GetProperty("status").GetString());
        Assert.Equal("runner_disconnected", only.GetProperty("error_type").GetString());
        Assert.False(only.TryGetProperty("logs", out _));
    }

    [Fact]
    public async Task Stream_of_an_unknown_request_is_404()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        using var http = CreateClient(emulator, ApiKey);

        using var response = await http.GetAsync($"/fal-ai/kling-video/requests/{Guid.NewGuid()}/status/stream");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_client_that_leaves_early_does_not_hold_up_the_emulator()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = 600 });
        using var http = CreateClient(emulator, ApiKey);
        var (_, submitted) = await SubmitAsync(http, KlingT2V, """{"prompt":"p"}""");

        using (var response = await http.GetAsync(submitted.GetProperty("status_url").GetString() + "/stream", HttpCompletionOption.ResponseHeadersRead))
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
        {
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
        }

        var stop = emulator.StopAsync();
        Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(10))));
    }
}
