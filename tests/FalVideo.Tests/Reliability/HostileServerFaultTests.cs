using FalVideo.Emulator.Faults;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// A hostile server or CDN: a status stream whose one line never ends, a CDN that trickles bytes just often enough to
/// look alive, a body cut short without a length that still ends "normally". Counted at the emulator (bytes it sent,
/// whether the client hung up) as well as on disk: memory stays bounded, the job still ends, and nothing short or
/// slow is ever saved under a video's final name.
/// </summary>
public sealed class HostileServerFaultTests : FaultTestBase
{
    // FalJson.MaxBodyBytes, the cap on one SSE event (and any JSON body) the client holds in memory.
    private const long EventCap = 4 * 1024 * 1024;

    // Far more than the cap, so a client that kept the line would allocate far beyond the bound below.
    private const long LineLimit = 256L * 1024 * 1024;

    // What waiting for one job may allocate with the line refused at the cap: the parser's growing line buffer (up to
    // twice the cap) and the module's own work, far below the line itself.
    private const long MemoryBound = 64L * 1024 * 1024;

    // No job waits in the queue, so every job in a test has its stream open at the same time.
    protected override FalVideo.Emulator.EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", Concurrency = 8 };

    [Fact]
    public async Task An_endless_status_stream_line_is_dropped_at_the_cap_and_the_job_still_ends()
    {
        // A pwsh of its own, so the memory the wait allocated is this job's alone. The job runs a second, so waiting
        // opens the stream instead of finding it already complete.
        var armed = Inject(new FaultRule { Route = FaultRoute.Stream, Action = FaultAction.EndlessSseLine, LimitBytes = LineLimit });
        var script = Path.Combine(Temp, "endless.ps1");
        File.WriteAllText(script, $$"""
            param($out)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -RetryBaseDelay 0.05
            $jobs = @([pscustomobject]@{ Id = 'e1'; Prompt = 'Endless line [emulator:seconds=1]'; Duration = '3' } | New-KlingVideo)
            $before = [GC]::GetTotalAllocatedBytes($true)
            $done = @($jobs | Wait-FalJob)
            $after = [GC]::GetTotalAllocatedBytes($true)
            $saved = @($done | Save-FalVideo -Directory $out)
            "allocated=$($after - $before) saved=$($saved.Count)"
            """);
        using var child = new PwshChild(script, new Dictionary<string, string?>
        {
            ["FALVIDEO_BASE_URL"] = Emulator.BaseUrl.ToString(), ["FAL_KEY"] = ApiKey, ["FALVIDEO_JOURNAL"] = Ps.JournalPath,
        }, OutDir);
        var exit = await child.WaitAsync(TimeSpan.FromSeconds(120));
        var match = System.Text.RegularExpressions.Regex.Match(child.Output, @"allocated=(\d+) saved=(\d+)");
        Assert.True(match.Success, $"pwsh exited {exit} without its summary:\n{child.Output}");
        var allocated = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var saved = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        // The client may drain what follows a refused event for a while before it closes the connection (the HTTP
        // stack's drain timeout), so the answer ends with a hang-up or, when the line is short enough, at its limit.
        await Until(() => armed.ClientGaveUp == 1 || armed.BytesSent >= LineLimit, "the endless answer to end");
        var streams = Emulator.Faults.RequestsTo(FaultRoute.Stream);
        var polls = Emulator.Faults.RequestsTo(FaultRoute.Status);
        var tally = Count();
        ReliabilityRecorder.Record(831, "Status stream: one SSE line that never ends (data: xxx… without a newline)",
            $"Wait-FalJob allocated {allocated / (1024 * 1024)} MB in all (the event cap is {EventCap / (1024 * 1024)} MB) and dropped the stream; " +
            $"the emulator had sent {armed.BytesSent / (1024 * 1024)} MB of the line when the answer ended (of {LineLimit / (1024 * 1024)} MB offered; what the client drained after refusing it was discarded, not kept); " +
            $"waiting went on ({streams} stream and {polls} status requests); {saved} of 1 video saved",
            tally.Lost);

        Assert.Equal(0, exit);
        Assert.Equal(1, armed.Fired);
        Assert.True(armed.BytesSent > EventCap, $"only {armed.BytesSent} bytes were sent: the client hung up before the line reached the cap");
        // The line buffered in memory would be hundreds of MB; the cap keeps the parser's buffer to a few.
        Assert.True(allocated < MemoryBound, $"waiting allocated {allocated} bytes");
        Assert.Equal(1, saved);
        tally.AssertNothingLost(accepted: 1);
    }

    private sealed record Slow(int Order, string Fault, int BytesPerSecond, string Expected);

    private static readonly Slow[] SlowCdns =
    [
        // A byte a second: never two bytes within the half-second idle limit.
        new(832, "Download: CDN sends 1 byte per second (idle timeout 0.5 s)", 1, "No data was received for 0.5 seconds"),
        // Ten bytes a second: a byte every 100 ms beats the idle limit; the average rate does not.
        new(833, "Download: CDN trickles 10 bytes per second (minimum rate 1000 B/s)", 10, "too slow"),
    ];

    public static TheoryData<string> SlowCases => new(SlowCdns.Select(c => c.Fault));

