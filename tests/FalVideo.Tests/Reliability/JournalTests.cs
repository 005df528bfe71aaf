using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>The job journal: crash-safe lines, several writers at once, the record of a job's life, forgetting safely.</summary>
public sealed class JournalTests : FaultTestBase
{
    private const string Kling = "fal-ai/kling-video/v3/pro/text-to-video";

    [Fact]
    public void A_line_torn_by_a_killed_process_is_skipped_with_a_warning_and_swallows_no_later_entry()
    {
        Ps.Run("New-KlingVideo -Prompt 'Before the crash' -Duration 3").ThrowIfErrors();
        // What a process killed in the middle of a write leaves: the start of a line, no newline.
        var torn = "{\"entry\":\"submitted\",\"time\":\"2026-01-01T00:00:00+00:00\",\"request_id\":\"dead-beef\",\"endpoint_id\":\"fal-ai/kl";
        File.AppendAllText(Ps.JournalPath, torn);
        var afterCrash = Ps.Run("Get-FalJob");
        var next = Ps.Run("New-KlingVideo -Prompt 'After the crash' -Duration 3");
        var listed = Ps.Run("Get-FalJob");
        var lines = File.ReadAllText(Ps.JournalPath).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var tally = Count(savedExpected: false);
        ReliabilityRecorder.Record(601, "Journal: process killed mid-write (torn last line)",
            $"Get-FalJob listed {afterCrash.Output.Count} job and warned \"{afterCrash.Warnings.FirstOrDefault()}\"; the next append started on a fresh line, " +
            $"so {listed.Output.Count} jobs were listed afterwards with {listed.Warnings.Count} warning", tally.Lost);

        Assert.Single(afterCrash.Output);
        Assert.Contains("incomplete", Assert.Single(afterCrash.Warnings));
        next.ThrowIfErrors();
        Assert.Equal(new[] { "Before the crash", "After the crash" }, listed.Output.Select(o => (string)o.Properties["Prompt"].Value));
        Assert.Single(listed.Warnings);
        Assert.Equal(torn, lines[^3]);                         // the torn line stays on its own line…
        Assert.StartsWith("{\"entry\":\"submitting\"", lines[^2]); // …and the next entries are whole: the write-ahead line
        Assert.StartsWith("{\"entry\":\"submitted\"", lines[^1]);  // and fal's answer
        tally.AssertNothingLost(accepted: 2);
    }

