using FalVideo.Emulator.Faults;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Faults on the CDN download. A video is streamed to a temporary file beside the target, its size checked, then moved
/// into place: a broken transfer is retried from the start, and never leaves a partial file under the final name.
/// </summary>
public sealed class DownloadFaultTests : FaultTestBase
{
    private sealed record Case(int Order, string Fault, FaultRule Rule, double? Timeout = null);

    private static readonly Case[] Recoverable =
    [
        new(301, "Download: connection reset mid-transfer (2 ×)", new() { Route = FaultRoute.Download, Action = FaultAction.Truncate, Times = 2 }),
        new(302, "Download: connection reset before the answer (2 ×)", new() { Route = FaultRoute.Download, Action = FaultAction.ResetBefore, Times = 2 }),
        new(303, "Download: 503 burst (3 ×)", new() { Route = FaultRoute.Download, StatusCode = 503, Times = 3 }),
        new(304, "Download: no answer within the per-request timeout", new() { Route = FaultRoute.Download, Action = FaultAction.DelayBefore, DelaySeconds = 6 }, Timeout: 2),
    ];

    public static TheoryData<string> RecoverableCases => new(Recoverable.Select(c => c.Fault));

    [Theory]
    [MemberData(nameof(RecoverableCases))]
    public void A_broken_download_is_retried_from_the_start_and_leaves_no_partial_file(string fault)
    {
        var c = Recoverable.Single(x => x.Fault == fault);
        var armed = Inject(c.Rule);

        // A short per-request timeout matters only for the downloads: submitting and waiting keep the usual one, so a
        // loaded machine answering slowly elsewhere can't fail the batch for another reason.
        var r = c.Timeout is { } t
            ? RunBatch(3, "Download", script: $"$jobs = @({Rows(3, "Download")} | New-KlingVideo | Wait-FalJob); " +
                                              $"Set-FalConfiguration -RequestTimeout {t}; $jobs | Save-FalVideo -Directory $args[0]")
            : RunBatch(3, "Download");
        var downloads = Emulator.Faults.RequestsTo(FaultRoute.Download);
        var tally = Count();
        ReliabilityRecorder.Record(c.Order, fault,
            $"{armed.Fired} fault(s) injected; each transfer retried from the start into a fresh temporary file ({downloads} downloads for 3 videos); " +
            $"{r.Output.Count} of 3 videos saved at full size, {r.Errors.Count} errors", tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(c.Rule.Times, armed.Fired);
        Assert.Equal(3 + c.Rule.Times, downloads);
        Assert.All(r.Output, o => Assert.Equal(VideoBytes, new FileInfo((string)o.Properties["Path"].Value).Length));
        tally.AssertNothingLost(accepted: 3);
    }

    [Fact]
    public void A_download_that_keeps_failing_leaves_nothing_under_the_final_name_and_is_saved_later_from_the_journal()
    {
        // One download at a time: the four resets (1 try + 3 retries) all hit the first video.
        var armed = Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.Truncate, Times = 4 });
        var r = RunBatch(3, "Doomed", script: $"{Rows(3, "Doomed")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0] -ThrottleLimit 1");
        var afterFailure = Directory.GetFiles(OutDir);
        var unsaved = Ps.Run("Get-FalJob -Status Completed | Where-Object { -not $_.SavedPath }");
        var retry = Ps.Run("Get-FalJob -Status Completed | Where-Object { -not $_.SavedPath } | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        ReliabilityRecorder.Record(305, "Download: connection reset on every attempt (retries used up)",
            $"{armed.Fired} resets; that video got {Ids(r)} and nothing under its final name ({afterFailure.Length} files for 2 good videos), " +
            $"the error was journaled; Get-FalJob -Status Completed | Where-Object {{ -not $_.SavedPath }} | Save-FalVideo saved it later ({retry.Output.Count})",
            tally.Lost);

