using FalVideo.Emulator;
using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// The one resume command (<c>Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo</c>) after the ways a save is cut
/// short: a kill during the downloads, a file written but not recorded, jobs that completed while nobody waited.
/// Counted at the emulator: jobs accepted and completed there against the files in the target folder.
/// </summary>
public sealed class ResumeTests : FaultTestBase
{
    /// <summary>The resume command, as the module states it on a stop (JobWaiter.ResumeCommand), the README and about_FalVideo.</summary>
    internal const string Resume = "Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo";

    protected override EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", Concurrency = 8 };

    [Fact]
    public async Task A_kill_during_the_downloads_is_resumed_by_one_command_that_saves_every_paid_video_once()
    {
        // Five videos download; the sixth and later are held at the CDN when the process dies.
        var held = Inject(new FaultRule { Route = FaultRoute.Download, Action = FaultAction.DelayBefore, DelaySeconds = 120, Skip = 5, Times = 100 });
        var script = Path.Combine(Temp, "batch.ps1");
        File.WriteAllText(script, $$"""
            param($out)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -RetryBaseDelay 0.05
            {{Rows(20, "Killed while saving")}} | New-KlingVideo -Wait | Save-FalVideo -Directory $out
            """);
        var env = new Dictionary<string, string?>
        {
            ["FALVIDEO_BASE_URL"] = Emulator.BaseUrl.ToString(), ["FAL_KEY"] = ApiKey, ["FALVIDEO_JOURNAL"] = Ps.JournalPath,
        };
        using (var child = new PwshChild(script, env, OutDir))
        {
            try
            {
                await Until(() => Emulator.State.Jobs.Count(j => j.Succeeded) == 20 && held.Fired >= 1 && Videos().Length == 5,
                    "20 jobs completed, 5 saved and the 6th download in flight", seconds: 60);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new Xunit.Sdk.XunitException($"{e.Message}. pwsh said:\n{child.Output}");
            }
            finally
            {
                await child.KillAsync();
            }
            Assert.Equal(137, child.Process.ExitCode);
        }
        Emulator.Faults.Clear();
        var completedAtKill = Emulator.State.Jobs.Count(j => j.Succeeded);
        var savedAtKill = Videos().Length;
        // What the old resume saw: only the jobs whose completion the killed process had not yet recorded (its pipeline
        // thread was busy downloading); the others are recorded completed.
        var oldResumeSaw = Ps.Run("Get-FalJob -Status InQueue,InProgress").Output.Count;
        var unsaved = Journal().Where(j => j.RequestId.Length > 0 && j.SavedPath is null).ToList();
        var completedUnsaved = unsaved.Count(UnfinishedJobs.IsUnsaved);
        // A write the kill cut short leaves its temporary file: the name pattern DownloadFileAsync uses.
        var leftover = Path.Combine(OutDir, $".{Path.GetFileName(NameOf(Journal().First(j => j.RequestId.Length > 0 && j.SavedPath is null)))}.{Guid.NewGuid():N}.part");
        File.WriteAllBytes(leftover, new byte[1000]);

        // The resume, in a fresh pwsh whose current location is not the target folder: the saves go where they were asked for.
        var resumeScript = Path.Combine(Temp, "resume.ps1");
        File.WriteAllText(resumeScript, $$"""
            param($here)
            {{PwshChild.ImportModule}}
            Set-Location $here
            {{Resume}} | ForEach-Object { "SAVED $($_.Path)" }
            "UNFINISHED AFTER: $(@(Get-FalJob -Unfinished).Count)"
            """);
        using var resume = new PwshChild(resumeScript, env, Temp);
        var exit = await resume.WaitAsync(TimeSpan.FromSeconds(60));
        var lines = resume.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var saved = lines.Count(l => l.StartsWith("SAVED " + OutDir, StringComparison.Ordinal));
        var tally = Count();
        ReliabilityRecorder.Record(921, "pwsh killed (SIGKILL) during Save-FalVideo of 20 videos, resumed with one command in a fresh pwsh",
            $"killed with {completedAtKill} of 20 jobs completed at fal and {savedAtKill} saved, {completedUnsaved} recorded completed with a save asked for; " +
            $"the old resume (-Status InQueue,InProgress) would have found {oldResumeSaw} of the {20 - savedAtKill} unsaved; " +
            $"'{Resume}' saved {saved} to the folder each save was asked for, removed the .part file an interrupted write left, " +
            $"and then listed {lines.LastOrDefault(l => l.StartsWith("UNFINISHED AFTER", StringComparison.Ordinal))}; {tally.Accepted} submissions in all",
            tally.Lost);

        Assert.True(exit == 0, resume.Output);
        Assert.Equal(20, completedAtKill);
        Assert.Equal(5, savedAtKill);
        Assert.Equal(15, unsaved.Count);
        // Every save was asked for, into the batch's folder, whether or not the killed process recorded the job's completion.
        Assert.All(unsaved, j => Assert.Equal(OutDir, j.SaveDirectory));
        Assert.True(oldResumeSaw < 15, $"the old resume found {oldResumeSaw} of the 15 unsaved jobs");
        Assert.Equal(15, saved);
        Assert.Contains("UNFINISHED AFTER: 0", lines);
        Assert.False(File.Exists(leftover));
        Assert.Empty(Directory.GetFiles(Temp, "*.mp4"));
        tally.AssertNothingLost(accepted: 20);
    }

