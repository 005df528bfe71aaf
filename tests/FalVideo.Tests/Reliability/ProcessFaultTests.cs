using System.Diagnostics;
using System.Management.Automation;
using FalVideo.Emulator;
using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Whole-process faults: the fal side restarted mid-batch, unreachable at submit, the client process killed mid-batch,
/// and Ctrl+C during a wait. Jobs at fal keep running through all of them; the journal is how the client finds them again.
/// </summary>
public sealed class ProcessFaultTests : FaultTestBase
{
    protected override EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", Concurrency = 8 };

    [Fact]
    public async Task An_emulator_restart_mid_batch_cuts_every_stream_and_the_batch_still_completes()
    {
        Ps.Run("Set-FalConfiguration -MaxRetries 4 -RetryBaseDelay 0.1").ThrowIfErrors();
        var (shell, handle, output) = Begin($"{Rows(4, "Restart", "[emulator:seconds=1.5]")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        using var _ = shell;
        await Until(() => Emulator.State.AcceptedSubmissions == 4 && Emulator.State.StatusRequests >= 4, "4 jobs accepted and followed");
        var streamsBefore = Emulator.Faults.RequestsTo(FaultRoute.Stream) + Emulator.Faults.RequestsTo(FaultRoute.Status);
        var runningAtRestart = Emulator.State.Jobs.Count(j => j.Status != JobStatus.Completed);

        await Emulator.RestartAsync(TimeSpan.FromSeconds(0.5));
        await Task.Run(() => shell.EndInvoke(handle)).WaitAsync(TimeSpan.FromSeconds(30));
        var errors = shell.Streams.Error.ToList();
        var reconnects = Emulator.Faults.RequestsTo(FaultRoute.Stream) + Emulator.Faults.RequestsTo(FaultRoute.Status) - streamsBefore;
        var tally = Count();
        ReliabilityRecorder.Record(501, "fal restarted mid-batch (down 0.5 s, same port, jobs kept running)",
            $"{runningAtRestart} of 4 jobs were unfinished when every connection was cut; waiting reconnected ({reconnects} status requests after the restart, " +
            $"refused ones retried) and followed all to completion; {output.Count} of 4 saved; {errors.Count} errors; {tally.Accepted} submissions", tally.Lost);

        Assert.Empty(errors.Select(e => e.ToString()));
        Assert.True(runningAtRestart > 0, "the restart should happen while jobs run");
        Assert.Equal(4, output.Count);
        tally.AssertNothingLost(accepted: 4);
    }

    [Fact]
    public async Task A_submit_while_fal_is_unreachable_is_retried_because_it_provably_was_not_sent()
    {
        Ps.Run("Set-FalConfiguration -MaxRetries 6 -RetryBaseDelay 0.1").ThrowIfErrors();
        await Emulator.StopAsync(TimeSpan.Zero);
        var (shell, handle, output) = Begin("New-KlingVideo -Prompt 'Submitted while fal was down' -Duration 3 -Verbose | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        using var _ = shell;
        await Task.Delay(TimeSpan.FromSeconds(0.5));
        await Emulator.StartAgainAsync();
        await Task.Run(() => shell.EndInvoke(handle)).WaitAsync(TimeSpan.FromSeconds(30));
        var refused = shell.Streams.Verbose.Count(v => v.Message.Contains("retry", StringComparison.Ordinal) && v.Message.Contains("refused", StringComparison.OrdinalIgnoreCase));
        var tally = Count();
        ReliabilityRecorder.Record(502, "fal unreachable at submit (connection refused for 0.5 s)",
            $"{refused} refused attempts retried with back-off (nothing had been sent, so resending is safe); the row was accepted once and saved; " +
            $"{shell.Streams.Error.Count} errors", tally.Lost);

        Assert.Empty(shell.Streams.Error.Select(e => e.ToString()));
        Assert.True(refused >= 1, "at least one attempt should have been refused");
        Assert.Single(output);
        tally.AssertNothingLost(accepted: 1);
    }

    [Fact]
    public async Task A_client_killed_mid_batch_is_resumed_from_the_journal_without_a_second_submission()
    {
        // The first three submissions go through; the next ones are held at the emulator, unprocessed, when the process dies.
        var held = Inject(new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.DelayBefore, DelaySeconds = 120, Skip = 3, Times = 100 });
        var script = Path.Combine(Temp, "batch.ps1");
        File.WriteAllText(script, $$"""
            param($out)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -RetryBaseDelay 0.05
            1..6 | ForEach-Object { [pscustomobject]@{ Id = "k$_"; Prompt = "Killed batch $_ [emulator:seconds=2]"; Duration = '3' } } |
                New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $out
            """);
        using var child = new PwshChild(script, new Dictionary<string, string?>
        {
            ["FALVIDEO_BASE_URL"] = Emulator.BaseUrl.ToString(), ["FAL_KEY"] = ApiKey, ["FALVIDEO_JOURNAL"] = Ps.JournalPath,
        }, OutDir);
        var journal = new FalVideo.Journal.JobJournal(Ps.JournalPath);
        try
        {
            await Until(() => journal.ReadJobs().Count(j => j.RequestId.Length > 0) == 3 && held.Fired >= 1,
                "3 submissions journaled and the 4th in flight", seconds: 60);
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}. pwsh said:\n{child.Output}");
        }
        finally
        {
            await child.KillAsync();
        }
        Assert.Equal(137, child.Process.ExitCode); // 128 + SIGKILL: pwsh itself was killed, it did not end on its own
        var atKill = journal.ReadJobs();
        var journaledAtKill = atKill.Count(j => j.RequestId.Length > 0);
        // Submissions in flight at the kill were written ahead: listed as Unknown with their prompt, never lost from view.
        var inFlightJournaled = atKill.Count(j => j.RequestId.Length == 0 && j.Status.ToString() == "Unknown");
        var acceptedAtKill = Emulator.State.AcceptedSubmissions;
        var inFlight = held.Fired;

        var resumed = Ps.Run("Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        ReliabilityRecorder.Record(503, "Client process (pwsh) killed mid-batch (SIGKILL), resumed from the journal",
            $"killed with {acceptedAtKill} jobs accepted and {journaledAtKill} journaled, {inFlight} submissions in flight that fal never processed; " +
            $"Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo saved {resumed.Output.Count} of {acceptedAtKill} accepted jobs, " +
            $"{tally.Accepted} submissions in all; the {inFlightJournaled} rows in flight at the kill are in the journal as Unknown with prompt and input (fal never processed them: resubmit after checking)",
            tally.Lost);

        Assert.Equal(3, acceptedAtKill);
        Assert.Equal(3, journaledAtKill);
        Assert.Equal(inFlight, inFlightJournaled);
        Assert.True(inFlight >= 1);
        resumed.ThrowIfErrors();
        Assert.Equal(3, resumed.Output.Count);
        Assert.Equal(3, Emulator.State.AcceptedSubmissions); // the held submissions died with the client, unprocessed
        tally.AssertNothingLost(accepted: 3);
    }

