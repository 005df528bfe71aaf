using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>The one job history the store tests write to every store (SQLite, JSON Lines, PostgreSQL) and compare.</summary>
internal static class StoreHistory
{
    internal static FalJob Job(string requestId, FalJobStatus status = FalJobStatus.InQueue) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
        Mode = "text-to-video", Status = status, Prompt = "A lighthouse at dusk " + requestId, DurationSeconds = 5,
        EstimatedCostUsd = 0.56m, SubmittedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
    };

    /// <summary>The same history written to both stores: write-ahead, answer, status, save, an ambiguous submission,
    /// a cancel request and an error cleared by a later status.</summary>
    internal static void WriteHistory(IJobStore store)
    {
        var a = Job("");
        a.Status = FalJobStatus.Unknown;
        a.Input = "{\"prompt\":\"a\"}";
        a.Machine = "build-01";
        a.User = "alice";
        store.Append(JobJournal.SubmittingEntry, a);
        a.RequestId = "r-a";
        a.Status = FalJobStatus.InQueue;
        a.StatusUrl = "https://queue.fal.run/x/requests/r-a/status";
        store.Append("submitted", a);
        var b = Job("r-b");
        b.Machine = "build-02";
        b.User = "bob";
        store.Append("submitted", b);
        var lost = Job("");
        lost.Status = FalJobStatus.Unknown;
        store.Append(JobJournal.AmbiguousEntry, lost);
        b.LastError = "timeout";
        store.Append("error", b);
        store.Append(JobJournal.CancelRequestedEntry, b);
        b.LastError = null;
        b.Status = FalJobStatus.InProgress;
        store.Append("status", b);
        a.Status = FalJobStatus.Completed;
        a.VideoUrl = "https://v3.fal.media/files/r-a.mp4";
        store.AppendMany([JobJournal.Capture("status", a)]);
        store.Append("saved", a, "/videos/r-a.mp4");
    }

    internal static string Describe(FalJob j) =>
        string.Join("|", j.RequestId, j.JournalId is null ? "-" : "id", j.Status, j.Prompt, j.Input, j.StatusUrl, j.VideoUrl,
            j.SavedPath, j.LastError, j.EstimatedCostUsd, j.DurationSeconds, j.EndpointId, j.SubmittedAt.ToUnixTimeMilliseconds(), j.Machine, j.User);
}
