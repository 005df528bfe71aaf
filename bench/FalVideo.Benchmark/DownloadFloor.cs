using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FalVideo.Benchmark;

/// <summary>
/// The download profile's floor: one pooled <see cref="HttpClient"/> runs the jobs (submit, poll, result; untimed),
/// then downloads every video with a given number in flight, each response streamed to its file.
/// </summary>
internal static class DownloadFloor
{
    /// <summary>Runs <paramref name="rows"/> jobs, then times their downloads into <paramref name="dir"/>.</summary>
    /// <returns>Figures <c>seconds</c>, <c>bytes</c>, <c>files</c>, <c>errors</c>.</returns>
    public static async Task<FigureReport> RunAsync(Uri baseUrl, int rows, int parallel, string dir)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(parallel, 32) }) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Key", "bench-key");
        var urls = new string[rows];
        await Parallel.ForEachAsync(Enumerable.Range(0, rows), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            using var body = new StringContent(Workload.InputJson(i + 1), Encoding.UTF8, "application/json");
            using var submitted = await http.PostAsync(new Uri(baseUrl, Workload.EndpointId), body, ct);
            using var job = JsonDocument.Parse(await submitted.EnsureSuccessStatusCode().Content.ReadAsStringAsync(ct));
            while (true)
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync(job.RootElement.GetProperty("status_url").GetString(), ct));
                if (status.RootElement.GetProperty("status").GetString() == "COMPLETED") break;
                await Task.Delay(200, ct);
            }
            using var result = JsonDocument.Parse(await http.GetStringAsync(job.RootElement.GetProperty("response_url").GetString(), ct));
            urls[i] = result.RootElement.GetProperty("video").GetProperty("url").GetString()!;
        });

        long bytes = 0;
        int files = 0, errors = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, rows), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
        {
            try
            {
                using var response = await http.GetAsync(urls[i], HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                await using var file = File.Create(Path.Combine(dir, $"video{i + 1}.mp4"));
                await response.Content.CopyToAsync(file, ct);
                Interlocked.Add(ref bytes, file.Length);
                Interlocked.Increment(ref files);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref errors);
            }
        });
        clock.Stop();
        return new FigureReport("download-floor",
            new Dictionary<string, double> { ["seconds"] = clock.Elapsed.TotalSeconds, ["bytes"] = bytes, ["files"] = files, ["errors"] = errors, ["parallel"] = parallel },
            [$"HttpClient, {Environment.Version}, {parallel} in flight"]);
    }
}