    [Fact]
    public async Task Several_processes_appending_at_once_while_the_journal_is_rewritten_lose_no_line()
    {
        const int Processes = 4, PerProcess = 200, Old = 40;
        var journalPath = Path.Combine(Temp, "shared", "journal.jsonl");
        var journal = new JobJournal(journalPath);
        for (var i = 0; i < Old; i++) journal.Append("submitted", SyntheticJob($"old-{i}", DateTimeOffset.UtcNow.AddDays(-60)));
        var go = Path.Combine(Temp, "go");
        var script = Path.Combine(Temp, "append.ps1");
        File.WriteAllText(script, $$"""
            param($journalPath, $name, $count, $go)
            {{PwshChild.ImportModule}}
            # The module keeps FalVideo.Core in a private load context: reach its types through the module's settings.
            Set-FalConfiguration -JournalPath $journalPath
            $journal = [FalVideo.PowerShell.Settings.FalSettings]::Current.Journal
            $jobType = $journal.GetType().Assembly.GetType('FalVideo.Jobs.FalJob')
            New-Item -ItemType File -Path "$go.$name" | Out-Null
            while (-not (Test-Path $go)) { Start-Sleep -Milliseconds 5 }
            for ($i = 0; $i -lt [int]$count; $i++) {
                $job = [Activator]::CreateInstance($jobType)
                $job.RequestId = "$name-$i"; $job.EndpointId = 'fal-ai/kling-video/v3/pro/text-to-video'; $job.Status = 'InQueue'
                $job.Prompt = "entry $i of $name, long enough to make a torn or interleaved write visible " + ('x' * 200)
                $journal.Append('submitted', $job, [NullString]::Value)
            }
            """);
        var children = Enumerable.Range(1, Processes)
            .Select(n => new PwshChild(script, null, journalPath, $"p{n}", PerProcess.ToString(), go)).ToList();
        try
        {
            await Until(() => Enumerable.Range(1, Processes).All(n => File.Exists($"{go}.p{n}")), "every writer ready", seconds: 60);
            File.WriteAllText(go, "");
            // Meanwhile this process appends too, and rewrites the journal to forget the old entries, a few at a time.
            var writer = Task.Run(() => { for (var i = 0; i < PerProcess; i++) journal.Append("submitted", SyntheticJob($"test-{i}", DateTimeOffset.UtcNow)); });
            var removed = 0;
            for (var batch = 0; batch < Old / 5; batch++)
            {
                removed += journal.Remove(Enumerable.Range(batch * 5, 5).Select(i => SyntheticJob($"old-{i}", default)));
                await Task.Delay(10);
            }
            await writer;
            foreach (var child in children) await child.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.All(children, c => Assert.True(c.Process.ExitCode == 0, c.Output));

            var lines = File.ReadAllLines(journalPath).Where(l => l.Length > 0).ToList();
            var ids = lines.Select(RequestIdOf).ToList();
            var expected = Enumerable.Range(1, Processes).SelectMany(n => Enumerable.Range(0, PerProcess).Select(i => $"p{n}-{i}"))
                .Concat(Enumerable.Range(0, PerProcess).Select(i => $"test-{i}")).ToHashSet();
            var missing = expected.Count(e => !ids.Contains(e));
            var damaged = ids.Count(id => id is null);
            var warnings = new List<string>();
            var read = journal.ReadJobs(warnings.Add);
            var leftovers = Directory.GetFiles(Path.GetDirectoryName(journalPath)!).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)).ToList();
            ReliabilityRecorder.Record(602, $"Journal: {Processes} processes and 1 more writer appending at once while it is rewritten {Old / 5} times",
                $"{expected.Count} entries appended ({Processes} × {PerProcess} from child processes, {PerProcess} from the test process) while " +
                $"Remove rewrote the journal {Old / 5} times ({removed} old entries forgotten); {lines.Count - damaged} whole lines, {damaged} damaged, " +
                $"{leftovers.Count} temporary files left",
                missing == 0 && damaged == 0 ? "nothing" : $"{missing} entries lost, {damaged} lines damaged");

