using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// The job journal on this runtime (file locking, flushes, JSON through System.Text.Json's source generation): what is
/// appended reads back as each request's latest state; writers racing on one file lose nothing; a line torn by a
/// killed process is skipped with a warning and the lines after it still count.
/// </summary>
public sealed class JobJournalTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-journal-" + Guid.NewGuid().ToString("N"));

    public JobJournalTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_journal_whose_lock_another_process_holds_does_not_hold_up_another_journals_writes()
    {
        var held = new JobJournal(Path.Combine(_folder, "held.jsonl"));
        var other = new JobJournal(Path.Combine(_folder, "other.jsonl"));
        held.Append("submitted", new FalJob { RequestId = "held-1", EndpointId = "fal-ai/x" });
        other.Append("submitted", new FalJob { RequestId = "other-1", EndpointId = "fal-ai/x" });
        // Another process's writer: an exclusive open of the held journal's lock file, for 3 s.
        var holder = new FileStream(held.FilePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            var waiting = Task.Run(() => held.Append("submitted", new FalJob { RequestId = "held-2", EndpointId = "fal-ai/x" }));
            Thread.Sleep(200);
            Assert.False(waiting.IsCompleted);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            other.Append("submitted", new FalJob { RequestId = "other-2", EndpointId = "fal-ai/x" });
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"the other journal's write took {clock.Elapsed.TotalMilliseconds:0} ms");
            holder.Dispose();
            Assert.True(waiting.Wait(TimeSpan.FromSeconds(20)));
        }
        finally { holder.Dispose(); }
        Assert.Equal(["held-1", "held-2"], held.ReadJobs().Select(j => j.RequestId));
        Assert.Equal(["other-1", "other-2"], other.ReadJobs().Select(j => j.RequestId));
    }

    private static FalJob Job(string requestId, FalJobStatus status = FalJobStatus.InQueue) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
        Mode = "text-to-video", Status = status, Prompt = "A lighthouse at dusk " + requestId, DurationSeconds = 5,
        EstimatedCostUsd = 0.56m, SubmittedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public void What_is_appended_reads_back_as_each_requests_latest_state()
    {
        var journal = new JobJournal(Path.Combine(_folder, "jobs.jsonl"));
        journal.Append("submitted", Job("r-1"));
        journal.Append("submitted", Job("r-2"));
        var done = Job("r-1", FalJobStatus.Completed);
        done.VideoUrl = "https://v3.fal.media/files/r-1.mp4";
        journal.Append("status", done);

        var jobs = journal.ReadJobs();
        Assert.Equal(["r-1", "r-2"], jobs.Select(j => j.RequestId));
        Assert.Equal(FalJobStatus.Completed, jobs[0].Status);
        Assert.Equal("https://v3.fal.media/files/r-1.mp4", jobs[0].VideoUrl);
        Assert.Equal("A lighthouse at dusk r-1", jobs[0].Prompt);
        Assert.Equal(0.56m, jobs[1].EstimatedCostUsd);
    }

    [Fact]
    public async Task Writers_racing_on_one_file_lose_no_entry()
    {
        var path = Path.Combine(_folder, "jobs.jsonl");
        // Separate instances, as separate sessions and runspaces have, each writing from several threads.
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var journal = new JobJournal(path);
            for (var i = 0; i < 50; i++) await journal.AppendAsync("submitted", Job($"w{w}-{i}"));
        }));
        await Task.WhenAll(writers);

        var ids = new JobJournal(path).ReadJobs().Select(j => j.RequestId).ToList();
        Assert.Equal(200, ids.Count);
        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public void A_torn_line_is_skipped_with_a_warning_and_the_lines_after_it_still_count()
    {
        var path = Path.Combine(_folder, "jobs.jsonl");
        var journal = new JobJournal(path);
        journal.Append("submitted", Job("r-1"));
        File.AppendAllText(path, "{\"entry\":\"submitted\",\"request_id\":\"r-torn");   // a process killed mid-write
        journal.Append("submitted", Job("r-2"));

        var warnings = new List<string>();
        var ids = journal.ReadJobs(warnings.Add).Select(j => j.RequestId).ToList();
        Assert.Equal(["r-1", "r-2"], ids);
        Assert.Single(warnings);
    }

    [Fact]
    public void Removing_jobs_rewrites_the_journal_without_them_and_keeps_the_rest()
    {
        var path = Path.Combine(_folder, "jobs.jsonl");
        var journal = new JobJournal(path);
        foreach (var id in new[] { "r-1", "r-2", "r-3" }) journal.Append("submitted", Job(id));

        var removed = journal.Remove([Job("r-2")]);

        Assert.Equal(1, removed);
        Assert.Equal(["r-1", "r-3"], journal.ReadJobs().Select(j => j.RequestId));
        Assert.Empty(Directory.GetFiles(_folder).Where(f => f != path && !f.EndsWith(".lock", StringComparison.Ordinal)));
        journal.Append("submitted", Job("r-4"));
        Assert.Equal(["r-1", "r-3", "r-4"], journal.ReadJobs().Select(j => j.RequestId));
    }
}
