using System.Diagnostics;
using FalVideo.Emulator;
using FalVideo.Emulator.Faults;

namespace FalVideo.Tests.Module;

/// <summary>Waiting on jobs that take time: concurrency, progress, timeout, cancel.</summary>
public sealed class WaitTests : IAsyncLifetime
{
    // Each test gets its own emulator: slow jobs of one test must not hold the runners of another.
    // Two runners, 1.5 s a job: six jobs take three rounds when waited concurrently.
    private RunningEmulator _emulator = null!;
    private PowerShellHost _ps = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", JobSeconds = 1.5, Concurrency = 2 });
        _ps = new PowerShellHost(_emulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public void Wait_FalJob_reports_progress_and_emits_all()
    {
        var r = _ps.Run(@"1..6 | ForEach-Object { [pscustomobject]@{ Id = ""clip$_""; Prompt = ""Clip $_""; Duration = '3' } } |
                          New-KlingVideo | Wait-FalJob");
        r.ThrowIfErrors();
        Assert.Equal(6, r.Output.Count);
        Assert.All(r.Output, o => Assert.Equal("Completed", o.Properties["Status"].Value.ToString()));
        Assert.All(r.Output, o => Assert.NotNull(o.Properties["VideoUrl"].Value));
        // While waiting, the progress bar showed queue positions: jobs 3..6 queued behind two runners.
        Assert.Contains(r.Progress, p => p.StatusDescription.Contains("queue position") || p.StatusDescription.Contains("position"));
        Assert.Contains(r.Progress, p => p.StatusDescription.Contains("in progress"));
    }

    [Fact]
    public void Wait_FalJob_follows_a_job_while_earlier_commands_are_still_producing()
    {
        // The first job is piped in, then the producer holds back the second until the emulator has been asked for
        // the first one's result (or 30 s have passed). A waiter that starts on each job as it arrives fetches that
        // result while the producer waits; one that collects all jobs first makes no request until the producer is
        // done, so the producer would give up after 30 s. Polling instead of a fixed pause keeps a loaded machine
        // from failing the test.
        var r = _ps.Run(@"$emulator, $resultRoute = $args
                          $jobs = 1..2 | ForEach-Object { New-KlingVideo -Prompt ""Streamed $_"" -Duration 3 }
                          $probe = @{}
                          & { $jobs[0]
                              $clock = [Diagnostics.Stopwatch]::StartNew()
                              while ($emulator.Faults.RequestsTo($resultRoute) -lt 1 -and $clock.Elapsed.TotalSeconds -lt 30) { Start-Sleep -Milliseconds 50 }
                              $probe.ResultsWhileHeld = $emulator.Faults.RequestsTo($resultRoute)
                              $jobs[1] } | Wait-FalJob | ForEach-Object { $_.RequestId }
                          $probe.ResultsWhileHeld", _emulator, FaultRoute.Result);
        r.ThrowIfErrors();
        Assert.Equal(3, r.Output.Count);
        var resultsWhileHeld = Convert.ToInt32(r.Output[2].BaseObject);
        Assert.True(resultsWhileHeld >= 1, "No result was fetched while the producer held the second job back: the first job was not followed until the end.");
        var ids = r.Output.Take(2).Select(o => o.BaseObject.ToString()).ToHashSet();
        Assert.Equal(2, ids.Count);
    }

    [Fact]
    public void Timeout_reports_each_unfinished_job_and_leaves_it_running()
    {
        var r = _ps.Run(@"1..3 | ForEach-Object { [pscustomobject]@{ Prompt = ""Slow $_ [emulator:seconds=30]"" } } |
                          New-HailuoVideo | Wait-FalJob -Timeout 1");
        Assert.Empty(r.Output);
        Assert.Equal(3, r.Errors.Count);
        Assert.All(r.Errors, e => Assert.StartsWith("FalWaitTimeout", e.FullyQualifiedErrorId));
        Assert.All(r.Errors, e => Assert.Contains("still running", e.ErrorDetails.Message));
    }

    [Fact]
    public void Stop_FalJob_cancels_a_queued_request()
    {
        var r = _ps.Run(@"$jobs = 1..3 | ForEach-Object { New-HailuoVideo -Prompt ""Queued $_ [emulator:seconds=30]"" }
                          $jobs[2] | Stop-FalJob -PassThru -Confirm:$false
                          $jobs[2] | Get-FalJob");
        r.ThrowIfErrors();
        Assert.Equal("Cancelled", r.Output[0].Properties["Status"].Value.ToString());
        var after = r.Output[1];
        Assert.NotEqual("InQueue", after.Properties["Status"].Value.ToString());

        var whatIf = _ps.Run(@"New-HailuoVideo -Prompt 'Keep me [emulator:seconds=30]' | Stop-FalJob -WhatIf -PassThru");
        Assert.Empty(whatIf.Output);
    }
}