            Assert.Equal(0, missing);
            Assert.Equal(0, damaged);
            Assert.Empty(warnings);
            Assert.Equal(expected.Count, lines.Count); // every line whole, each entry exactly once, the old ones gone
            Assert.Equal(Old, removed);
            Assert.DoesNotContain(read, j => j.RequestId.StartsWith("old-", StringComparison.Ordinal));
            Assert.Empty(leftovers);
        }
        finally
        {
            foreach (var child in children) child.Dispose();
        }
    }

    [Fact]
    public void The_journal_records_each_step_of_a_job_and_never_the_key()
    {
        var r = RunBatch(2, "Life");
        r.ThrowIfErrors();
        var entries = File.ReadAllLines(Ps.JournalPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // Entries belong to a job by request id, or (the write-ahead line, before fal answered) by journal id.
        var requestOf = entries.Where(e => e.TryGetProperty("request_id", out _) && e.TryGetProperty("journal_id", out _))
            .GroupBy(e => e.GetProperty("journal_id").GetString()!)
            .ToDictionary(g => g.Key, g => g.First().GetProperty("request_id").GetString()!);
        var kinds = entries.GroupBy(e => e.TryGetProperty("request_id", out var id) ? id.GetString()! : requestOf[e.GetProperty("journal_id").GetString()!])
            .ToDictionary(g => g.Key, g => g.Select(e => e.GetProperty("entry").GetString()).ToList());
        var cost = Ps.Run("Get-FalJob | Measure-VideoCost | Select-Object -Last 1");
        var listedCost = Ps.Run("(Get-FalJob | Measure-Object EstimatedCostUsd -Sum).Sum");
        var tally = Count();
        ReliabilityRecorder.Record(603, "Journal: a job's life (submit, state changes, result, save)",
            $"each job journaled as {string.Join(" → ", kinds.First().Value)}; the last status entry holds the video URL and the saved entry the path; " +
            $"Get-FalJob | Measure-VideoCost totals the spend; the key appears 0 times", tally.Lost);

        Assert.All(kinds.Values, k => Assert.Equal(new[] { "submitting", "submitted" }, k.Take(2)));
        Assert.All(kinds.Values, k => Assert.Equal("saved", k[^1]));
        Assert.All(kinds.Values, k => Assert.Contains("status", k));
        var saved = entries.Where(e => e.GetProperty("entry").GetString() == "saved").ToList();
        Assert.All(saved, e => Assert.True(File.Exists(e.GetProperty("saved_path").GetString())));
        Assert.All(saved, e => Assert.StartsWith(Emulator.BaseUrl.ToString().TrimEnd('/'), e.GetProperty("video_url").GetString()));
        Assert.DoesNotContain(ApiKey, File.ReadAllText(Ps.JournalPath));
        Assert.All(Ps.Run("Get-FalJob").Output, o => Assert.NotNull(o.Properties["SavedPath"].Value));
        Assert.NotEmpty(cost.Output);
        Assert.Equal(Convert.ToDecimal(listedCost.Output.Single().BaseObject), Convert.ToDecimal(cost.Output.Single().Properties["EstimatedCostUsd"].Value));
        tally.AssertNothingLost(accepted: 2);
    }

    [Fact]
    public void Get_FalJob_filters_the_journal_by_status_model_time_and_count()
    {
        var journal = new JobJournal(Ps.JournalPath);
        journal.Append("submitted", SyntheticJob("ancient", DateTimeOffset.UtcNow.AddDays(-10)));
        journal.Append("submitted", SyntheticJob("yesterday", DateTimeOffset.UtcNow.AddDays(-1)));
        var done = SyntheticJob("recent-done", DateTimeOffset.UtcNow.AddMinutes(-30));
        journal.Append("submitted", done);
        done.Status = FalJobStatus.Completed;
        journal.Append("status", done);
        var hailuo = SyntheticJob("recent-hailuo", DateTimeOffset.UtcNow.AddMinutes(-20));
        hailuo.Model = "hailuo-2.3-pro";
        journal.Append("submitted", hailuo);

        // The synthetic jobs record no host (as records from before hosts were kept): they belong to fal's own, not to
        // this test's emulator, so the listing is asked for every host.
        string[] Ids(string filter) => Ps.Run($"Get-FalJob -AllHosts {filter} | ForEach-Object RequestId").Output.Select(o => o.ToString()).ToArray();
        Assert.Equal(["ancient", "yesterday", "recent-done", "recent-hailuo"], Ids(""));
        Assert.Equal(["recent-done", "recent-hailuo"], Ids("-Since (Get-Date).AddHours(-1)"));
        Assert.Equal(["yesterday", "recent-done", "recent-hailuo"], Ids("-Since ([datetime]::UtcNow.AddDays(-2))"));
        Assert.Equal(["recent-hailuo"], Ids("-Since (Get-Date).AddHours(-1) -Status InQueue"));
        Assert.Equal(["ancient", "yesterday", "recent-hailuo"], Ids("-Status InQueue,InProgress"));
        Assert.Equal(["recent-hailuo"], Ids("-Model hailuo*"));
        Assert.Equal(["recent-done", "recent-hailuo"], Ids("-Last 2"));
    }

    [Fact]
    public void Remove_FalJob_forgets_by_date_status_or_pipe_with_WhatIf_and_never_contacts_fal()
    {
        var journal = new JobJournal(Ps.JournalPath);
        journal.Append("submitted", SyntheticJob("old-1", DateTimeOffset.UtcNow.AddDays(-40)));
        journal.Append("submitted", SyntheticJob("old-2", DateTimeOffset.UtcNow.AddDays(-35)));
        Inject(new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.ResetAfter, PathContains = "/standard/" });
        Ps.Run("New-KlingVideo -Prompt 'Lost answer' -Model kling-v3-standard -Duration 3"); // ambiguous: journaled as Unknown
        RunBatch(2, "Keep or forget").ThrowIfErrors();
        Ps.Run("New-KlingVideo -Prompt 'Still queued [emulator:seconds=60]' -Duration 3").ThrowIfErrors();
        var before = File.ReadAllBytes(Ps.JournalPath);
        var requestsBefore = Emulator.State.Requests;

        Ps.TakeHostText();
        var whatIf = Ps.Run("Remove-FalJob -Before (Get-Date).AddDays(-30) -WhatIf; Get-FalJob -Status InQueue -Since (Get-Date).AddDays(-1) | Remove-FalJob -WhatIf");
        var whatIfLines = Ps.TakeHostText().Split('\n').Where(l => l.StartsWith("What if:", StringComparison.Ordinal)).ToList();
        var unchanged = before.SequenceEqual(File.ReadAllBytes(Ps.JournalPath));
        var noFilter = Ps.Run("Remove-FalJob");
        var byDate = Ps.Run("Remove-FalJob -Before (Get-Date).AddDays(-30) -PassThru | ForEach-Object RequestId");
        var byStatus = Ps.Run("Remove-FalJob -Status Unknown -PassThru | ForEach-Object Prompt");
        var piped = Ps.Run("Get-FalJob -Status Completed | Remove-FalJob -PassThru | ForEach-Object Id");
        var left = Ps.Run("Get-FalJob").Output.Select(o => (string)o.Properties["Prompt"].Value).ToList();
        var leftovers = Directory.GetFiles(Path.GetDirectoryName(Ps.JournalPath)!, $".{Path.GetFileName(Ps.JournalPath)}*.tmp");
        ReliabilityRecorder.Record(604, "Journal: forgetting old entries (Remove-FalJob)",
            $"-WhatIf said {whatIfLines.Count} things (the filter's count, the piped job) and changed {(unchanged ? "nothing" : "THE FILE")}; -Before removed {byDate.Output.Count}, -Status Unknown " +
            $"{byStatus.Output.Count}, piped Completed jobs {piped.Output.Count}; the queued job stayed; {Emulator.State.Requests - requestsBefore} requests to fal; " +
            $"{leftovers.Length} temporary files left", left.SequenceEqual(["Still queued [emulator:seconds=60]"]) ? "nothing (only what was asked for was forgotten)" : "a job that was not asked for");

        // One line for the filter, with its count (the two old jobs, both still queued), one for the piped queued job.
        Assert.Equal(2, whatIfLines.Count);
        Assert.Contains(whatIfLines, l => l.Contains("Forget 2 job(s) (2 of them", StringComparison.Ordinal));
        Assert.All(whatIfLines, l => Assert.Contains("can no longer be resumed", l));
        Assert.True(unchanged, "-WhatIf must not touch the journal");
        Assert.StartsWith("FalNoJobFilter,", Assert.Single(noFilter.Errors).FullyQualifiedErrorId);
        Assert.Equal(["old-1", "old-2"], byDate.Output.Select(o => o.ToString()));
        Assert.Equal(["Lost answer"], byStatus.Output.Select(o => o.ToString()));
        Assert.Equal(["r1", "r2"], piped.Output.Select(o => o.ToString()).Order());
        Assert.Equal(["Still queued [emulator:seconds=60]"], left);
        Assert.Equal(requestsBefore, Emulator.State.Requests); // the journal only: fal is never contacted
        Assert.Empty(leftovers);
    }

    private static string? RequestIdOf(string line)
    {
        try { return JsonDocument.Parse(line).RootElement.GetProperty("request_id").GetString(); }
        catch (JsonException) { return null; }
    }

    private static FalJob SyntheticJob(string id, DateTimeOffset at) => new()
    {
        RequestId = id, EndpointId = Kling, Model = "kling-v3-pro", Mode = "text-to-video", Status = FalJobStatus.InQueue,
        Prompt = $"Synthetic {id}", SubmittedAt = at, EstimatedCostUsd = 0.42m,
    };
}