    [Fact]
    public void A_complete_file_without_its_saved_record_is_taken_as_saved_and_a_wrong_sized_one_is_not()
    {
        var jobs = Ps.Run($"{Rows(2, "Already on disk")} | New-KlingVideo -Wait").Output.Select(o => (FalJob)o.BaseObject).ToList();
        Assert.Equal(2, jobs.Count);
        Directory.CreateDirectory(OutDir);
        // The first: the whole video moved into place, then the process died before the saved record (and a retry's .part is left).
        var complete = Path.Combine(OutDir, NameOf(jobs[0]));
        File.Copy(SamplePath, complete);
        var leftover = Path.Combine(OutDir, $".{Path.GetFileName(complete)}.{Guid.NewGuid():N}.part");
        File.WriteAllBytes(leftover, new byte[100]);
        // The second: another file under its name, of another size.
        var other = Path.Combine(OutDir, NameOf(jobs[1]));
        File.WriteAllBytes(other, new byte[10]);

        // Jobs as a new session reads them from the journal: no saved path, no known size.
        var r = Ps.Run("param($out, $ids) Get-FalJob | Where-Object RequestId -in $ids | Save-FalVideo -Directory $out",
            OutDir, new[] { jobs[0].RequestId, jobs[1].RequestId });
        var errorIds = Ids(r);
        var recorded = Journal().Single(j => j.RequestId == jobs[0].RequestId).SavedPath;
        ReliabilityRecorder.Record(922, "a complete video file at the target without its saved record (the process died between the two)",
            $"Save-FalVideo returned {r.Output.Count} file(s) and recorded it as saved ({recorded is not null}); its .part leftover removed: {!File.Exists(leftover)}; " +
            $"a file of another size under the other job's name: {errorIds}",
            r.Output.Count == 1 && recorded == complete && !File.Exists(leftover) ? "nothing" : "the existing file was not recognised");

        Assert.Single(r.Output);
        Assert.Equal(complete, r.Output[0].Properties["Path"].Value);
        Assert.Equal(complete, recorded);
        Assert.False(File.Exists(leftover));
        Assert.Equal("FalFileExists", errorIds);
        Assert.Equal(10, new FileInfo(other).Length);
    }

    [Fact]
    public async Task Jobs_that_completed_while_nobody_waited_are_found_and_saved_by_the_resume()
    {
        var submitted = Ps.Run($"{Rows(3, "Nobody waited", "[emulator:seconds=1]")} | New-KlingVideo");
        submitted.ThrowIfErrors();
        await Until(() => Emulator.State.Jobs.Count(j => j.Succeeded) == 3, "3 jobs completed at fal");
        var recordedOpen = Journal().Count(j => j.Status is FalJobStatus.InQueue or FalJobStatus.InProgress);
        Directory.CreateDirectory(OutDir);

        var r = Ps.Run($"Set-Location $args[0]; {Resume}", OutDir);
        var again = Ps.Run("Get-FalJob -Unfinished").Output.Count;
        var tally = Count();
        ReliabilityRecorder.Record(923, "jobs completed at fal while nobody waited (submitted without -Wait, the session left)",
            $"{recordedOpen} of 3 recorded as queued; '{Resume}' found them and saved {r.Output.Count}; {r.Errors.Count} errors; -Unfinished then listed {again}",
            tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(3, recordedOpen);
        Assert.Equal(3, r.Output.Count);
        Assert.Equal(0, again);
        tally.AssertNothingLost(accepted: 3);
    }

    private static string SamplePath => Path.Combine(RepoPaths.Root, "src", "FalVideo.Emulator", "assets", "sample.mp4");

    private string[] Videos() => Directory.Exists(OutDir) ? Directory.GetFiles(OutDir, "*.mp4") : [];

    /// <summary>Save-FalVideo's file name for a job of <see cref="FaultTestBase.Rows"/>: "&lt;Id&gt;-&lt;first 8 of the request id&gt;.mp4".</summary>
    private static string NameOf(FalJob job) => $"{job.Id}-{job.RequestId[..8]}.mp4";
}
