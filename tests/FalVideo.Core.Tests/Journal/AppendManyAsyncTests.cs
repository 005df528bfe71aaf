using System.Diagnostics;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// <see cref="IJobStore.AppendManyAsync"/> never commits on the caller's thread (PowerShell's pipeline thread, which
/// every row waits on): with the store held by another writer, the call returns at once and its task completes once the
/// entries are committed.
/// </summary>
public sealed class AppendManyAsyncTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-append-many-" + Guid.NewGuid().ToString("N"));

    public AppendManyAsyncTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    private static FalJob Job(string id) => new()
    {
        RequestId = id, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Status = FalJobStatus.Completed, Prompt = id,
    };

    [Theory]
    [InlineData("jobs.db")]
    [InlineData("journal.jsonl")]
    public void The_call_returns_while_another_writer_holds_the_store_and_the_entries_are_committed_after(string file)
    {
        var path = Path.Combine(_folder, file);
        var store = JobStore.Open(path);
        store.Append("submitted", Job("before"));
        using var holder = Hold(path);
        var clock = Stopwatch.StartNew();
        var write = store.AppendManyAsync([JobJournal.Capture("status", Job("during-1")), JobJournal.Capture("status", Job("during-2"))]);
        var returnedAfter = clock.Elapsed;
        Assert.False(write.IsCompleted);
        Thread.Sleep(300);
        Assert.False(write.IsCompleted);
        holder.Dispose();
        Assert.True(write.Wait(TimeSpan.FromSeconds(20)));
        Assert.True(returnedAfter < TimeSpan.FromMilliseconds(250), $"the call took {returnedAfter.TotalMilliseconds:0} ms");
        Assert.Equal(["before", "during-1", "during-2"], JobStore.Open(path).ReadJobs().Select(j => j.RequestId));
    }

    [Fact]
    public void Nothing_to_append_is_done_at_once()
    {
        var store = JobStore.Open(Path.Combine(_folder, "jobs.db"));
        Assert.True(store.AppendManyAsync([]).IsCompleted);
    }

    /// <summary>Another writer holding the store: SQLite's write lock (BEGIN EXCLUSIVE on a connection of its own), or
    /// the journal's lock file opened exclusively.</summary>
    private static IDisposable Hold(string path)
    {
        if (path.EndsWith(".jsonl", StringComparison.Ordinal))
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }
        return connection;
    }
}
