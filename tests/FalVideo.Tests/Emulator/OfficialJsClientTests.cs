using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// fal's official JS client (<c>@fal-ai/client</c> 1.10.1, unchanged, its hosts pointed at the emulator) runs its
/// whole queue lifecycle against the emulator: <c>tests/js/official-client.mjs</c>. This is the check that the
/// emulator speaks fal's protocol as fal understands it, not only as this repository does.
/// </summary>
public sealed class OfficialJsClientTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task Official_js_client_completes_its_lifecycle_against_the_emulator()
    {
        var jsFolder = Path.Combine(RepoPaths.Root, "tests", "js");
        Assert.True(Directory.Exists(Path.Combine(jsFolder, "node_modules", "@fal-ai", "client")),
            "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (test.sh does) before the tests.");

        var (exitCode, stdout, stderr) = await RunNodeAsync(jsFolder, Path.Combine(jsFolder, "official-client.mjs"), fixture.BaseUrl);

        Assert.True(exitCode == 0, $"node exited {exitCode}\nstdout: {stdout}\nstderr: {stderr}");
        var summary = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.True(summary.GetProperty("ok").GetBoolean());

        var requestId = summary.GetProperty("requestId").GetString()!;
        var job = fixture.Emulator.State.Jobs.Single(j => j.RequestId == requestId);
        Assert.Equal(EmulatorFixture.KlingT2V, job.EndpointId);
        Assert.Equal("IN_QUEUE", summary.GetProperty("submitStatus").GetString());
        Assert.Equal("COMPLETED", summary.GetProperty("streamedStatuses").EnumerateArray().Last().GetString());
        Assert.Equal(3, summary.GetProperty("streamedLogLines").GetArrayLength());
        Assert.Equal($"{fixture.BaseUrl}/cdn/{requestId}/output.mp4", summary.GetProperty("videoUrl").GetString());
        Assert.True(summary.GetProperty("videoBytes").GetInt32() > 1000);
        Assert.StartsWith($"{fixture.BaseUrl}/cdn/uploads/", summary.GetProperty("uploadUrl").GetString());
        Assert.Equal("ALREADY_COMPLETED", summary.GetProperty("cancelCompleted").GetString());
        Assert.Equal(422, summary.GetProperty("validationError").GetProperty("status").GetInt32());
        Assert.Equal(["https://queue.fal.run", "https://rest.fal.ai"],
            summary.GetProperty("rewrittenHosts").EnumerateArray().Select(h => h.GetString()!));

        // What the client did is what the emulator saw: 4 accepted jobs (the 422 created none), 1 upload.
        Assert.Equal(4, fixture.Emulator.State.AcceptedSubmissions);
        Assert.Equal(1, fixture.Emulator.State.Uploads);
        var cancelled = fixture.Emulator.State.Jobs.Single(j => j.RequestId == summary.GetProperty("cancelledRequestId").GetString());
        Assert.True(cancelled.CancelRequested);
        var i2v = fixture.Emulator.State.Jobs.Single(j => j.RequestId == summary.GetProperty("imageToVideoRequestId").GetString());
        Assert.Contains(summary.GetProperty("uploadUrl").GetString()!, i2v.Input);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("node", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("FAL_KEY");
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Node.js is needed for this test (`node` on PATH); test.sh installs it.", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"node did not finish in 90 s; stderr so far: {await stderr}");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
