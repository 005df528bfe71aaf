using System.Management.Automation;
using System.Text.Json;
using FalVideo.Emulator;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Models;

/// <summary>Every catalog endpoint, multi-shot, elements, motion control, any-endpoint submits and routing, through the emulator.</summary>
public sealed class ModelSurfaceTests : IAsyncLifetime
{
    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;
    private readonly string _temp = Directory.CreateTempSubdirectory("falvideo-models-").FullName;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        _ps = new PowerShellHost(_emulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        try { Directory.Delete(_temp, true); } catch (IOException) { }
    }

    private JsonElement InputOf(PSObject job) =>
        JsonDocument.Parse(_emulator.State.Jobs.Single(j => j.RequestId == (string)job.Properties["RequestId"].Value).Input).RootElement;

    private string File(string name, byte[] bytes)
    {
        var path = Path.Combine(_temp, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Every_active_catalog_endpoint_accepts_what_the_module_sends()
    {
        // The emulator validates each endpoint's inputs (required fields, enums, names) the way fal does.
        var image = File("still.png", TestImages.Png);
        var video = File("motion.mp4", [0, 0, 0, 24, (byte)'f', (byte)'t', (byte)'y', (byte)'p']);
        var r = _ps.Run(@"
            $image = $args[0]; $video = $args[1]
            Get-FalModel -ActiveOnly | ForEach-Object {
                $m = $_
                foreach ($mode in $m.Modes) {
                    $endpoint = $m.Endpoints[$mode]
                    switch ($mode) {
                        'text-to-video'     { New-FalVideo -Model $endpoint -Prompt ""A quiet harbour at dawn ($endpoint)"" -Id $endpoint }
                        'image-to-video'    { New-FalVideo -Model $endpoint -Prompt 'The boat drifts' -StartImage $image -Id $endpoint }
                        'subject-reference' { New-FalVideo -Model $endpoint -Prompt 'She waves' -StartImage $image -Id $endpoint }
                        'motion-control'    { New-KlingMotionVideo -Model $endpoint -Image $image -MotionVideo $video -CharacterOrientation image -Id $endpoint }
                        # Modes the New-*Video cmdlets have no parameters for go through Invoke-FalModel with fal's fields.
                        default {
                            $url = 'https://example.com/in'
                            $body = switch ($mode) {
                                'reference-to-video'       { @{ prompt = 'Two friends meet'; image_urls = @(""$url.png"") } }
                                'video-to-video-edit'      { @{ prompt = 'Make it snow'; video_url = ""$url.mp4"" } }
                                'video-to-video-reference' { @{ prompt = 'The same move, at night'; video_url = ""$url.mp4"" } }
                                'lipsync-audio-to-video'   { @{ video_url = ""$url.mp4""; audio_url = ""$url.mp3"" } }
                                'lipsync-text-to-video'    { @{ video_url = ""$url.mp4""; text = 'Hello there'; voice_id = 'voice-1' } }
                                'avatar'                   { @{ image_url = ""$url.png""; audio_url = ""$url.mp3"" } }
                                'create-voice'             { @{ voice_url = ""$url.mp3"" } }
                                'video-to-audio'           { @{ video_url = ""$url.mp4"" } }
                                default                    { throw ""no test input for mode $mode"" }
                            }
                            Invoke-FalModel -EndpointId $endpoint -Input $body -Id $endpoint
                        }
                    }
                }
            }", image, video);
        r.ThrowIfErrors();
        var expected = _ps.Run("Get-FalModel -ActiveOnly | ForEach-Object { $_.EndpointIds }").Output.Select(o => o.ToString()).ToHashSet();
        Assert.True(expected.Count >= 70, $"only {expected.Count} endpoints in the catalog");
        var submitted = r.Output.Select(o => (string)o.Properties["EndpointId"].Value).ToHashSet();
        Assert.Equal(expected.OrderBy(x => x), submitted.OrderBy(x => x));
        Assert.Equal(expected.Count, _emulator.State.AcceptedSubmissions);
        var o3 = InputOf(r.Output.Single(o => (string)o.Properties["EndpointId"].Value == "fal-ai/kling-video/o3/pro/image-to-video"));
        Assert.True(o3.TryGetProperty("image_url", out _));              // O3 takes image_url, not start_image_url
        Assert.False(o3.TryGetProperty("start_image_url", out _));
        var subject = InputOf(r.Output.Single(o => (string)o.Properties["EndpointId"].Value == "fal-ai/minimax/video-01-subject-reference"));
        Assert.True(subject.TryGetProperty("subject_reference_image_url", out _));
    }

    [Fact]
    public void Seed_shots_grouped_by_id_make_one_multi_shot_request_per_id()
    {
        var csv = Path.Combine(RepoPaths.SharedData, "seed-shots.csv");
        var r = _ps.Run("Import-Csv $args[0] | Group-Object Id | New-KlingVideo -GenerateAudio $false", csv);
        r.ThrowIfErrors();
        // Group-Object sorts its groups by name.
        Assert.Equal(new[] { "letterpress", "tokyo" }, r.Output.Select(o => (string)o.Properties["Id"].Value));
        var tokyo = InputOf(r.Output[1]);
        Assert.False(tokyo.TryGetProperty("prompt", out _));
        var shots = tokyo.GetProperty("multi_prompt").EnumerateArray().ToList();
        Assert.Equal(new[] { "4", "5", "4" }, shots.Select(s => s.GetProperty("duration").GetString()));
        Assert.StartsWith("Wide shot of a rain-soaked Tokyo street", shots[0].GetProperty("prompt").GetString());
        // Multi-shot bills the total of its shots: 13 s and 12 s at $0.112/s with audio off.
        Assert.Equal(new[] { 1.344m, 1.456m }, r.Output.Select(o => (decimal)o.Properties["EstimatedCostUsd"].Value));
        Assert.Equal(new[] { 12, 13 }, r.Output.Select(o => (int)o.Properties["DurationSeconds"].Value));
    }

    [Fact]
    public void Objects_shaped_like_group_object_output_bind_as_shots_and_bad_shots_are_refused()
    {
        var r = _ps.Run(@"@(
            [pscustomobject]@{ Name = 'ok';  Count = 2; Group = @([pscustomobject]@{ Shot = '2'; Prompt = 'Second'; Duration = '3' },
                                                               [pscustomobject]@{ Shot = '1'; Prompt = 'First';  Duration = '2' }) }
            [pscustomobject]@{ Name = 'long'; Count = 2; Group = @([pscustomobject]@{ Prompt = 'A'; Duration = '10' },
                                                                [pscustomobject]@{ Prompt = 'B'; Duration = '10' }) }
            [pscustomobject]@{ Name = 'zero'; Count = 2; Group = @([pscustomobject]@{ Prompt = 'A'; Duration = '0' },
                                                                [pscustomobject]@{ Prompt = 'B'; Duration = '5' }) }) | New-KlingVideo");
        var ok = Assert.Single(r.Output);
        Assert.Equal(new[] { "First", "Second" }, InputOf(ok).GetProperty("multi_prompt").EnumerateArray().Select(s => s.GetProperty("prompt").GetString()));
        Assert.Equal(2, r.Errors.Count);
        Assert.Contains("Row 2 (long): Shot durations add up to 20 s; allowed: 3–15", r.Errors[0].ErrorDetails.Message);
        Assert.Contains("Row 3 (zero): Shot 1: Duration 0 is too short", r.Errors[1].ErrorDetails.Message);
        Assert.Equal(1, _emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public void Elements_with_local_files_are_uploaded_and_unknown_element_references_are_refused()
    {
        var start = File("start.png", TestImages.Png);
        var face = File("face.png", TestImages.Png);
        var side = File("side.png", TestImages.Png);
        var r = _ps.Run(@"
            $el = [pscustomobject]@{ FrontalImage = $args[1]; ReferenceImages = @($args[2], $args[2]) }
            New-KlingVideo -Prompt '@Element1 walks into the shop' -StartImage $args[0] -Element $el -GenerateAudio $true -Duration 5 -Id good
            New-KlingVideo -Prompt '@Element1 greets @Element2' -StartImage $args[0] -Element $el -Id bad
            New-KlingVideo -Prompt '@Element1 waves' -Element $el -Id text", start, face, side);
        var job = Assert.Single(r.Output);
        var sent = InputOf(job);
        var element = sent.GetProperty("elements")[0];
        Assert.StartsWith(_emulator.BaseUrl.ToString().TrimEnd('/') + "/cdn/uploads/", element.GetProperty("frontal_image_url").GetString());
        Assert.Equal(2, element.GetProperty("reference_image_urls").GetArrayLength());
        Assert.Equal(4, _emulator.State.Uploads);                        // start, frontal, two references; nothing for refused rows
        Assert.Equal(1.68m, (decimal)job.Properties["EstimatedCostUsd"].Value); // elements + audio: $0.336/s × 5 s
        Assert.Contains("@Element2", r.Errors[0].ErrorDetails.Message);
        Assert.Contains("Element is not an input of fal-ai/kling-video/v3/pro/text-to-video", r.Errors[1].ErrorDetails.Message);
    }

    [Fact]
    public void A_parameter_the_endpoint_does_not_take_names_the_models_that_do()
    {
        var r = _ps.Run("New-KlingVideo -Model kling-o3-pro -Prompt 'x' -CfgScale 0.4; New-HailuoVideo -Prompt 'y' -Duration 6");
        Assert.Empty(r.Output);
        Assert.Contains("CfgScale is not an input of kling-o3-pro; models that take it: kling-v3-pro", r.Errors[0].ErrorDetails.Message);
        Assert.Contains("Duration is not an input of hailuo-2.3-pro", r.Errors[1].ErrorDetails.Message);
        Assert.Contains("hailuo-2.3-standard", r.Errors[1].ErrorDetails.Message);
    }

    [Fact]
    public void Motion_control_sends_image_video_and_orientation()
    {
        var image = File("dancer.png", TestImages.Png);
        var video = File("moves.mp4", [0, 0, 0, 24, (byte)'f', (byte)'t', (byte)'y', (byte)'p']);
        var r = _ps.Run("New-KlingMotionVideo -Image $args[0] -MotionVideo $args[1] -CharacterOrientation video -KeepOriginalSound $false -Prompt 'Dance'; " +
                        "New-KlingMotionVideo -Image $args[0] -MotionVideo $args[1] -CharacterOrientation sideways", image, video);
        var job = Assert.Single(r.Output);
        Assert.Equal("fal-ai/kling-video/v3/pro/motion-control", job.Properties["EndpointId"].Value);
        var sent = InputOf(job);
        Assert.Equal("video", sent.GetProperty("character_orientation").GetString());
        Assert.False(sent.GetProperty("keep_original_sound").GetBoolean());
        Assert.EndsWith("/moves.mp4", sent.GetProperty("video_url").GetString());
        Assert.Contains("CharacterOrientation 'sideways'", Assert.Single(r.Errors).ErrorDetails.Message);
    }

    [Fact]
    public void Get_FalModel_lists_modes_prices_sources_and_the_retired_sora()
    {
        var r = _ps.Run("Get-FalModel");
        r.ThrowIfErrors();
        var names = r.Output.Select(o => (string)o.Properties["Name"].Value).ToList();
        Assert.Contains("kling-v3-pro", names);
        Assert.Contains("hailuo-2.3-fast-standard", names);
        var sora = r.Output.Single(o => (string)o.Properties["Name"].Value == "sora-2-pro");
        Assert.Equal("retired", sora.Properties["Status"].Value);
        var kling = r.Output.Single(o => (string)o.Properties["Name"].Value == "kling-v3-pro");
        Assert.Contains("$0.112/s audio off", (string)kling.Properties["PriceSummary"].Value);
        Assert.Equal("2026-06-12", kling.Properties["PriceDate"].Value);
        Assert.Contains("multi-shot", (string[])kling.Properties["Features"].Value);

        var multi = _ps.Run("Get-FalModel -Feature multi-shot -ActiveOnly | ForEach-Object Name").Output.Select(o => o.ToString()).ToList();
        Assert.All(multi, n => Assert.StartsWith("kling-", n));
        Assert.DoesNotContain("kling-v2.5-turbo-pro", multi);
        var hailuo = _ps.Run("Get-FalModel -Family Hailuo | ForEach-Object Name").Output.Select(o => o.ToString()).ToList();
        Assert.All(hailuo, n => Assert.Matches("^(hailuo|minimax)-", n));
    }

    [Fact]
    public void Sora_rows_are_priced_but_refused_as_retired_when_routed_by_model_column()
    {
        var csv = Path.Combine(RepoPaths.SharedData, "seed-prompts.csv");
        _ps.TakeHostText();
        var r = _ps.Run("Import-Csv $args[0] | New-FalVideo -WhatIf", csv);
        Assert.Equal(0, _emulator.State.Requests);
        Assert.Equal(2, r.Errors.Count);
        Assert.All(r.Errors, e => Assert.Contains("retired upstream", e.ErrorDetails.Message));
        var whatIf = _ps.TakeHostText().Split('\n').Where(l => l.StartsWith("What if:")).ToList();
        Assert.Equal(8, whatIf.Count); // seven rows, then the batch line
        Assert.StartsWith("What if: Batch: 7 request(s)", whatIf[^1]);
    }

    [Fact]
    public void Route_cheapest_picks_the_cheapest_able_model_and_says_why()
    {
        var image = File("photo.png", TestImages.Png);
        var r = _ps.Run(@"
            New-FalVideo -Route Cheapest -Prompt 'A candle flickers' -Id plain
            New-FalVideo -Route Cheapest -Prompt 'A candle flickers' -Require audio -Id audio
            New-FalVideo -Route Cheapest -Prompt 'A candle flickers' -Require 1080p -GenerateAudio $false -Id hd
            New-FalVideo -Route Cheapest -Prompt 'A candle flickers' -StartImage $args[0] -Id image
            New-FalVideo -Route Cheapest -Prompt 'A candle flickers' -Require 4k, audio -Duration 5 -Id uhd
            New-FalVideo -Route Cheapest -Shot @([pscustomobject]@{Prompt='a';Duration='4'}, [pscustomobject]@{Prompt='b';Duration='4'}) -Id shots", image);
        r.ThrowIfErrors();
        string ModelOf(string id) => (string)r.Output.Single(o => (string)o.Properties["Id"].Value == id).Properties["Model"].Value;
        decimal CostOf(string id) => (decimal)r.Output.Single(o => (string)o.Properties["Id"].Value == id).Properties["EstimatedCostUsd"].Value;
        Assert.Equal("hailuo-2.3-standard", ModelOf("plain"));     // $0.28 for its default 6 s
        Assert.Equal(0.28m, CostOf("plain"));
        Assert.Equal("kling-o3-standard", ModelOf("audio"));       // cheapest with audio: $0.112/s × 5 s (O3 standard, fal's page)
        Assert.Equal(0.56m, CostOf("audio"));
        Assert.Equal("kling-v2.5-turbo-pro", ModelOf("hd"));       // $0.07/s × 5 s beats Hailuo 2.3 pro's $0.49 (ties 2.6 pro audio off; name order)
        Assert.Equal("hailuo-2.3-fast-standard", ModelOf("image")); // $0.19 per 6 s video
        Assert.Contains(ModelOf("uhd"), new[] { "kling-v3-4k", "kling-o3-4k" });
        Assert.Equal(2.10m, CostOf("uhd"));
        Assert.Equal("kling-o3-standard", ModelOf("shots"));       // multi-shot: 8 s × $0.084/s, audio off (ties v3 standard; name order)
        Assert.Equal(0.672m, CostOf("shots"));
        var reason = (string)r.Output.Single(o => (string)o.Properties["Id"].Value == "audio").Properties["RouteReason"].Value;
        Assert.Contains("cheapest of", reason);
        Assert.Contains("kling-o3-standard $0.56", reason);
        // What was priced is what was sent: audio off unless required.
        Assert.False(InputOf(r.Output.Single(o => (string)o.Properties["Id"].Value == "shots")).GetProperty("generate_audio").GetBoolean());
        Assert.True(InputOf(r.Output.Single(o => (string)o.Properties["Id"].Value == "audio")).GetProperty("generate_audio").GetBoolean());
    }

    [Fact]
    public void Invoke_FalModel_submits_any_endpoint_and_says_when_it_has_no_price()
    {
        var r = _ps.Run(@"Invoke-FalModel -EndpointId fal-ai/kling-video/v3/standard/text-to-video -Input @{ prompt = 'A red kite'; duration = '10'; generate_audio = $false } -Wait");
        r.ThrowIfErrors();
        var job = Assert.Single(r.Output);
        Assert.Equal("Completed", job.Properties["Status"].Value.ToString());
        Assert.Equal("kling-v3-standard", job.Properties["Model"].Value);
        Assert.Equal(0.84m, (decimal)job.Properties["EstimatedCostUsd"].Value);
        Assert.NotNull(job.Properties["VideoUrl"].Value);

        _ps.TakeHostText();
        var unknown = _ps.Run("Invoke-FalModel -EndpointId fal-ai/some-new-model/v1 -Input @{ prompt = 'x' } -WhatIf");
        Assert.Contains("not in the price catalog", Assert.Single(unknown.Warnings));
        Assert.Contains("no price known (endpoint not in the catalog)", _ps.TakeHostText());
        Assert.Equal(1, _emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public void Price_overrides_change_estimates_without_a_rebuild()
    {
        var file = Path.Combine(_temp, "prices.json");
        System.IO.File.WriteAllText(file, """
            { "kling-v3-pro": { "prices": [ { "when": { "audio": false }, "usdPerSecond": 0.1 }, { "when": { "audio": true }, "usdPerSecond": 0.15 } ],
                                "priceSource": "our contract", "priceDate": "2026-11-01" } }
            """);
        var r = _ps.Run(@"Set-FalConfiguration -PriceOverridePath $args[0]
                          Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $false -NoTotal
                          (Get-FalModel kling-v3-pro).PriceSource", file);
        r.ThrowIfErrors();
        Assert.Equal(1.0m, (decimal)r.Output[0].Properties["EstimatedCostUsd"].Value);
        Assert.Equal("our contract", r.Output[1].ToString());
        var bad = _ps.Run("Set-FalConfiguration -PriceOverridePath $args[0]", Path.Combine(_temp, "missing.json"));
        Assert.Equal("FalPriceOverrideInvalid,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand", Assert.Single(bad.Errors).FullyQualifiedErrorId);
    }
}