    [Theory]
    [MemberData(nameof(SlowCases))]
    public async Task A_trickling_CDN_fails_the_save_within_the_configured_limits_and_leaves_no_file(string fault)
    {
        var c = SlowCdns.Single(x => x.Fault == fault);
        var jobs = Ps.Run($"$global:jobs = @({Rows(1, "Trickle")} | New-KlingVideo | Wait-FalJob); $global:jobs.Count");
        jobs.ThrowIfErrors();
        // Every attempt (the first and each retry) trickles; short limits keep the test quick.
        var armed = Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.Trickle, BytesPerSecond = c.BytesPerSecond, Times = 100 });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = Ps.Run("Set-FalConfiguration -DownloadIdleTimeout 0.5 -DownloadMinBytesPerSecond 1000; $global:jobs | Save-FalVideo -Directory $args[0]", OutDir);
        var took = clock.Elapsed;
        // The client hangs up after its limit, though closing a half-read connection can lag the error a little.
        await Until(() => armed.ClientGaveUp == armed.Fired, "the client to hang up on every trickling attempt");
        var files = Directory.Exists(OutDir) ? Directory.GetFiles(OutDir) : [];
        Emulator.Faults.Clear();
        var later = Ps.Run("Get-FalJob -Status Completed | Where-Object { -not $_.SavedPath } | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        var error = r.Errors.FirstOrDefault();
        ReliabilityRecorder.Record(c.Order, fault,
            $"{armed.Fired} attempt(s) trickled, the client hung up on {armed.ClientGaveUp} after {armed.BytesSent} bytes in all; Save-FalVideo gave {Ids(r)} " +
            $"(\"{ReliabilityRecorder.Gist(error?.ErrorDetails?.Message ?? error?.Exception.Message)}\"); {files.Length} files left; saved later from the journal ({later.Output.Count})",
            tally.Lost);

        Assert.NotNull(error);
        Assert.StartsWith("FalDownloadFailed,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Contains(c.Expected, error.ErrorDetails?.Message ?? error.Exception.Message);
        Assert.Empty(r.Output);
        Assert.Empty(files);
        Assert.True(armed.Fired >= 1);
        Assert.Equal(armed.Fired, armed.ClientGaveUp);
        Assert.True(armed.BytesSent < VideoBytes * armed.Fired, $"{armed.BytesSent} bytes sent: a whole video got through");
        // Each attempt ends soon after its limit: well below the default 60 s, whatever the retries.
        Assert.True(took < TimeSpan.FromSeconds(30), $"the save took {took.TotalSeconds:0.0} s");
        later.ThrowIfErrors();
        Assert.Single(later.Output);
        tally.AssertNothingLost(accepted: 1);
    }

    [Fact]
    public void A_CDN_body_cut_short_without_a_length_is_never_saved_under_its_final_name()
    {
        var jobs = Ps.Run($"$global:jobs = @({Rows(1, "NoLength")} | New-KlingVideo | Wait-FalJob); $global:jobs.Count");
        jobs.ThrowIfErrors();
        // Every attempt is cut the same way, so retrying can't hide it.
        var armed = Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.TruncateNoLength, Times = 100 });
        var r = Ps.Run("$global:jobs | Save-FalVideo -Directory $args[0]", OutDir);
        var files = Directory.Exists(OutDir) ? Directory.GetFiles(OutDir) : [];
        Emulator.Faults.Clear();
        var later = Ps.Run("Get-FalJob -Status Completed | Where-Object { -not $_.SavedPath } | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        var error = r.Errors.FirstOrDefault();
        ReliabilityRecorder.Record(834, "Download: half the video, chunked without Content-Length, then a normal end",
            $"{armed.Fired} attempt(s) got {armed.BytesSent / Math.Max(1, armed.Fired)} of {VideoBytes} bytes each; fal's file_size refused it ({Ids(r)}: " +
            $"\"{ReliabilityRecorder.Gist(error?.ErrorDetails?.Message ?? error?.Exception.Message)}\"); {files.Length} files left; saved later from the journal ({later.Output.Count})",
            tally.Lost);

        Assert.NotNull(error);
        Assert.StartsWith("FalDownloadFailed,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Contains($"{VideoBytes} were expected", error.ErrorDetails?.Message ?? error.Exception.Message);
        Assert.Empty(files);
        Assert.True(armed.Fired >= 1);
        Assert.Equal(VideoBytes / 2 * armed.Fired, armed.BytesSent);
        later.ThrowIfErrors();
        Assert.Single(later.Output);
        tally.AssertNothingLost(accepted: 1);
    }

    [Fact]
    public void A_result_cut_short_without_a_length_is_one_clear_error_and_the_job_resumes()
    {
        var armed = Inject(new FaultRule { Route = FaultRoute.Result, Action = FaultAction.TruncateNoLength });
        var r = Ps.Run($"{Rows(1, "ShortResult")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var resumed = Ps.Run("Get-FalJob | Where-Object LastError | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        var error = r.Errors.FirstOrDefault();
        ReliabilityRecorder.Record(835, "Result: half the JSON, chunked without Content-Length, then a normal end",
            $"{armed.Fired} fault injected ({armed.BytesSent} bytes sent); {Ids(r)} (\"{ReliabilityRecorder.Gist(error?.ErrorDetails?.Message)}\"); " +
            $"Get-FalJob | Where-Object LastError | Wait-FalJob | Save-FalVideo saved {resumed.Output.Count}", tally.Lost);

        Assert.NotNull(error);
        Assert.StartsWith("FalProtocolError,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(1, armed.Fired);
        Assert.True(armed.BytesSent > 0);
        Assert.Empty(r.Output);
        resumed.ThrowIfErrors();
        Assert.Single(resumed.Output);
        tally.AssertNothingLost(accepted: 1);
    }
}
