using System.Diagnostics;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// The concurrency limit and FIFO queue (PROTOCOL.md, "Concurrency"): jobs beyond the limit wait IN_QUEUE with
/// queue_position = requests ahead. A manual clock makes every state exact.
/// </summary>
public sealed class QueueSchedulingTests
{
    private const string Input = """{"prompt":"p"}""";

    private static async Task<(RunningEmulator Emulator, HttpClient Http, ManualClock Clock)> StartAsync(int concurrency, double jobSeconds)
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 6, 12, 9, 0, 0, TimeSpan.Zero));
        var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0", Concurrency = concurrency, JobSeconds = jobSeconds, TimeProvider = clock,
        });
        return (emulator, CreateClient(emulator, ApiKey), clock);
    }

    private static async Task<(int Code, string Status, int? Position)> StatusAsync(HttpClient http, string statusUrl)
    {
        var (code, body) = await GetJsonAsync(http, statusUrl);
        return (code, body.GetProperty("status").GetString()!,
            body.TryGetProperty("queue_position", out var p) ? p.GetInt32() : null);
    }

    [Fact]
    public async Task With_one_slot_jobs_run_one_after_another_and_positions_count_down()
    {
        var (emulator, http, clock) = await StartAsync(concurrency: 1, jobSeconds: 10);
        await using var _ = emulator;
        using var __ = http;

        var submitted = new List<string>();
        var positionsAtSubmit = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var (_, body) = await SubmitAsync(http, KlingT2V, Input);
            submitted.Add(body.GetProperty("status_url").GetString()!);
            positionsAtSubmit.Add(body.GetProperty("queue_position").GetInt32());
        }
        Assert.Equal([0, 0, 1, 2], positionsAtSubmit);

        Assert.Equal((202, "IN_PROGRESS", (int?)null), await StatusAsync(http, submitted[0]));
        Assert.Equal((202, "IN_QUEUE", (int?)0), await StatusAsync(http, submitted[1]));
        Assert.Equal((202, "IN_QUEUE", (int?)2), await StatusAsync(http, submitted[3]));

        clock.Advance(10);
        Assert.Equal((200, "COMPLETED", (int?)null), await StatusAsync(http, submitted[0]));
        Assert.Equal((202, "IN_PROGRESS", (int?)null), await StatusAsync(http, submitted[1]));
        Assert.Equal((202, "IN_QUEUE", (int?)1), await StatusAsync(http, submitted[3]));

        // At 25 s: the second job ended at 20 s and the third runs from 20 s to 30 s.
        clock.Advance(15);
        Assert.Equal((200, "COMPLETED", (int?)null), await StatusAsync(http, submitted[1]));
        Assert.Equal((202, "IN_PROGRESS", (int?)null), await StatusAsync(http, submitted[2]));
        Assert.Equal((202, "IN_QUEUE", (int?)0), await StatusAsync(http, submitted[3]));

        clock.Advance(10);
        var jobs = emulator.State.Jobs.ToArray();
        Assert.Equal([JobStatus.Completed, JobStatus.Completed, JobStatus.Completed, JobStatus.InProgress], jobs.Select(j => j.Status));
        var t0 = jobs[0].SubmittedAt;
        Assert.Equal([0d, 10, 20, 30], jobs.Select(j => (j.StartedAt!.Value - t0).TotalSeconds));
    }

    [Fact]
    public async Task Cancelling_a_queued_job_moves_the_ones_behind_it_up()
    {
        var (emulator, http, _) = await StartAsync(concurrency: 2, jobSeconds: 60);
        await using var _ = emulator;
        using var __ = http;
        var bodies = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 5; i++) bodies.Add((await SubmitAsync(http, KlingT2V, Input)).Body);

        Assert.Equal((202, "IN_QUEUE", (int?)2), await StatusAsync(http, bodies[4].GetProperty("status_url").GetString()!));
        using var cancel = await http.PutAsync(bodies[3].GetProperty("cancel_url").GetString(), null);

        Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal((202, "IN_QUEUE", (int?)1), await StatusAsync(http, bodies[4].GetProperty("status_url").GetString()!));
        Assert.Equal((202, "IN_QUEUE", (int?)0), await StatusAsync(http, bodies[2].GetProperty("status_url").GetString()!));
    }

    [Fact]
    public async Task Cancelled_jobs_give_up_their_turn()
    {
        var (emulator, http, clock) = await StartAsync(concurrency: 1, jobSeconds: 10);
        await using var _ = emulator;
        using var __ = http;
        var bodies = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 3; i++) bodies.Add((await SubmitAsync(http, KlingT2V, Input)).Body);
        using var cancel = await http.PutAsync(bodies[1].GetProperty("cancel_url").GetString(), null);

        clock.Advance(10);

        Assert.Equal((202, "IN_PROGRESS", (int?)null), await StatusAsync(http, bodies[2].GetProperty("status_url").GetString()!));
        var jobs = emulator.State.Jobs.ToArray();
        Assert.Null(jobs[1].StartedAt);
        Assert.Equal("cancelled", jobs[1].ErrorType);
    }

    [Fact]
    public async Task Thousands_of_jobs_stay_cheap()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0", Concurrency = 2, JobSeconds = 1, TimeProvider = clock,
        });
        using var http = CreateClient(emulator, ApiKey);
        const int count = 3000;
        var stopwatch = Stopwatch.StartNew();
        string lastStatusUrl = "";
        for (var i = 0; i < count; i++)
            lastStatusUrl = (await SubmitAsync(http, KlingT2V, Input)).Body.GetProperty("status_url").GetString()!;

        Assert.Equal((202, "IN_QUEUE", (int?)(count - 3)), await StatusAsync(http, lastStatusUrl));
        clock.Advance(count / 2.0 - 1);
        Assert.Equal((202, "IN_PROGRESS", (int?)null), await StatusAsync(http, lastStatusUrl));
        clock.Advance(1);
        Assert.Equal((200, "COMPLETED", (int?)null), await StatusAsync(http, lastStatusUrl));
        Assert.Equal(count, emulator.State.Jobs.Count(j => j.Succeeded));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"{count} submissions took {stopwatch.Elapsed}");
    }
}
