using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Engine;

/// <summary>A SQLite job store in a temporary folder of each test's own, deleted after it.</summary>
public abstract class TempStoreTests : IDisposable
{
    protected readonly string _dir = Path.Combine(Path.GetTempPath(), "falvideo-engine-" + Guid.NewGuid().ToString("N"));
    protected readonly SqliteJobStore _store;

    protected TempStoreTests()
    {
        Directory.CreateDirectory(_dir);
        _store = new SqliteJobStore(Path.Combine(_dir, "jobs.db"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
