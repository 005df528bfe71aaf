using System.Diagnostics;
using System.Management.Automation;
using System.Text.Json;
using FalVideo.Emulator;

namespace FalVideo.Tests.Module;

/// <summary>The README's pipelines, through the built module, over real HTTP to the emulator on 127.0.0.1.</summary>
public sealed class PipelineTests : IAsyncLifetime
{
    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;
    private readonly string _temp = Directory.CreateTempSubdirectory("falvideo-tests-").FullName;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = 0 });
        _ps = new PowerShellHost(_emulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        try { Directory.Delete(_temp, true); } catch (IOException) { }
    }

    private static string Seed(string name) => Path.Combine(RepoPaths.SharedData, name);

    private JsonElement InputOf(string requestId)
    {
        var job = _emulator.State.Jobs.Single(j => j.RequestId == requestId);
        return JsonDocument.Parse(job.Input).RootElement;
    }

    [Fact]
    public void Seed_prompts_submit_kling_rows_and_refuse_other_families_by_row()
    {
        var r = _ps.Run("Import-Csv $args[0] | New-KlingVideo", Seed("seed-prompts.csv"));
        var csvRows = File.ReadAllLines(Seed("seed-prompts.csv")).Skip(1).ToList();
        var klingRows = csvRows.Count(l => l.Split(',')[1] == "kling-v3-pro");
        Assert.Equal(klingRows, r.Output.Count);
        Assert.Equal(klingRows, _emulator.State.AcceptedSubmissions);
        Assert.Equal(csvRows.Count - klingRows, r.Errors.Count);
        Assert.Contains(r.Errors, e => e.ErrorDetails.Message.StartsWith("Row 3 (fishmarket):") && e.ErrorDetails.Message.Contains("Hailuo"));
        Assert.Contains(r.Errors, e => e.ErrorDetails.Message.StartsWith("Row 7 (lighthouse-sora):") && e.ErrorDetails.Message.Contains("retired upstream"));

        var pottery = r.Output.Single(o => (string)o.Properties["Id"].Value == "pottery");
        Assert.Equal("fal-ai/kling-video/v3/pro/text-to-video", pottery.Properties["EndpointId"].Value);
        Assert.Equal(0.672m, (decimal)pottery.Properties["EstimatedCostUsd"].Value);
        Assert.Equal(pottery.Properties["RequestId"].Value, pottery.ToString());
        var sent = InputOf((string)pottery.Properties["RequestId"].Value);
        Assert.Equal("6", sent.GetProperty("duration").GetString());           // fal's duration enum is a string
        Assert.False(sent.GetProperty("generate_audio").GetBoolean());         // the CSV's "false" really went as false
        Assert.Equal("16:9", sent.GetProperty("aspect_ratio").GetString());
    }

    [Fact]
    public void Seed_prompts_submit_hailuo_rows_with_defaults_for_empty_cells()
    {
        var r = _ps.Run("Import-Csv $args[0] | New-HailuoVideo", Seed("seed-prompts.csv"));
        var hailuo = r.Output.ToList();
        Assert.Equal(2, hailuo.Count);
        Assert.All(hailuo, j => Assert.Equal("fal-ai/minimax/hailuo-2.3/pro/text-to-video", j.Properties["EndpointId"].Value));
        Assert.All(hailuo, j => Assert.Equal(0.49m, (decimal)j.Properties["EstimatedCostUsd"].Value));
        var sent = InputOf((string)hailuo[0].Properties["RequestId"].Value);
        Assert.False(sent.TryGetProperty("duration", out _));                  // pro tier has no duration input
        Assert.Equal(7, r.Errors.Count);
    }

    [Fact]
    public void Seed_image_prompts_with_a_local_image_become_hailuo_image_to_video_jobs()
    {
        var photo = Path.Combine(_temp, "photo.png");
        File.WriteAllBytes(photo, TestImages.Png);
        var r = _ps.Run(@"$photo = $args[1]
                          Import-Csv $args[0] | ForEach-Object { $_ | Add-Member -NotePropertyName Image -NotePropertyValue $photo -PassThru } |
                          New-HailuoVideo", Seed("seed-image-prompts.csv"), photo);
        r.ThrowIfErrors();
        var rows = File.ReadAllLines(Seed("seed-image-prompts.csv")).Skip(1).Count(l => l.Trim().Length > 0);
        Assert.Equal(rows, r.Output.Count);
        Assert.All(r.Output, j => Assert.Equal("fal-ai/minimax/hailuo-2.3/pro/image-to-video", j.Properties["EndpointId"].Value));
        Assert.Equal(rows, _emulator.State.Uploads);
        var sent = InputOf((string)r.Output[0].Properties["RequestId"].Value);
        Assert.StartsWith(_emulator.BaseUrl.ToString().TrimEnd('/') + "/cdn/uploads/", sent.GetProperty("image_url").GetString());
        Assert.Equal("Subject slowly turns head to face camera. Hair moves gently in breeze. Soft bokeh background. Cinematic, shallow depth of field. 1080p.",
            sent.GetProperty("prompt").GetString());
        // Each upload showed its bytes with Write-Progress (the file's full size once it was sent), under one bar for
        // all uploads, and every bar was closed at the end.
        var size = new FileInfo(photo).Length;
        var perFile = r.Progress.Where(p => p.Activity == "Uploading photo.png" && p.RecordType == ProgressRecordType.Processing).ToList();
        Assert.Contains(perFile, p => p.StatusDescription == $"{size:N0} of {size:N0} bytes" && p.PercentComplete == 100);
        Assert.All(perFile, p => Assert.Equal(7301, p.ParentActivityId));
        Assert.Contains(r.Progress, p => p.ActivityId == 7301 && p.StatusDescription.Contains(" bytes"));
        Assert.Equal(ProgressRecordType.Completed, r.Progress.Last(p => p.ActivityId == 7301).RecordType);
    }

    [Fact]
    public void Endpoint_ids_and_yes_no_cells_bind_like_short_names_and_booleans()
    {
        var r = _ps.Run(@"
            @([pscustomobject]@{ Prompt = 'A'; Model = 'fal-ai/kling-video/v3/standard/text-to-video'; GenerateAudio = 'yes'; Duration = '4' },
              [pscustomobject]@{ Prompt = 'B'; Model = 'kling-v3-standard'; GenerateAudio = '0'; Duration = '4' },
              [pscustomobject]@{ Prompt = 'C'; Model = ''; GenerateAudio = 'No'; Duration = '' }) | New-KlingVideo");
        r.ThrowIfErrors();
        Assert.Equal(new[] { "kling-v3-standard", "kling-v3-standard", "kling-v3-pro" }, r.Output.Select(o => (string)o.Properties["Model"].Value));
        Assert.Equal(new[] { 0.504m, 0.336m, 0.56m }, r.Output.Select(o => (decimal)o.Properties["EstimatedCostUsd"].Value));
        var audio = r.Output.Select(o => InputOf((string)o.Properties["RequestId"].Value).GetProperty("generate_audio").GetBoolean());
        Assert.Equal(new[] { true, false, false }, audio);
        Assert.False(InputOf((string)r.Output[2].Properties["RequestId"].Value).TryGetProperty("duration", out _)); // empty: fal's default
    }

    [Fact]
    public void Verbose_shows_each_http_call_with_method_url_status_and_time_but_never_the_key()
    {
        var r = _ps.Run("New-KlingVideo -Prompt 'A gull lands' -Duration 3 -Verbose | Wait-FalJob -Verbose | Save-FalVideo -Directory $args[0] -Verbose", _temp);
        r.ThrowIfErrors();
        var baseUrl = _emulator.BaseUrl.ToString().TrimEnd('/');
        Assert.Contains(r.Verbose, v => System.Text.RegularExpressions.Regex.IsMatch(v,
            $@"^POST {System.Text.RegularExpressions.Regex.Escape(baseUrl)}/fal-ai/kling-video/v3/pro/text-to-video -> 200 \(\d+ ms\)"));
        Assert.Contains(r.Verbose, v => v.StartsWith("GET " + baseUrl + "/fal-ai/kling-video/requests/") && v.Contains("-> 200"));
        Assert.Contains(r.Verbose, v => v.StartsWith("GET " + baseUrl + "/cdn/"));
        Assert.DoesNotContain(r.Verbose, v => v.Contains("test-key-0123456789"));
    }

    [Fact]
    public void WhatIf_prices_every_row_and_submits_nothing()
    {
        _ps.TakeHostText();
        var r = _ps.Run("Import-Csv $args[0] | New-KlingVideo -WhatIf", Seed("seed-prompts.csv"));
        Assert.Empty(r.Output);
        var whatIf = _ps.TakeHostText().Split('\n').Where(l => l.StartsWith("What if:")).ToList();
        Assert.Equal(6, whatIf.Count); // the five Kling rows (the others are errors), then the batch line
        Assert.Contains(whatIf, l => l.Contains("Row 1 (pottery): kling-v3-pro text-to-video") && l.Contains("6 s") && l.Contains("estimated 0.67 USD") && l.Contains("ceramic bowl"));
        Assert.Contains(whatIf, l => l.Contains("Row 4 (vendor):") && l.Contains("estimated 1.68 USD"));
        Assert.StartsWith("What if: Batch: 5 request(s), estimated total ", whatIf[^1].TrimEnd());
        Assert.Equal(0, _emulator.State.AcceptedSubmissions);
        Assert.Equal(0, _emulator.State.Requests);
    }

    [Fact]
    public void Invalid_rows_are_reported_and_the_valid_rows_go_on()
    {
        var r = _ps.Run(@"
            @([pscustomobject]@{ Id = 'ok';   Prompt = 'A fox';  Duration = '5';  AspectRatio = '16:9'; CfgScale = '' },
              [pscustomobject]@{ Id = 'long'; Prompt = 'A fox';  Duration = '20'; AspectRatio = '';     CfgScale = '' },
              [pscustomobject]@{ Id = 'ar';   Prompt = 'A fox';  Duration = '';   AspectRatio = '4:3';  CfgScale = '' },
              [pscustomobject]@{ Id = 'cfg';  Prompt = 'A fox';  Duration = '';   AspectRatio = '';     CfgScale = '1.5' },
              [pscustomobject]@{ Id = 'text'; Prompt = 'A fox';  Duration = 'ten'; AspectRatio = '';    CfgScale = '' },
              [pscustomobject]@{ Id = 'none'; Prompt = '';       Duration = '';   AspectRatio = '';     CfgScale = '' },
              [pscustomobject]@{ Id = 'ok2';  Prompt = 'A hare'; Duration = '';   AspectRatio = '';     CfgScale = '0.3' }) | New-KlingVideo");
        Assert.Equal(new[] { "ok", "ok2" }, r.Output.Select(o => (string)o.Properties["Id"].Value));
        Assert.Equal(2, _emulator.State.AcceptedSubmissions);
        var messages = r.Errors.Select(e => e.ErrorDetails.Message).ToList();
        Assert.Equal(5, messages.Count);
        Assert.StartsWith("Row 2 (long): Duration 20", messages[0]);
        Assert.Contains("3–15", messages[0]);
        Assert.StartsWith("Row 3 (ar): AspectRatio '4:3'", messages[1]);
        Assert.Contains("16:9, 9:16, 1:1", messages[1]);
        Assert.StartsWith("Row 4 (cfg): CfgScale 1.5", messages[2]);
        Assert.StartsWith("Row 5 (text): Duration 'ten'", messages[3]);
        Assert.StartsWith("Row 6 (none): Prompt is missing", messages[4]);
        Assert.All(r.Errors, e => Assert.Equal("FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand", e.FullyQualifiedErrorId));
    }

    [Fact]
    public void Csv_to_videos_on_disk_with_a_report()
    {
        var outDir = Path.Combine(_temp, "out");
        var report = Path.Combine(_temp, "done.csv");
        var r = _ps.Run(@"Import-Csv $args[0] | Where-Object Model -eq 'kling-v3-pro' | New-KlingVideo -Wait |
                          Save-FalVideo -Directory $args[1] | Export-Csv $args[2] -NoTypeInformation
                          Import-Csv $args[2]", Seed("seed-prompts.csv"), outDir, report);
        r.ThrowIfErrors();
        Assert.Equal(5, r.Output.Count);
        foreach (var row in r.Output)
        {
            var file = (string)row.Properties["Path"].Value;
            Assert.True(File.Exists(file), file);
            Assert.Equal(_emulator.State.Jobs.Single(j => j.RequestId == (string)row.Properties["RequestId"].Value).RequestId,
                row.Properties["RequestId"].Value);
            Assert.False(string.IsNullOrEmpty((string)row.Properties["Prompt"].Value));
            Assert.StartsWith((string)row.Properties["Id"].Value + "-", Path.GetFileName(file));
            var bytes = File.ReadAllBytes(file);
            Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4)); // an MP4, not an error page
        }
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp*"));
    }

    [Fact]
    public void Every_submission_is_in_the_journal_before_the_job_is_emitted_and_resumable()
    {
        // The journal line must exist at the moment the job object reaches the next command.
        var r = _ps.Run(@"$journal = $args[0]
                          New-KlingVideo -Prompt 'A lamp flickers' -Duration 3 |
                          ForEach-Object { $line = Get-Content $journal | Select-String -SimpleMatch $_.RequestId; [pscustomobject]@{ Job = $_; Journaled = [bool]$line } }",
            _ps.JournalPath);
        r.ThrowIfErrors();
        Assert.True((bool)r.Output[0].Properties["Journaled"].Value);
        Assert.DoesNotContain("test-key", File.ReadAllText(_ps.JournalPath));

        var listed = _ps.Run("Get-FalJob -Status InQueue | Wait-FalJob | ForEach-Object RequestId");
        listed.ThrowIfErrors();
        var id = ((PSObject)r.Output[0].Properties["Job"].Value).Properties["RequestId"].Value;
        Assert.Equal(id, listed.Output.Single().BaseObject);
        var after = _ps.Run("Get-FalJob -Status Completed -Last 1 | ForEach-Object RequestId");
        Assert.Equal(id, after.Output.Single().BaseObject);
    }

    [Fact]
    public void Get_FalJob_reads_a_request_submitted_from_another_session()
    {
        var submit = _ps.Run("New-KlingVideo -Prompt 'A paper boat on a river' -Duration 3 -GenerateAudio $false");
        submit.ThrowIfErrors();
        var id = (string)submit.Output[0].Properties["RequestId"].Value;
        var endpoint = (string)submit.Output[0].Properties["EndpointId"].Value;

        using var other = new PowerShellHost(_emulator.BaseUrl);
        var r = other.Run("Get-FalJob -RequestId $args[0] -EndpointId $args[1]", id, endpoint);
        r.ThrowIfErrors();
        Assert.Equal("Completed", r.Output[0].Properties["Status"].Value.ToString());
        Assert.Equal("kling-v3-pro", r.Output[0].Properties["Model"].Value);
        Assert.StartsWith(_emulator.BaseUrl.ToString().TrimEnd('/'), (string)r.Output[0].Properties["VideoUrl"].Value);

        var piped = _ps.Run("$args[0] | Get-FalJob", submit.Output[0]);
        piped.ThrowIfErrors();
        Assert.Equal("A paper boat on a river", piped.Output[0].Properties["Prompt"].Value);
        Assert.NotEmpty((Array)piped.Output[0].Properties["Logs"].Value);
    }

    [Fact]
    public void A_failed_job_becomes_an_error_with_fals_error_type()
    {
        var r = _ps.Run("New-HailuoVideo -Prompt 'A kite [emulator:fail=runner_disconnected]' | Wait-FalJob");
        Assert.Empty(r.Output);
        var error = Assert.Single(r.Errors);
        Assert.Equal("FalJobFailed,FalVideo.PowerShell.Cmdlets.WaitFalJobCommand", error.FullyQualifiedErrorId);
        Assert.Contains("runner_disconnected", error.ErrorDetails.Message);
        Assert.Equal("Failed", ((PSObject)PSObject.AsPSObject(error.TargetObject)).Properties["Status"].Value.ToString());
    }

    [Fact]
    public void A_422_from_fal_is_reported_for_the_row_with_fals_detail()
    {
        // An image URL on the emulator's storage that was never uploaded: only fal (here, the emulator) can know.
        var missing = new Uri(_emulator.BaseUrl, "/cdn/uploads/nope/missing.png").ToString();
        var r = _ps.Run("New-KlingVideo -Prompt 'A door opens' -StartImage $args[0]", missing);
        Assert.Empty(r.Output);
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalValidationFailed", error.FullyQualifiedErrorId);
        Assert.Contains("start_image_url", error.ErrorDetails.Message);
        Assert.Equal(0, _emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public void Local_images_are_uploaded_and_urls_passed_through()
    {
        var first = Path.Combine(_temp, "first.png");
        var last = Path.Combine(_temp, "last.png");
        File.WriteAllBytes(first, TestImages.Png);
        File.WriteAllBytes(last, TestImages.Png);
        var r = _ps.Run("Set-Location $args[0]; New-KlingVideo -Prompt 'The flower opens' -StartImage ./first.png -EndImage ./last.png", _temp);
        r.ThrowIfErrors();
        Assert.Equal(2, _emulator.State.Uploads);
        var sent = InputOf((string)r.Output[0].Properties["RequestId"].Value);
        Assert.Equal("fal-ai/kling-video/v3/pro/image-to-video", r.Output[0].Properties["EndpointId"].Value);
        Assert.StartsWith(_emulator.BaseUrl.ToString().TrimEnd('/') + "/cdn/uploads/", sent.GetProperty("start_image_url").GetString());
        Assert.EndsWith("/last.png", sent.GetProperty("end_image_url").GetString());

        var url = "https://example.com/photo.jpg";
        var h = _ps.Run("New-HailuoVideo -Prompt 'Wind in the trees' -Image $args[0] -WhatIf", url);
        Assert.Empty(h.Output);
        Assert.Equal(2, _emulator.State.Uploads); // -WhatIf uploads nothing either
    }

    [Fact]
    public void Missing_key_is_one_terminating_error_before_anything_is_sent()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FAL_KEY")), "FAL_KEY must not be set for this test");
        using var keyless = new PowerShellHost(null);
        keyless.Run("Set-FalConfiguration -BaseUrl $args[0]", _emulator.BaseUrl.ToString()).ThrowIfErrors();
        var r = keyless.Run("@([pscustomobject]@{Prompt='a'},[pscustomobject]@{Prompt='b'}) | New-KlingVideo; 'after'");
        // One statement-terminating error for the whole pipeline, not one per row; the script goes on.
        var error = Assert.Single(r.Errors);
        Assert.Equal("FalMissingKey,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
        Assert.Contains("Set-FalConfiguration -ApiKey", error.ErrorDetails.Message);
        Assert.Contains("FAL_KEY", error.ErrorDetails.Message);
        Assert.Equal("after", r.Output.Single().ToString());
        Assert.Equal(0, _emulator.State.Requests);
    }
}

internal static class TestImages
{
    /// <summary>A valid 1×1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
}
