using System.Diagnostics;
using System.Text.Json;
using FalVideo.Emulator;
using FalVideo.Emulator.Routes;
using FalVideo.Tests.Module;
using Xunit;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// The submit options on the wire: the emulator records the query and <c>x-fal-*</c> headers of every submit, and the
/// same options sent by fal's official JS client (<c>tests/js/submit-options.mjs</c>, <c>@fal-ai/client</c> 1.10.1) and
/// by New-KlingVideo must arrive identical: same header names (case included), same values, same query.
/// </summary>
public sealed class SubmitOptionsWireTests : IAsyncLifetime
{
    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        _ps = new PowerShellHost(_emulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
    }

    public static TheoryData<string, string, string> Cases => new()
    {
        // name, the JS client's options, the same options as New-KlingVideo parameters
        { "every option", """{"webhookUrl":"https://hooks.example/fal/run?token=Ab~c*d!(e)&id=1 2","priority":"low","startTimeout":2.5,"expiresIn":"1d","noFallback":true}""",
          "-WebhookUrl 'https://hooks.example/fal/run?token=Ab~c*d!(e)&id=1 2' -Priority Low -StartTimeout 2.5 -OutputExpiry 1d -NoFallback" },
        { "seconds and normal", """{"priority":"normal","startTimeout":30,"expiresIn":3600}""",
          "-Priority normal -StartTimeout 30 -OutputExpiry 3600" },
        { "no options", "{}", "" },
        { "never expires", """{"expiresIn":"never","webhookUrl":"http://127.0.0.1:9/hook"}""", "-OutputExpiry never -WebhookUrl http://127.0.0.1:9/hook" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task FalVideo_sends_the_options_as_the_official_js_client_does(string name, string jsOptions, string parameters)
    {
        var jsFolder = Path.Combine(RepoPaths.Root, "tests", "js");
        Assert.True(Directory.Exists(Path.Combine(jsFolder, "node_modules", "@fal-ai", "client")),
            "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (test.sh does) before the tests.");

        var (exit, stdout, stderr) = await RunNodeAsync(jsFolder, Path.Combine(jsFolder, "submit-options.mjs"),
            _emulator.BaseUrl.ToString().TrimEnd('/'), EmulatorFixture.KlingT2V, jsOptions);
        Assert.True(exit == 0, $"{name}: node exited {exit}\nstdout: {stdout}\nstderr: {stderr}");
        var official = Assert.Single(_emulator.State.Submissions.All);

        var r = _ps.Run($"New-KlingVideo -Prompt 'A lighthouse at dusk' -Model kling-v3-pro {parameters}");
        Assert.True(r.Errors.Count == 0 && r.Terminating is null, $"{name}: {string.Join("; ", r.Errors.Select(e => e.ToString()))} {r.Terminating}");
        Assert.Single(r.Output);
        var ours = _emulator.State.Submissions.All[1];

        Assert.Equal(official.EndpointId, ours.EndpointId);
        Assert.Equal(official.Query, ours.Query);
        Assert.Equal(Sorted(official), Sorted(ours));
        // The comparison is not empty-against-empty: fal-js always sends a priority.
        Assert.Contains(ours.Headers, h => h.Key == "x-fal-queue-priority");
    }

    [Fact]
    public async Task The_recorded_wire_of_every_option_is_what_fal_js_documents()
    {
        var r = _ps.Run("New-KlingVideo -Prompt 'p' -WebhookUrl 'https://hooks.example/a b' -Priority Low -StartTimeout 45 -OutputExpiry 7d -NoFallback");
        Assert.Empty(r.Errors);
        var wire = Assert.Single(_emulator.State.Submissions.All);
        Assert.Equal("?fal_webhook=https%3A%2F%2Fhooks.example%2Fa+b", wire.Query);
        Assert.Equal(
            [
                new("x-fal-disable-fallbacks", "true"),
                new("x-fal-object-lifecycle-preference", """{"expiration_duration_seconds":604800}"""),
                new("x-fal-queue-priority", "low"),
                new("x-fal-request-timeout", "45"),
            ],
            Sorted(wire));

        // Kept on the job and in the store.
        var job = r.Output.Single();
        var shown = job.Properties["SubmitOptions"].Value!.ToString();
        Assert.Equal("priority low, start timeout 45 s, no fallback, media expire after 604800 s, webhook https://hooks.example/a b", shown);
        var stored = _ps.Run("Get-FalJob -Last 1 | ForEach-Object { $_.SubmitOptions.ToString() }");
        Assert.Equal(shown, Assert.Single(stored.Output).ToString());
    }

    private static List<KeyValuePair<string, string>> Sorted(SubmitWire wire) =>
        wire.Headers.OrderBy(h => h.Key, StringComparer.Ordinal).ToList();

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("node", arguments) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment.Remove("FAL_KEY");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
