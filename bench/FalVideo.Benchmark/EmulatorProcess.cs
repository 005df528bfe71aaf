using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FalVideo.Benchmark;

/// <summary>The emulator's counters after a run (<c>GET /_emulator/stats</c>).</summary>
/// <param name="Requests">Every HTTP request it received, minus the driver's own stats call.</param>
/// <param name="StatusRequests">Status polls plus status streams opened.</param>
/// <param name="AcceptedSubmissions">Jobs created.</param>
/// <param name="Completed">Jobs in the COMPLETED state.</param>
/// <param name="Failed">Jobs that completed with an error.</param>
internal sealed record EmulatorStats(int Requests, int StatusRequests, int AcceptedSubmissions, int Completed, int Failed);

/// <summary>
/// A fresh fal emulator in its own process on a free loopback port, so its CPU and memory stay out of the
/// contender's numbers and its counters start at zero. Disposing kills it.
/// </summary>
internal sealed partial class EmulatorProcess : IAsyncDisposable
{
    private readonly Process process;
    private static readonly HttpClient Http = new();

    private EmulatorProcess(Process process, Uri baseUrl)
    {
        this.process = process;
        BaseUrl = baseUrl;
    }

    /// <summary>Where the emulator listens, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Starts one emulator; <paramref name="extraArgs"/> go on its command line (e.g. <c>--video-mb 8</c>).</summary>
    public static async Task<EmulatorProcess> StartAsync(double jobSeconds, int concurrency, params string[] extraArgs)
    {
        var dir = BuildInfo.EmulatorDirectory;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "FalVideo.Emulator.exe" : "FalVideo.Emulator");
        var dll = Path.Combine(dir, "FalVideo.Emulator.dll");
        var start = File.Exists(apphost) ? new ProcessStartInfo(apphost)
            : File.Exists(dll) ? new ProcessStartInfo("dotnet") { ArgumentList = { dll } }
            : throw new FileNotFoundException($"The emulator is not built in {dir}; build the benchmark in the same configuration.");
        foreach (var a in (string[])["--urls", "http://127.0.0.1:0", "--job-seconds", jobSeconds.ToString(CultureInfo.InvariantCulture),
                                   "--concurrency", concurrency.ToString(CultureInfo.InvariantCulture), .. extraArgs])
        {
            start.ArgumentList.Add(a);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the emulator.");
        // Its stderr is read so a chatty emulator can never block on a full pipe.
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(startup.Token) is { } line)
            {
                if (ListeningLine().Match(line) is { Success: true } m)
                {
                    // The rest of its stdout is drained in the background for the same reason.
                    _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                    return new EmulatorProcess(process, new Uri(m.Groups[1].Value.TrimEnd('/') + "/"));
                }
            }
        }
        catch (OperationCanceledException) { }
        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("The emulator did not report its address within 60 s.");
    }

    /// <summary>
    /// Runs some instant jobs through submit, status stream, status and result (every route a contender uses), then
    /// forgets them and zeroes the counters (<c>POST /_emulator/reset</c>), so no contender pays for the emulator's own
    /// JIT warm-up. The jobs go in three rounds with pauses between: .NET recompiles hot code in steps (quick code,
    /// then instrumented optimized code, then final optimized code), each step after some quiet time and further
    /// calls, so a single burst would leave the later steps to happen during the contender's run, on its CPUs.
    /// </summary>
    public async Task WarmUpAsync(int jobs)
    {
        using var http = new HttpClient { BaseAddress = BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Key", "bench-warm-up");
        for (var round = 0; round < WarmUpRounds; round++)
        {
            await RunWarmUpJobsAsync(http, jobs);
            await Task.Delay(TimeSpan.FromMilliseconds(400));
        }
        (await http.PostAsync("_emulator/reset", null)).EnsureSuccessStatusCode().Dispose();
    }

    private const int WarmUpRounds = 3;

    private static async Task RunWarmUpJobsAsync(HttpClient http, int jobs)
    {
        await Parallel.ForEachAsync(Enumerable.Range(1, jobs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            // The marker makes the warm-up jobs instant whatever --job-seconds the emulator runs with.
            var input = Workload.InputJson(i, promptPrefix: "[emulator:seconds=0] ");
            using var body = new StringContent(input, System.Text.Encoding.UTF8, "application/json");
            using var submitted = await http.PostAsync(Workload.EndpointId, body, ct);
            submitted.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync(ct));
            var statusUrl = json.RootElement.GetProperty("status_url").GetString();
            using (var stream = new HttpRequestMessage(HttpMethod.Get, statusUrl + "/stream?logs=1"))
            {
                stream.Headers.Accept.ParseAdd("text/event-stream");
                using var events = await http.SendAsync(stream, ct);
                await events.Content.ReadAsStringAsync(ct); // the stream ends after COMPLETED
            }
            (await http.GetAsync(statusUrl, ct)).Dispose();
            (await http.GetAsync(json.RootElement.GetProperty("response_url").GetString(), ct)).Dispose();
        });
    }

    public async Task<EmulatorStats> GetStatsAsync()
    {
        using var json = JsonDocument.Parse(await Http.GetStringAsync(new Uri(BaseUrl, "_emulator/stats")));
        var r = json.RootElement;
        int Get(string name) => r.GetProperty(name).GetInt32();
        // The emulator counts the stats request that reads the counters; it is the driver's, not the contender's.
        return new EmulatorStats(Get("requests") - 1, Get("status_requests"), Get("accepted_submissions"), Get("completed"), Get("failed"));
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
