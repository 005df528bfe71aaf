using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FalVideo.Benchmark;

/// <summary>
/// The floor: the fewest HTTP calls that do the work with polling, through one pooled <see cref="HttpClient"/>.
/// Submit every row, then for each job poll <c>status_url</c> until <c>COMPLETED</c> and GET <c>response_url</c> once.
/// No retries, no logs, no journal, no objects beyond what the next call needs.
/// </summary>
internal static class FloorContender
{
    private sealed record Job(string StatusUrl, string ResponseUrl);

    public static async Task<ChildReport> RunAsync(Uri baseUrl, int rows, int parallel, TimeSpan pollInterval)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = parallel });
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Key", "bench-key");
        var submitUrl = new Uri(baseUrl, Workload.EndpointId);
        var jobs = new Job[rows];
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallel };
        var completed = 0;
        var errors = 0;

        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, rows), options, async (i, ct) =>
        {
            using var body = new StringContent(Workload.InputJson(i + 1), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(submitUrl, body, ct);
            response.EnsureSuccessStatusCode();
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            jobs[i] = new Job(json.RootElement.GetProperty("status_url").GetString()!, json.RootElement.GetProperty("response_url").GetString()!);
        });

        await Parallel.ForEachAsync(jobs, options, async (job, ct) =>
        {
            while (true)
            {
                using var response = await http.GetAsync(job.StatusUrl, ct);
                using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
                if (json.RootElement.GetProperty("status").GetString() == "COMPLETED") break;
                await Task.Delay(pollInterval, ct);
            }
            using var result = await http.GetAsync(job.ResponseUrl, ct);
            using var resultJson = await JsonDocument.ParseAsync(await result.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            if (result.IsSuccessStatusCode && resultJson.RootElement.TryGetProperty("video", out var video) &&
                video.TryGetProperty("url", out var url) && url.GetString() is { Length: > 0 })
            {
                Interlocked.Increment(ref completed);
            }
            else
            {
                Interlocked.Increment(ref errors);
            }
        });
        clock.Stop();

        return ChildReport.Measure($"HttpClient, {Environment.Version}, {parallel} in flight, poll {pollInterval.TotalMilliseconds:0} ms",
            clock.Elapsed, completed, errors);
    }
}
