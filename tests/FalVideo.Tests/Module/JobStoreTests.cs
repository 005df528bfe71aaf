using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Tests.Module;

/// <summary>
/// The SQLite job store from the built module in real pwsh: Microsoft.Data.Sqlite and SQLitePCLRaw load from the
/// module's dependencies folder into its private load context, the native e_sqlite3 from
/// <c>dependencies/runtimes/&lt;rid&gt;/native</c>; with no journal setting the cmdlets use the default store, which
/// imports the journal left by earlier versions; a path ending in .jsonl keeps the JSON Lines journal.
/// </summary>
public sealed class JobStoreTests
{
    [Fact]
    public async Task The_default_store_is_sqlite_in_the_module_folder_and_imports_the_old_journal_once()
    {
        var work = Directory.CreateTempSubdirectory("falvideo-store-").FullName;
        try
        {
            // Where LocalApplicationData points on Linux and macOS (.NET reads XDG_DATA_HOME).
            var data = Path.Combine(work, "data");
            var oldJournal = Path.Combine(data, "FalVideo", "journal.jsonl");
            Directory.CreateDirectory(Path.GetDirectoryName(oldJournal)!);
            new JobJournal(oldJournal).Append("submitted", new FalJob
            {
                RequestId = "req-old", EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro",
                Status = FalJobStatus.InQueue, Prompt = "from the old journal", SubmittedAt = DateTimeOffset.UtcNow,
            });
            var script = Path.Combine(work, "store.ps1");
            File.WriteAllText(script, $$"""
                {{PwshChild.ImportModule}}
                "PATH=$((Get-FalConfiguration).JournalPath)"
                Get-FalJob | ForEach-Object { "JOB=$($_.RequestId) $($_.Status) $($_.Prompt)" }
                [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core' } |
                    ForEach-Object { "ALC=$($_.GetName().Name) $([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name) $($_.Location)" }
                $jsonl = [FalVideo.Journal.JobStore]::Open((Join-Path '{{work}}' 'other.jsonl'))
                "JSONL=$($jsonl.GetType().Name)"
                """);
            using var child = new PwshChild(script, new Dictionary<string, string?>
            {
                ["XDG_DATA_HOME"] = data, ["FALVIDEO_JOURNAL"] = null, ["FALVIDEO_CONFIG"] = Path.Combine(work, "config.json"),
                ["FAL_KEY"] = null, ["FALVIDEO_BASE_URL"] = null,
            });
            var code = await child.WaitAsync(TimeSpan.FromSeconds(120));
            var output = child.Output;
            Assert.True(code == 0, output);
            var store = Path.Combine(data, "FalVideo", "jobs.db");
            Assert.Contains("PATH=" + store, output);
            Assert.Contains("JOB=req-old InQueue from the old journal", output);
            Assert.Contains("ALC=Microsoft.Data.Sqlite FalVideo.Dependencies " + Path.GetDirectoryName(RepoPaths.ModuleManifest), output);
            Assert.Contains("ALC=SQLitePCLRaw.core FalVideo.Dependencies", output);
            Assert.Contains("JSONL=JobJournal", output);
            Assert.True(File.Exists(store), output);
            Assert.True(File.Exists(oldJournal));
            Assert.Equal("req-old", Assert.Single(new SqliteJobStore(store).ReadJobs()).RequestId);
            Assert.NotNull(new SqliteJobStore(store).ImportRecord());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
    }
}
