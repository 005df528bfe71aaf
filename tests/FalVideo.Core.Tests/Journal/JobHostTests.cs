using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// What a job rebuilt from a bare request id and the host scoping rely on: both stores keep each job's queue host
/// across its entries, look jobs up by request id (<see cref="IJobStore.FindByRequestIds"/>), and an old record without a
/// host belongs to fal's own.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class JobHostTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-hosts-" + Guid.NewGuid().ToString("N"));

    public JobHostTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string> Stores => new() { "jobs.db", "journal.jsonl" };

    private static FalJob Job(string requestId, string? host) => new()
    {
        RequestId = requestId, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
        Mode = "text-to-video", Status = FalJobStatus.InQueue, Prompt = "Prompt of " + requestId, Id = "row-" + requestId,
        DurationSeconds = 5, EstimatedCostUsd = 0.84m, QueueHost = host,
        SubmittedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public void The_host_survives_later_entries_and_a_request_id_finds_its_job(string file)
    {
        var store = JobStore.Open(Path.Combine(_folder, file));
        var emulated = Job("r-emu", "127.0.0.1:8787");
        store.Append("submitted", emulated);
        store.Append("submitted", Job("r-old", null));
        store.Append("submitted", Job("r-other", "queue.fal.run"));
        // A status entry of a job rebuilt without its host (e.g. from a webhook) leaves the recorded host alone.
        store.Append("status", new FalJob { RequestId = "r-emu", Status = FalJobStatus.Completed });

        var found = store.FindByRequestIds(["r-emu", "r-old", "r-unknown"]);
        Assert.Equal(new[] { "r-emu", "r-old" }, found.Select(j => j.RequestId));
        var emu = found[0];
        Assert.Equal("127.0.0.1:8787", emu.QueueHost);
        Assert.Equal(FalJobStatus.Completed, emu.Status);
        Assert.Equal("row-r-emu", emu.Id);
        Assert.Equal("Prompt of r-emu", emu.Prompt);
        Assert.Equal(0.84m, emu.EstimatedCostUsd);
        Assert.Null(found[1].QueueHost);
        Assert.Empty(store.FindByRequestIds(["r-unknown"]));
        Assert.Empty(store.FindByRequestIds([]));

        var emulator = new Uri("http://127.0.0.1:8787/");
        var fal = new Uri("https://queue.fal.run");
        var all = store.ReadJobs();
        Assert.Equal(new[] { "r-emu" }, all.Where(j => j.IsOnHost(emulator)).Select(j => j.RequestId));
        Assert.Equal(new[] { "r-old", "r-other" }, all.Where(j => j.IsOnHost(fal)).Select(j => j.RequestId));
    }

    [Fact]
    public void HostOf_keeps_a_port_only_when_it_is_not_the_schemes_default()
    {
        Assert.Equal("queue.fal.run", FalJob.HostOf(new Uri("https://queue.fal.run")));
        Assert.Equal("queue.fal.run", FalJob.HostOf(new Uri("https://QUEUE.fal.run:443/")));
        Assert.Equal("127.0.0.1:5123", FalJob.HostOf(new Uri("http://127.0.0.1:5123/")));
        Assert.NotEqual(FalJob.HostOf(new Uri("http://127.0.0.1:5123")), FalJob.HostOf(new Uri("http://127.0.0.1:5124")));
    }
}
