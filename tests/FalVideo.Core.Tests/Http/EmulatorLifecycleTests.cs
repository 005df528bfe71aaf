using System.Diagnostics;
using System.Text.Json.Nodes;
using FalVideo.Fal;

namespace FalVideo.Core.Tests.Http;

/// <summary>
/// A whole job over real HTTP on this runtime's own stack (FalSharedHttp: SocketsHttpHandler on .NET, HttpClientHandler
/// on .NET Framework and Mono): upload, submit, the SSE status stream, the result, the streamed download; and a status
/// stream stopped by cancellation. The server is the project's fal emulator, started as its own process (it runs on
/// .NET 10 whatever runtime runs these tests).
/// </summary>
[Collection(nameof(SharedHttpCollection))]
public sealed class EmulatorLifecycleTests(EmulatorProcess emulator) : IClassFixture<EmulatorProcess>
{
    private const string Kling = "fal-ai/kling-video/v3/pro/text-to-video";

    private FalQueueClient NewClient() => new(new FalClientOptions
    {
        QueueBaseUrl = emulator.BaseUrl,
        RestBaseUrl = emulator.BaseUrl,
        ApiKey = "lifecycle-key",
        RequestTimeout = TimeSpan.FromSeconds(30),
    });

    [Fact]
    public async Task A_job_goes_from_upload_to_a_saved_video_through_the_status_stream()
    {
        using var client = NewClient();
        var folder = Path.Combine(Path.GetTempPath(), "falvideo-lifecycle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var image = Path.Combine(folder, "start.png");
            File.WriteAllBytes(image, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4]);
            var uploaded = await client.UploadFileAsync(image, "image/png");
            Assert.StartsWith(emulator.BaseUrl.ToString(), uploaded.ToString(), StringComparison.Ordinal);

            var submitted = await client.SubmitAsync(Kling, new JsonObject
            {
                ["prompt"] = "A lighthouse at dusk [emulator:seconds=1]", ["duration"] = "3", ["generate_audio"] = false,
            });
            var updates = new List<string>();
            var final = await client.WaitForCompletionAsync(submitted.Handle, s => updates.Add(s.Status.ToString()));
            Assert.Equal(FalQueueStatus.Completed, final.Status);
            Assert.Contains(nameof(FalQueueStatus.InProgress), updates);

            var result = await client.GetResultAsync(submitted.Handle);
            Assert.NotNull(result.Video);
            var target = Path.Combine(folder, "video.mp4");
            var written = await client.DownloadFileAsync(result.Video!.Url, target, result.Video.FileSize);
            Assert.True(written > 1000, $"{written} bytes");
            Assert.Equal(written, new FileInfo(target).Length);
            Assert.Equal(result.Video.FileSize ?? written, written);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_status_stream_that_is_waiting_stops_at_once_when_cancelled()
    {
        using var client = NewClient();
        var submitted = await client.SubmitAsync(Kling, new JsonObject
        {
            ["prompt"] = "A long job [emulator:seconds=60]", ["duration"] = "3", ["generate_audio"] = false,
        });
        using var stop = new CancellationTokenSource();
        var inProgress = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = client.WaitForCompletionAsync(submitted.Handle,
            s => { if (s.Status == FalQueueStatus.InProgress) inProgress.TrySetResult(true); }, stop.Token);
        Assert.Same(inProgress.Task, await Task.WhenAny(inProgress.Task, Task.Delay(TimeSpan.FromSeconds(20))));

        var watch = Stopwatch.StartNew();
        stop.Cancel();
        var ex = await Record.ExceptionAsync(() => wait);
        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the wait ended {watch.Elapsed.TotalSeconds:0.0} s after the cancel");
        await client.CancelAsync(submitted.Handle);
    }
}

/// <summary>The built emulator (src/FalVideo.Emulator) on a free loopback port, for the tests of one class.</summary>
public sealed class EmulatorProcess : IDisposable
{
    private readonly Process _process;

    public EmulatorProcess()
    {
        var dll = FindEmulator();
        var start = new ProcessStartInfo("dotnet")
        {
            Arguments = $"\"{dll}\" --urls http://127.0.0.1:0 --concurrency 8",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        // It prints "FalVideo emulator listening on http://127.0.0.1:<port>" once it listens.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var line = _process.StandardOutput.ReadLine();
            if (line is null) break;
            var at = line.IndexOf("listening on ", StringComparison.Ordinal);
            if (at < 0) continue;
            BaseUrl = new Uri(line.Substring(at + "listening on ".Length).Trim().TrimEnd('/') + "/");
            // Keep draining its output so it never blocks on a full pipe.
            _ = Task.Run(() => _process.StandardOutput.ReadToEnd());
            return;
        }
        Dispose();
        throw new InvalidOperationException($"The emulator ({dll}) did not say where it listens.");
    }

    public Uri BaseUrl { get; } = null!;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private static string FindEmulator()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "FalVideo.sln"))) continue;
            var built = new[] { "Release", "Debug" }
                .Select(c => Path.Combine(dir.FullName, "src", "FalVideo.Emulator", "bin", c, "net10.0", "FalVideo.Emulator.dll"))
                .Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
            return built ?? throw new InvalidOperationException("The emulator is not built: run dotnet build FalVideo.sln -c Release.");
        }

        throw new InvalidOperationException("FalVideo.sln not found above " + AppContext.BaseDirectory);
    }
}
