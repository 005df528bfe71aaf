using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Journal;

/// <summary>What the resume picks up, read the same way from both stores.</summary>
public sealed class UnfinishedJobsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-unfinished-" + Guid.NewGuid().ToString("N"));

    public UnfinishedJobsTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static FalJob Job(string requestId, FalJobStatus status) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro", Status = status,
        SubmittedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
    };

    [Theory]
    [InlineData("jobs.db")]
    [InlineData("journal.jsonl")]
    public void Lists_open_jobs_and_completed_ones_whose_save_was_asked_for_and_never_recorded(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        store.Append("submitted", Job("queued", FalJobStatus.InQueue));
        store.Append("submitted", Job("running", FalJobStatus.InProgress));
        store.Append("status", Job("odd", FalJobStatus.Unknown));
        store.Append(JobJournal.AmbiguousEntry, Job("", FalJobStatus.Unknown));
        store.Append("status", Job("waited-only", FalJobStatus.Completed));
        store.Append("status", Job("failed", FalJobStatus.Failed));
        var asked = Job("asked", FalJobStatus.Completed);
        store.Append("status", asked);
        asked.SaveDirectory = "/videos/out";
        store.Append(JobJournal.SaveRequestedEntry, asked);
        var saved = Job("saved", FalJobStatus.Completed);
        saved.SaveDirectory = "/videos/out";
        store.Append(JobJournal.SaveRequestedEntry, saved);
        store.Append("saved", saved, "/videos/out/saved.mp4");

        var unfinished = UnfinishedJobs.Read(store, out var ambiguous);

        Assert.Equal(["queued", "running", "odd", "asked"], unfinished.Select(j => j.RequestId));
        Assert.Equal(1, ambiguous);
        Assert.Equal("/videos/out", unfinished.Single(j => j.RequestId == "asked").SaveDirectory);
        // A later status entry (the resume's wait) keeps the folder the save was asked for.
        asked.SaveDirectory = null;
        store.Append("status", asked);
        Assert.Equal("/videos/out", UnfinishedJobs.Read(store, out _).Single(j => j.RequestId == "asked").SaveDirectory);
    }
}
