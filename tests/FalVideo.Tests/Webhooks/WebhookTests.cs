using System.Collections;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Emulator;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Emulator;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Webhooks;

/// <summary>
/// The whole webhook path against the emulator: a submit with <c>?fal_webhook=</c>, the emulator's signed POST to a
/// real listener, and Receive-FalWebhook verifying it with the emulator's JWKS, recording the job and handing it to
/// Save-FalVideo; and the deliveries it must refuse.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string Endpoint = EmulatorFixture.KlingT2V;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", WebhookRetrySeconds = 0.2 });
        _ps = new PowerShellHost(_emulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
    }

    /// <summary>Submits a Kling job with <c>?fal_webhook=</c> and returns its request id.</summary>
    internal static async Task<string> SubmitWithWebhookAsync(RunningEmulator emulator, Uri hook, string prompt = "A lighthouse at dusk")
    {
        using var http = EmulatorFixture.CreateClient(emulator, EmulatorFixture.ApiKey);
        var input = new JsonObject { ["prompt"] = prompt, ["duration"] = "5", ["generate_audio"] = false }.ToJsonString();
        var (code, body) = await EmulatorFixture.SubmitAsync(http, $"{Endpoint}?fal_webhook={Uri.EscapeDataString(hook.ToString())}", input);
        Assert.Equal(200, code);
        return body.GetProperty("request_id").GetString()!;
    }

    private static Hashtable HeaderTable(ReceivedWebhook w) => new(w.Headers.ToDictionary(h => h.Key, h => (object)h.Value));

    /// <summary>Every error the script raised, whether written or thrown.</summary>
    private static List<ErrorRecord> AllErrors(PsResult r) =>
        [.. r.Errors, .. r.Terminating is IContainsErrorRecord t ? [t.ErrorRecord] : Array.Empty<ErrorRecord>()];

    [Fact]
    public async Task The_emulator_posts_fals_signed_body_and_the_core_verifier_accepts_it()
    {
        using var receiver = new WebhookReceiver();
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);

        Assert.Equal(requestId, delivery.Headers[FalWebhookHeaders.RequestIdHeader]);
        Assert.Equal("emulator-user", delivery.Headers[FalWebhookHeaders.UserIdHeader]);
        Assert.Matches("^[0-9a-f]{128}$", delivery.Headers[FalWebhookHeaders.SignatureHeader]);
        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(requestId, body.GetProperty("request_id").GetString());
        Assert.Equal(requestId, body.GetProperty("gateway_request_id").GetString());
        Assert.Equal("OK", body.GetProperty("status").GetString());
        var videoUrl = body.GetProperty("payload").GetProperty("video").GetProperty("url").GetString()!;
        Assert.StartsWith(_emulator.BaseUrl.ToString().TrimEnd('/'), videoUrl);

        var verifier = new FalWebhookVerifier(FalWebhookVerifier.JwksUrlFor(_emulator.BaseUrl));
        var verified = await verifier.VerifyAsync(FalWebhookHeaders.From(delivery.Headers!), delivery.Body);
        Assert.True(verified.Succeeded);
        Assert.Equal(requestId, verified.RequestId);
        Assert.Equal(videoUrl, verified.Video!.Url.ToString());
        Assert.Single(_emulator.State.WebhookAttempts);
    }

    [Fact]
    public async Task A_webhookUrl_given_to_fals_official_js_client_gets_a_delivery_that_verifies()
    {
        var jsFolder = Path.Combine(RepoPaths.Root, "tests", "js");
        Assert.True(Directory.Exists(Path.Combine(jsFolder, "node_modules", "@fal-ai", "client")),
            "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (test.sh does) before the tests.");
        using var receiver = new WebhookReceiver();
        var start = new System.Diagnostics.ProcessStartInfo("node", [Path.Combine(jsFolder, "official-webhook.mjs"), _emulator.BaseUrl.ToString(), receiver.Url.ToString()])
        {
            WorkingDirectory = jsFolder, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment.Remove("FAL_KEY");
        using var node = System.Diagnostics.Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {await stderr}");
        var requestId = JsonDocument.Parse((await stdout).Trim().Split('\n')[^1]).RootElement.GetProperty("requestId").GetString();

        var delivery = await receiver.NextAsync(Wait);
        var verified = await new FalWebhookVerifier(FalWebhookVerifier.JwksUrlFor(_emulator.BaseUrl))
            .VerifyAsync(FalWebhookHeaders.From(delivery.Headers!), delivery.Body);
        Assert.Equal(requestId, verified.RequestId);
        Assert.True(verified.Succeeded);
    }

    [Fact]
    public async Task A_receiver_that_fails_gets_the_same_delivery_again()
    {
        using var receiver = new WebhookReceiver(500, 503);
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var first = await receiver.NextAsync(Wait);
        var second = await receiver.NextAsync(Wait);
        var third = await receiver.NextAsync(Wait);

        Assert.Equal(first.Body, second.Body);
        Assert.Equal(first.Body, third.Body);
        // The receiver has the third POST before the emulator has its answer: wait for the emulator to record it.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (_emulator.State.WebhookAttempts.Count(a => a.RequestId == requestId) < 3 && clock.Elapsed < Wait) await Task.Delay(20);
        var attempts = _emulator.State.WebhookAttempts.Where(a => a.RequestId == requestId).ToList();
        Assert.Equal([500, 503, 200], attempts.Select(a => a.StatusCode ?? 0));
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        // Delivered: no fourth attempt follows.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(3, _emulator.State.WebhookAttempts.Count(a => a.RequestId == requestId));
    }

    [Fact]
    public async Task Receive_FalWebhook_records_the_job_completed_and_Save_FalVideo_saves_it_without_asking_fal()
    {
        using var receiver = new WebhookReceiver();
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url);
        // The job as the submitting side recorded it.
        JobStore.Open(_ps.JournalPath).Append("submitted", new FalJob
        {
            RequestId = requestId, EndpointId = Endpoint, Model = "kling-v3-pro", Id = "hook-1", Prompt = "A lighthouse at dusk",
            Status = FalJobStatus.InQueue, SubmittedAt = DateTimeOffset.UtcNow, QueueHost = FalJob.HostOf(_emulator.BaseUrl),
        });
        var delivery = await receiver.NextAsync(Wait);
        var jwksBefore = _emulator.State.JwksRequests;
        var folder = Directory.CreateTempSubdirectory("falvideo-webhook-").FullName;
        try
        {
            var statusReadsBefore = _emulator.State.StatusRequests;
            var r = _ps.Run("""
                $body, $headers, $folder = $args
                $job = Receive-FalWebhook -Body $body -Header $headers
                $job
                $job | Save-FalVideo -Directory $folder
                Get-FalJob -Status Completed
                """, delivery.Body, HeaderTable(delivery), folder);
            r.ThrowIfErrors();

            var job = (FalJob)r.Output[0].BaseObject;
            Assert.Equal(requestId, job.RequestId);
            Assert.Equal(FalJobStatus.Completed, job.Status);
            Assert.Equal("hook-1", job.Id);
            Assert.Equal(Endpoint, job.EndpointId);
            Assert.NotNull(job.VideoUrl);
            Assert.Equal(requestId, ((FalWebhookEvent)r.Output[0].Properties["Webhook"].Value).RequestId);
            var file = new FileInfo((string)r.Output[1].Properties["Path"].Value);
            Assert.True(file.Exists);
            Assert.Equal(job.VideoSize!.Value, file.Length);
            var stored = r.Output.Skip(2).Select(o => (FalJob)o.BaseObject).Single(j => j.RequestId == requestId);
            Assert.Equal(job.VideoUrl, stored.VideoUrl);
            // The webhook said everything: fal's status route was not asked.
            Assert.Equal(statusReadsBefore, _emulator.State.StatusRequests);

            // A repeated delivery (fal retries) verifies with the kept keys: the JWKS was fetched once.
            var again = _ps.Run("Receive-FalWebhook -Body $args[0] -Header $args[1]", delivery.Body, HeaderTable(delivery));
            again.ThrowIfErrors();
            Assert.Single(again.Output);
            Assert.Equal(1, _emulator.State.JwksRequests - jwksBefore);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public async Task A_failed_request_is_recorded_failed_and_reported_as_FalJobFailed()
    {
        using var receiver = new WebhookReceiver();
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url, "Breaks [emulator:fail=runner_disconnected]");
        var delivery = await receiver.NextAsync(Wait);
        Assert.Equal("ERROR", JsonDocument.Parse(delivery.Body).RootElement.GetProperty("status").GetString());

        var r = _ps.Run("""
            Receive-FalWebhook -Body $args[0] -Header $args[1]
            Get-FalJob -Status Failed
            """, delivery.Body, HeaderTable(delivery));
        var error = Assert.Single(r.Errors);
        Assert.Equal("FalJobFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains(requestId, error.ErrorDetails.Message);
        var stored = Assert.Single(r.Output);
        Assert.Equal(requestId, ((FalJob)stored.BaseObject).RequestId);
        Assert.Equal(FalJobStatus.Failed, ((FalJob)stored.BaseObject).Status);
    }

    [Fact]
    public async Task A_tampered_body_or_header_is_refused_and_nothing_is_recorded()
    {
        using var receiver = new WebhookReceiver();
        await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);
        var otherVideo = delivery.Body.Replace("/cdn/", "/cdn-elsewhere/");
        Assert.NotEqual(delivery.Body, otherVideo);
        var otherUser = HeaderTable(delivery);
        otherUser[FalWebhookHeaders.UserIdHeader] = "someone-else";
        var noSignature = HeaderTable(delivery);
        noSignature.Remove(FalWebhookHeaders.SignatureHeader);

        foreach (var (body, headers, says) in new[]
                 {
                     (otherVideo, HeaderTable(delivery), "does not verify"),
                     (delivery.Body, otherUser, "does not verify"),
                     (delivery.Body, noSignature, FalWebhookHeaders.SignatureHeader),
                 })
        {
            var r = _ps.Run("Receive-FalWebhook -Body $args[0] -Header $args[1]", body, headers);
            Assert.Empty(r.Output);
            var error = Assert.Single(AllErrors(r));
            Assert.Equal("FalWebhookInvalid", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.SecurityError, error.CategoryInfo.Category);
            Assert.Contains(says, error.ErrorDetails.Message);
        }
        Assert.Empty(_ps.Run("Get-FalJob").Output);
    }

    [Fact]
    public async Task A_delivery_signed_by_another_key_is_refused()
    {
        await using var other = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        using var receiver = new WebhookReceiver();
        await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);

        var r = _ps.Run("Receive-FalWebhook -Body $args[0] -Header $args[1] -JwksUrl $args[2]",
            delivery.Body, HeaderTable(delivery), FalWebhookVerifier.JwksUrlFor(other.BaseUrl));
        var error = Assert.Single(AllErrors(r));
        Assert.Equal("FalWebhookInvalid", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains(FalWebhookVerifier.JwksUrlFor(other.BaseUrl).ToString(), error.ErrorDetails.Message);
        Assert.Equal(1, other.State.JwksRequests);
    }

    [Fact]
    public async Task A_delivery_signed_ten_minutes_ago_is_refused_unless_the_window_is_widened()
    {
        // An emulator whose clock is ten minutes behind signs with that time.
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddMinutes(-10));
        await using var late = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", TimeProvider = clock });
        using var receiver = new WebhookReceiver();
        await SubmitWithWebhookAsync(late, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);

        var r = _ps.Run("Receive-FalWebhook -Body $args[0] -Header $args[1] -JwksUrl $args[2]",
            delivery.Body, HeaderTable(delivery), FalWebhookVerifier.JwksUrlFor(late.BaseUrl));
        var error = Assert.Single(AllErrors(r));
        Assert.Equal("FalWebhookInvalid", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("s ago", error.ErrorDetails.Message);
        Assert.Equal(0, late.State.JwksRequests);

        // A runbook that starts late widens the window.
        var widened = _ps.Run("Receive-FalWebhook -Body $args[0] -Header $args[1] -JwksUrl $args[2] -MaxAgeSeconds 900",
            delivery.Body, HeaderTable(delivery), FalWebhookVerifier.JwksUrlFor(late.BaseUrl));
        widened.ThrowIfErrors();
        Assert.Equal(FalJobStatus.Completed, ((FalJob)Assert.Single(widened.Output).BaseObject).Status);
    }

    // What Azure Automation passes a runbook started by its webhook: $WebhookData, as JSON text to PowerShell 7.
    private static string WebhookDataJson(ReceivedWebhook delivery) => new JsonObject
    {
        ["WebhookName"] = "fal-done",
        ["RequestBody"] = delivery.Body,
        ["RequestHeader"] = new JsonObject(delivery.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))),
    }.ToJsonString();

    [Fact]
    public async Task Azure_Automations_WebhookData_binds_as_an_object_and_as_JSON_text()
    {
        using var receiver = new WebhookReceiver();
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);
        var webhookData = WebhookDataJson(delivery);

        var r = _ps.Run("""
            $json = $args[0]
            ($json | ConvertFrom-Json) | Receive-FalWebhook
            Receive-FalWebhook -WebhookData $json
            """, webhookData);
        r.ThrowIfErrors();
        Assert.Equal(2, r.Output.Count);
        Assert.All(r.Output, o => Assert.Equal(requestId, ((FalJob)o.BaseObject).RequestId));
    }

    [Fact]
    public async Task The_example_runbook_verifies_and_saves_in_a_real_pwsh()
    {
        using var receiver = new WebhookReceiver();
        var requestId = await SubmitWithWebhookAsync(_emulator, receiver.Url);
        var delivery = await receiver.NextAsync(Wait);
        var webhookData = WebhookDataJson(delivery);
        var work = Directory.CreateTempSubdirectory("falvideo-runbook-").FullName;
        try
        {
            var modules = Path.GetDirectoryName(Path.GetDirectoryName(RepoPaths.ModuleManifest))!;
            using var child = new PwshChild(Path.Combine(RepoPaths.Root, "examples", "fal-webhook-runbook.ps1"), new Dictionary<string, string?>
            {
                ["PSModulePath"] = modules + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath"),
                ["FALVIDEO_BASE_URL"] = _emulator.BaseUrl.ToString(),
                ["FAL_KEY"] = "runbook-key",
                ["FALVIDEO_JOURNAL"] = Path.Combine(work, "jobs.db"),
            }, "-WebhookData", webhookData, "-OutputDirectory", work);
            var code = await child.WaitAsync(TimeSpan.FromSeconds(120));
            Assert.True(code == 0, child.Output);
            Assert.Contains($"Saved request {requestId} to ", child.Output);
            var saved = Assert.Single(Directory.GetFiles(work, "*.mp4"));
            Assert.True(new FileInfo(saved).Length > 0);

            // A delivery that is not fal's stops the runbook.
            var forged = webhookData.Replace("\\u0022OK\\u0022", "\\u0022ERROR\\u0022").Replace("\\\"OK\\\"", "\\\"ERROR\\\"");
            Assert.NotEqual(webhookData, forged);
            using var refused = new PwshChild(Path.Combine(RepoPaths.Root, "examples", "fal-webhook-runbook.ps1"), new Dictionary<string, string?>
            {
                ["PSModulePath"] = modules + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath"),
                ["FALVIDEO_BASE_URL"] = _emulator.BaseUrl.ToString(),
                ["FAL_KEY"] = "runbook-key",
                ["FALVIDEO_JOURNAL"] = Path.Combine(work, "jobs.db"),
            }, "-WebhookData", forged, "-OutputDirectory", Path.Combine(work, "forged"));
            Assert.NotEqual(0, await refused.WaitAsync(TimeSpan.FromSeconds(120)));
            Assert.Contains("does not verify", refused.Output);
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
