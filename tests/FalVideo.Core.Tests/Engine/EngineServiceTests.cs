using System.Net;
using FalVideo.Core.Tests.Client;
using FalVideo.Engine;
using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Engine;

/// <summary>The save and follow services without a runspace: a scripted fal, a real store, the events they post.</summary>
public sealed class EngineServiceTests : TempStoreTests
{
    [Fact]
    public async Task A_completed_job_is_downloaded_then_recorded_as_saved_with_its_folder()
    {
        using var t = new TestClient();
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray();
        t.Handler.RespondBytes(HttpStatusCode.OK, bytes, "video/mp4");
        var job = Completed("req-aaaa-1", bytes.Length);
        var saver = new VideoSaver(t.Client, t.Options.QueueBaseUrl, _store);
        var folder = Path.Combine(_dir, "out");
        var sink = new ListSink();

        var plan = await saver.PlanAsync(job, folder, force: false, CancellationToken.None);
        Assert.Equal(SaveAction.Download, plan.Action);
        Assert.Equal(Path.Combine(folder, "req-aaaa-1.mp4"), plan.Path);
        await saver.SaveAsync(plan, sink, 7201, CancellationToken.None);

        var saved = Assert.Single(sink.Events.OfType<JobSaved>());
        Assert.Equal(plan.Path, saved.Path);
        Assert.Equal(bytes, File.ReadAllBytes(plan.Path!));
        Assert.Empty(Directory.GetFiles(folder, "*.part"));
        Assert.DoesNotContain(sink.Events, e => e is EngineError or WarningReported);
        var stored = Assert.Single(_store.ReadJobs());
        Assert.Equal(plan.Path, stored.SavedPath);
        Assert.Equal(folder, stored.SaveDirectory);
        Assert.Equal(JobState.Saved, JobLifecycle.StateOf(stored));
        Assert.True(sink.Events.OfType<ProgressReported>().Last().Completed);
    }

    [Fact]
    public async Task A_download_that_fails_is_an_error_and_a_store_record_and_leaves_nothing_under_the_final_name()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.RespondBytes(HttpStatusCode.OK, new byte[1000], "video/mp4");
        var job = Completed("req-bbbb-2", 2000);
        var saver = new VideoSaver(t.Client, t.Options.QueueBaseUrl, _store);
        var sink = new ListSink();

        var plan = await saver.PlanAsync(job, _dir, force: false, CancellationToken.None);
        await saver.SaveAsync(plan, sink, 7201, CancellationToken.None);

