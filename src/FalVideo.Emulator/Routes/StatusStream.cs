using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using FalVideo.Emulator.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// <c>GET .../requests/{id}/status/stream</c> (PROTOCOL.md, "Status stream (SSE)"): a <c>data:</c> event with the
/// status JSON at once, on every change and at least every <see cref="RepeatEvery"/> while waiting, a
/// <c>: keep-alive</c> comment every 15 s, and the stream closes after the COMPLETED event. Each event's
/// <c>logs</c> holds only lines not sent before, which is why fal-js accumulates them for its callback.
/// </summary>
internal static class StatusStream
{
    public static readonly TimeSpan RepeatEvery = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);

    // Job state is computed on read, so the stream looks often; a look costs one short lock.
    private static readonly TimeSpan LookEvery = TimeSpan.FromMilliseconds(100);

    public static async Task Run(HttpContext context, string requestId, JobScheduler jobs, EmulatorState state)
    {
        state.CountStatusRequest();
        var job = RequestRoutes.Find(context, requestId, jobs);
        if (job is null)
        {
            await RequestRoutes.NotFound().ExecuteAsync(context);
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-fal-request-id"] = requestId;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var wantsLogs = RequestRoutes.WantsLogs(context.Request);
        var baseUrl = context.Request.BaseUrl();
        // Ends when the client leaves or the emulator stops, so a shutdown never waits on an open stream.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted,
            context.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping);
        var aborted = ending.Token;
        var sinceEvent = Stopwatch.StartNew();
        var sinceKeepAlive = Stopwatch.StartNew();
        string? lastState = null;
        var logsSent = 0;
        try
        {
            // A reset forgets the job; the stream then just ends.
            for (; job is not null; job = RequestRoutes.Find(context, requestId, jobs))
            {
                var logs = wantsLogs ? JobLogs.For(job) : null;
                var current = $"{job.Status}|{job.QueuePosition}|{logs?.Count}";
                if (current != lastState || sinceEvent.Elapsed >= RepeatEvery)
                {
                    var body = QueueJson.Status(baseUrl, job, logs?.Skip(logsSent));
                    await response.WriteAsync($"data: {Responses.Text(body)}\n\n", aborted);
                    await response.Body.FlushAsync(aborted);
                    (lastState, logsSent) = (current, logs?.Count ?? 0);
                    sinceEvent.Restart();
                    if (job.Status == JobStatus.Completed) return;
                }
                if (sinceKeepAlive.Elapsed >= KeepAliveEvery)
                {
                    await response.WriteAsync(": keep-alive\n\n", aborted);
                    await response.Body.FlushAsync(aborted);
                    sinceKeepAlive.Restart();
                }
                await Task.Delay(LookEvery, aborted);
            }
        }
        catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away; nothing is left to send.
        }
    }
}