    [Fact]
    public async Task Ctrl_C_stops_a_wait_at_once_cancels_nothing_and_says_how_to_resume()
    {
        var (jobs, ids) = SubmitLongJobs(3, "Long");
        var (shell, handle, _) = Begin("$args[0] | Wait-FalJob", (object)jobs);
        using var __ = shell;
        await Until(() => Emulator.State.StatusRequests >= 3, "the wait to follow all three jobs");
        await Task.Delay(TimeSpan.FromSeconds(1));

        var (clock, host, cancels, resumable) = PressCtrlC(shell, handle);
        ReliabilityRecorder.Record(504, "Ctrl+C during Wait-FalJob (3 jobs running)",
            $"the wait returned {clock.ElapsedMilliseconds} ms after Stop(); the host was told the jobs still run at fal, with their request ids and " +
            $"'{ResumeTests.Resume}'; {cancels} cancel requests; the journal lists {resumable.Count} resumable jobs",
            resumable.Count == 3 && cancels == 0 ? "nothing" : "jobs cancelled or missing from the journal");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"Stop took {clock.Elapsed}");
        Assert.Contains("still running", host);
        Assert.Contains("not cancelled", host);
        Assert.Contains(ResumeTests.Resume, host);
        Assert.All(ids, id => Assert.Contains(id, host));
        Assert.Equal(0, cancels);
        Assert.DoesNotContain(Emulator.State.Jobs, j => j.CancelRequested || j.Status == JobStatus.Completed);
        Assert.Equal(ids.Order(), resumable.Order());
    }

    [Fact]
    public async Task Ctrl_C_while_jobs_are_still_being_piped_in_names_the_jobs_already_followed()
    {
        var (jobs, ids) = SubmitLongJobs(2, "Streamed");
        // The first job reaches Wait-FalJob, which starts following it; the producer then waits before the second.
        // It waits in a loop, not in one long Start-Sleep: a stopped Start-Sleep returns and the script could go on to
        // emit the second job before the engine stops it, while the next loop statement is where the stop lands.
        var (shell, handle, _) = Begin("$jobs = $args[0]; & { $jobs[0]; while ($true) { Start-Sleep -Milliseconds 100 }; $jobs[1] } | Wait-FalJob",
            (object)jobs);
        using var __ = shell;
        await Until(() => Emulator.State.StatusRequests >= 1, "the wait to follow the first job");

        var (clock, host, cancels, resumable) = PressCtrlC(shell, handle);
        ReliabilityRecorder.Record(505, "Ctrl+C while jobs are still being piped to Wait-FalJob",
            $"stopped {clock.ElapsedMilliseconds} ms after Stop(), before Wait-FalJob's end; the host was told the job it was following " +
            $"still runs at fal, with its request id; {cancels} cancel requests; the journal lists {resumable.Count} resumable jobs",
            resumable.Count == 2 && cancels == 0 ? "nothing" : "jobs cancelled or missing from the journal");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"Stop took {clock.Elapsed}");
        Assert.Contains("still running", host);
        Assert.Contains(ids[0], host);
        Assert.DoesNotContain(ids[1], host);   // never reached Wait-FalJob; it is in the journal like the first
        Assert.Equal(0, cancels);
        Assert.Equal(ids.Order(), resumable.Order());
    }

    [Fact]
    public async Task Ctrl_C_to_pwsh_during_a_wait_stops_the_script_at_once_and_cancels_nothing()
    {
        if (!OperatingSystem.IsLinux()) return; // SIGINT is sent with kill(2)
        var script = Path.Combine(Temp, "wait.ps1");
        File.WriteAllText(script, $$"""
            {{PwshChild.ImportModule}}
            1..2 | ForEach-Object { New-HailuoVideo -Prompt "Interrupted $_ [emulator:seconds=60]" } | Wait-FalJob
            'AFTER-WAIT'
            """);
        using var child = PwshChild.Interruptible(script, new Dictionary<string, string?>
        {
            ["FALVIDEO_BASE_URL"] = Emulator.BaseUrl.ToString(), ["FAL_KEY"] = ApiKey, ["FALVIDEO_JOURNAL"] = Ps.JournalPath,
        });
        await Until(() => Emulator.State.StatusRequests >= 2 || child.Process.HasExited, "pwsh to follow both jobs", seconds: 60);
        Assert.False(child.Process.HasExited, child.Output);
        var ids = Emulator.State.Jobs.Select(j => j.RequestId).ToList();

        var clock = Stopwatch.StartNew();
        child.Interrupt();
        await child.WaitAsync(TimeSpan.FromSeconds(30));
        clock.Stop();
        var output = child.Output;
        var cancels = Emulator.Faults.RequestsTo(FaultRoute.Cancel);
        var resumable = Ps.Run("Get-FalJob -Status InQueue,InProgress | ForEach-Object RequestId").Output.Select(o => o.ToString()).ToList();
        ReliabilityRecorder.Record(506, "Ctrl+C (SIGINT) to pwsh -File during Wait-FalJob (2 jobs running)",
            $"pwsh exited {clock.ElapsedMilliseconds} ms after the signal, without running the rest of the script; it printed that the jobs still run at fal, " +
            $"with their request ids; {cancels} cancel requests; the journal lists {resumable.Count} resumable jobs",
            resumable.Count == 2 && cancels == 0 ? "nothing" : "jobs cancelled or missing from the journal");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"pwsh took {clock.Elapsed} to stop");
        Assert.Contains("still running", output);
        Assert.Contains("not cancelled", output);
        Assert.All(ids, id => Assert.Contains(id, output));
        Assert.DoesNotContain("AFTER-WAIT", output);
        Assert.Equal(0, cancels);
        Assert.DoesNotContain(Emulator.State.Jobs, j => j.CancelRequested || j.Status == JobStatus.Completed);
        Assert.Equal(ids.Order(), resumable.Order());
    }

    /// <summary>Stops the pipeline as Ctrl+C does, then reads what the host was told, the cancels fal got and the
    /// journal's resumable request ids.</summary>
    /// <summary>
    /// Submits <paramref name="count"/> Hailuo jobs that run 60 s at the emulator, prompts "<paramref name="prompt"/> 1"
    /// and on, and clears the host text the submissions left: the jobs (to pipe on) and their request ids.
    /// </summary>
    private (object[] Jobs, List<string> Ids) SubmitLongJobs(int count, string prompt)
    {
        var submitted = Ps.Run($"1..{count} | ForEach-Object {{ New-HailuoVideo -Prompt \"{prompt} $_ [emulator:seconds=60]\" }}");
        submitted.ThrowIfErrors();
        Ps.TakeHostText();
        return (submitted.Output.Select(o => o.BaseObject).ToArray(),
                submitted.Output.Select(o => (string)o.Properties["RequestId"].Value).ToList());
    }

    private (Stopwatch Clock, string Host, int Cancels, List<string> Resumable) PressCtrlC(PowerShell shell, IAsyncResult handle)
    {
        var clock = Stopwatch.StartNew();
        shell.Stop();
        clock.Stop();
        try { shell.EndInvoke(handle); } catch (PipelineStoppedException) { }
        var host = Ps.TakeHostText();
        var cancels = Emulator.Faults.RequestsTo(FaultRoute.Cancel);
        var resumable = Ps.Run("Get-FalJob -Status InQueue,InProgress | ForEach-Object RequestId").Output.Select(o => o.ToString()).ToList();
        return (clock, host, cancels, resumable);
    }
}