        var error = Assert.Single(sink.Events.OfType<EngineError>());
        Assert.Same(FalErrorIds.DownloadFailed, error.Id);
        Assert.StartsWith("Request req-bbbb-2: ", error.Text);
        Assert.DoesNotContain(sink.Events, e => e is JobSaved);
        Assert.False(File.Exists(plan.Path));
        Assert.Empty(Directory.GetFiles(_dir, "*.part"));
        var stored = Assert.Single(_store.ReadJobs());
        Assert.Null(stored.SavedPath);
        Assert.Equal(error.Text, stored.LastError);
    }

    [Fact]
    public async Task Refusals_name_the_reason_and_download_nothing()
    {
        using var t = new TestClient();
        var saver = new VideoSaver(t.Client, t.Options.QueueBaseUrl, _store);

        var ambiguous = await saver.PlanAsync(Completed("", 10), _dir, false, CancellationToken.None);
        Assert.Equal(SaveAction.Refuse, ambiguous.Action);
        Assert.Same(FalErrorIds.NoRequestId, ambiguous.Error!.Id);

        var other = Completed("req-cccc-3", 10);
        File.WriteAllText(Path.Combine(_dir, "req-cccc-3.mp4"), "another file");
        var exists = await saver.PlanAsync(other, _dir, false, CancellationToken.None);
        Assert.Same(FalErrorIds.FileExists, exists.Error!.Id);
        Assert.Equal(SaveAction.Download, (await saver.PlanAsync(other, _dir, true, CancellationToken.None)).Action);

        t.Handler.Respond(HttpStatusCode.OK, """{"status":"COMPLETED","error":"boom","error_type":"runner_disconnected"}""");
        var failed = Completed("req-dddd-4", 10);
        (failed.Status, failed.VideoUrl) = (FalJobStatus.InProgress, null);
        var notDone = await saver.PlanAsync(failed, _dir, false, CancellationToken.None);
        Assert.Same(FalErrorIds.JobNotCompleted, notDone.Error!.Id);
        Assert.Contains("failed at fal (runner_disconnected: boom)", notDone.Error.Text);
        Assert.Empty(_store.ReadJobs());
    }

    [Fact]
    public async Task A_file_of_the_videos_size_is_adopted_and_the_leftover_part_files_removed()
    {
        using var t = new TestClient();
        var job = Completed("req-eeee-5", 12);
        var path = Path.Combine(_dir, "req-eeee-5.mp4");
        File.WriteAllText(path, "twelve bytes");
        var part = Path.Combine(_dir, $".req-eeee-5.mp4.{Guid.NewGuid():N}.part");
        var unrelated = Path.Combine(_dir, ".req-eeee-5.mp4.notaguid.part");
        File.WriteAllText(part, "half");
        File.WriteAllText(unrelated, "keep");
        var saver = new VideoSaver(t.Client, t.Options.QueueBaseUrl, _store);
        var sink = new ListSink();

        var plan = await saver.PlanAsync(job, _dir, false, CancellationToken.None);
        Assert.Equal(SaveAction.AdoptExisting, plan.Action);
        await saver.SaveAsync(plan, sink, 7201, CancellationToken.None);

        Assert.Single(sink.Events.OfType<JobSaved>());
        Assert.False(File.Exists(part));
        Assert.True(File.Exists(unrelated));
        Assert.Contains(sink.Events.OfType<VerboseReported>(), v => v.Text.Contains(part));
        Assert.Empty(t.Handler.Requests);
        Assert.Equal(path, Assert.Single(_store.ReadJobs()).SavedPath);
    }

    [Fact]
    public async Task The_follower_reports_status_changes_and_the_result_and_never_changes_the_job()
    {
        using var t = new TestClient();
        t.Handler.Respond(HttpStatusCode.OK, "data: {\"status\":\"IN_QUEUE\",\"queue_position\":2}\n\ndata: {\"status\":\"IN_PROGRESS\"}\n\ndata: {\"status\":\"COMPLETED\"}\n\n", "text/event-stream")
            .Respond(HttpStatusCode.OK, """{"video":{"url":"https://v3.fal.media/files/x/out.mp4","file_size":1234,"file_name":"out.mp4"}}""");
        var sink = new ListSink();
        var job = Completed("req-1", 1);
        (job.Status, job.VideoUrl, job.VideoSize) = (FalJobStatus.InQueue, null, null);
        var follower = new JobFollower(t.Client, t.Options.QueueBaseUrl, 4, sink, CancellationToken.None);

        follower.Follow(job);
        follower.Follow(Completed("", 1));
        var cancelled = Completed("req-2", 1);
        cancelled.Status = FalJobStatus.Cancelled;
        follower.Follow(cancelled);
        var done = Completed("req-3", 1);
        follower.Follow(done);
        follower.Complete();
        var finished = await sink.WaitForAsync<JobFinished>(f => f.Job == job);

        Assert.Equal(FalJobStatus.InQueue, job.Status);
        Assert.Equal("https://v3.fal.media/files/x/out.mp4", finished.Result!.Video!.Url.ToString());
        Assert.Equal(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"], sink.Events.OfType<JobStatusChanged>().Select(s => s.Status.RawStatus));
        Assert.Contains("no request id", Assert.Single(sink.Events.OfType<JobFollowFailed>()).Error.Message);
        var early = Assert.Single(sink.Events.OfType<JobFinished>(), f => f.Job == cancelled);
        Assert.Null(early.Status);
        // A completed job whose video is known is finished without asking fal: the two scripted answers were the
        // first job's, and nothing else was requested.
        Assert.Null(Assert.Single(sink.Events.OfType<JobFinished>(), f => f.Job == done).Status);
        Assert.Equal(2, t.Handler.Requests.Count);
    }

    private static FalJob Completed(string requestId, long size) => new()
    {
        RequestId = requestId,
        EndpointId = TestClient.Kling,
        Model = "kling-v3-pro",
        Mode = "text-to-video",
        Status = FalJobStatus.Completed,
        VideoUrl = $"http://127.0.0.1:8790/files/{requestId}.mp4",
        VideoSize = size,
        VideoFileName = "output.mp4",
        SubmittedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>Collects events from any thread.</summary>
    private sealed class ListSink : IEngineSink
    {
        private readonly List<EngineEvent> _events = [];

        public IReadOnlyList<EngineEvent> Events
        {
            get { lock (_events) return _events.ToArray(); }
        }

        public void Post(EngineEvent e)
        {
            lock (_events) _events.Add(e);
        }

        public async Task<T> WaitForAsync<T>(Func<T, bool> match) where T : EngineEvent
        {
            for (var i = 0; i < 1000; i++)
            {
                if (Events.OfType<T>().FirstOrDefault(match) is { } found) return found;
                await Task.Delay(20);
            }
            throw new TimeoutException($"No {typeof(T).Name} arrived.");
        }
    }
}