        Assert.Equal(4, armed.Fired);
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalDownloadFailed,", error.FullyQualifiedErrorId);
        Assert.Equal(2, r.Output.Count);
        Assert.Equal(2, afterFailure.Length);
        Assert.All(afterFailure, f => Assert.EndsWith(".mp4", f));
        var failed = Assert.Single(unsaved.Output);
        Assert.Contains("Downloading", (string)failed.Properties["LastError"].Value);
        retry.ThrowIfErrors();
        Assert.Single(retry.Output);
        tally.AssertNothingLost(accepted: 3);
    }

    [Fact]
    public void A_download_shorter_than_fals_file_size_is_refused_and_not_kept()
    {
        var armed = Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.Malformed });
        var r = Ps.Run($"{Rows(1, "Short")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var files = Directory.Exists(OutDir) ? Directory.GetFiles(OutDir) : [];
        var retry = Ps.Run("Get-FalJob -Status Completed | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        ReliabilityRecorder.Record(306, "Download: complete answer shorter than fal's file_size",
            $"the size check refused it ({Ids(r)}: \"{ReliabilityRecorder.Gist(r.Errors.FirstOrDefault()?.ErrorDetails?.Message)}\"); {files.Length} files left; saving again later worked ({retry.Output.Count})",
            tally.Lost);

        Assert.Equal(1, armed.Fired);
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalDownloadFailed,", error.FullyQualifiedErrorId);
        Assert.Contains($"{VideoBytes} were expected", error.ErrorDetails.Message);
        Assert.Empty(files);
        retry.ThrowIfErrors();
        tally.AssertNothingLost(accepted: 1);
    }

    [Fact]
    public void An_existing_file_is_never_overwritten_without_Force_nor_damaged_by_a_failed_Force_download()
    {
        var first = Ps.Run($"{Rows(1, "Keep")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        first.ThrowIfErrors();
        var path = (string)first.Output.Single().Properties["Path"].Value;
        File.WriteAllText(path, "the user's own edit"); // whatever is there now must survive
        var downloadsBefore = Emulator.Faults.RequestsTo(FaultRoute.Download);

        var again = Ps.Run("Get-FalJob -Status Completed | Save-FalVideo -Directory $args[0]", OutDir);
        var downloadsWithoutForce = Emulator.Faults.RequestsTo(FaultRoute.Download) - downloadsBefore;
        Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.Truncate, Times = 4 });
        var forced = Ps.Run("Get-FalJob -Status Completed | Save-FalVideo -Directory $args[0] -Force", OutDir);
        var content = File.ReadAllText(path);
        var tally = Tally.Of(Emulator, Journal(), Temp, OutDir, savedExpected: true);
        ReliabilityRecorder.Record(307, "Download: target file exists; then -Force with every attempt reset",
            $"without -Force: {Ids(again)}, {downloadsWithoutForce} downloads, file untouched; with -Force and 4 resets: {Ids(forced)}, " +
            $"the existing file {(content == "the user's own edit" ? "untouched" : "CHANGED")}", content == "the user's own edit" ? "nothing" : "the existing file");

        Assert.StartsWith("FalFileExists,", Assert.Single(again.Errors).FullyQualifiedErrorId);
        Assert.Equal(0, downloadsWithoutForce);
        Assert.StartsWith("FalDownloadFailed,", Assert.Single(forced.Errors).FullyQualifiedErrorId);
        Assert.Equal("the user's own edit", content);
        Assert.Equal(0, tally.PartialFiles);
        Assert.Single(Directory.GetFiles(OutDir));
    }

    [Fact]
    public void Names_from_rows_and_the_server_are_sanitized_into_the_target_folder()
    {
        var r = Ps.Run(@"@([pscustomobject]@{ Id = '../../escape'; Prompt = 'Traversal'; Duration = '3' },
                          [pscustomobject]@{ Id = 'CON'; Prompt = 'Reserved'; Duration = '3' },
                          [pscustomobject]@{ Id = 'a/b\c:d*e'; Prompt = 'Separators'; Duration = '3' }) |
                        New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        r.ThrowIfErrors();
        var names = r.Output.Select(o => (string)o.Properties["Path"].Value).ToList();
        var tally = Count();
        ReliabilityRecorder.Record(308, "Download: row ids with '../', reserved device names and path separators",
            $"saved as {string.Join(", ", names.Select(Path.GetFileName))}, all inside the target folder", tally.Lost);

        Assert.All(names, n => Assert.Equal(Path.GetFullPath(OutDir), Path.GetDirectoryName(n)));
        Assert.DoesNotContain(names, n => Path.GetFileName(n).StartsWith("CON", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(3, Directory.GetFiles(OutDir).Length);
        tally.AssertNothingLost(accepted: 3);
    }
}
