using System.Diagnostics;
using System.Management.Automation;
using System.Runtime.InteropServices;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Fail closed against the job store's own faults, on both kinds (SQLite, the default, and a JSON Lines journal): a
/// read-only folder, a full disk, a database locked by another process beyond the busy timeout. Counted at the
/// emulator: a row that reached fal must have its write-ahead record in the store, and every row that failed must say
/// which store and why. The read-only folder is a read-only mount as root (root ignores permission bits) and a 0500
/// folder otherwise; the full disk is a 1 MB tmpfs, filled, which needs root.
/// </summary>
public sealed class StoreFaultTests : FaultTestBase
{
    private static bool IsRoot => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && Environment.UserName == "root";

    [Theory]
    [InlineData(811, "sqlite")]
    [InlineData(812, "jsonl")]
    public void A_read_only_store_folder_sends_no_row(int number, string kind)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return; // Unix permissions and mounts.
        var folder = Path.Combine(Temp, "read-only");
        Directory.CreateDirectory(folder);
        using var readOnly = IsRoot ? Mount(folder, "ro,size=64k") : ChangeMode(folder, "500");
        if (readOnly is null)
        {
            ReliabilityRecorder.Record(number, $"Write-ahead store's folder is read-only ({Kind(kind)}, 20 rows)", "not run: mount failed", "not run");
            return;
        }
        var store = Path.Combine(folder, kind == "sqlite" ? "jobs.db" : "journal.jsonl");
        RunAndCheck(number, $"Write-ahead store's folder is read-only ({Kind(kind)}, 20 rows)", store, 20, ["read-only", "readonly", "denied", "unable to open"], noneSent: true);
    }

    [Theory]
    [InlineData(813, "sqlite")]
    [InlineData(814, "jsonl")]
    public void A_full_disk_under_the_store_sends_no_row_without_its_record(int number, string kind)
    {
        var fault = $"Write-ahead store on a full disk ({Kind(kind)}, a 1 MB tmpfs filled up, 20 rows)";
        if (!IsRoot)
        {
            // A full disk of its own needs a tmpfs mount, which needs root.
            ReliabilityRecorder.Record(number, fault, "not run: mounting a small tmpfs needs root", "not run");
            return;
        }
        var folder = Path.Combine(Temp, "full");
        Directory.CreateDirectory(folder);
        using var disk = Mount(folder, "size=1m");
        Assert.NotNull(disk);
        var store = Path.Combine(folder, kind == "sqlite" ? "jobs.db" : "journal.jsonl");
        // The store exists with one job, its WAL emptied (so a new write needs new space), then the disk is filled.
        JobStore.Open(store).Append("submitted", new FalJob { RequestId = "before", EndpointId = "fal-ai/x", Status = FalJobStatus.Completed });
        if (kind == "sqlite") Checkpoint(store);
        // Unbuffered, so nothing is left to write when the disk is full.
        using (var filler = new FileStream(Path.Combine(folder, "filler"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
        {
            var block = new byte[1024];
            try { while (true) { filler.Write(block, 0, block.Length); filler.Flush(); } }
            catch (IOException) { }
        }
        // The last page of a file may still have room for a short line: rows whose write-ahead line fitted may go out,
        // each with its record.
        // SQLite answers the earlier-submission check row by row, each failure counted, so its batch must stop; the
        // journal's rows fail together in one group commit (one failure) and may each end with their own error.
        RunAndCheck(number, fault, store, 20, ["space", "full", "disk"], noneSent: false, batchStops: kind == "sqlite");
    }

    [Fact]
    public async Task A_sqlite_store_locked_by_another_process_beyond_the_busy_timeout_fails_rows_closed()
    {
        var store = Path.Combine(Temp, "locked", "jobs.db");
        JobStore.Open(store).Append("submitted", new FalJob { RequestId = "before", EndpointId = "fal-ai/x", Status = FalJobStatus.Completed });
        SqliteConnection.ClearAllPools();
        // Another process holds the write lock until the batch is over (at most 2 minutes), past the store's 15 s busy
        // timeout however slowly the session starts.
        var holder = Process.Start(new ProcessStartInfo("python3",
            ["-c", "import signal, sqlite3, sys; signal.alarm(120); c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); sys.stdin.readline(); c.execute('COMMIT')", store])
        { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false });
        if (holder is null)
        {
            ReliabilityRecorder.Record(815, "Write-ahead SQLite store locked by another process past the busy timeout (3 rows)", "not run: python3 is missing", "not run");
            return;
        }
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());
        Ps.Run("Set-FalConfiguration -JournalPath $args[0]", store).ThrowIfErrors();
        var clock = Stopwatch.StartNew();
        var r = Ps.Run($"{Rows(3, "Locked")} | New-KlingVideo");
        clock.Stop();
        await holder.StandardInput.WriteLineAsync("release");
        await holder.StandardInput.FlushAsync();
        await holder.WaitForExitAsync();
        var accepted = Emulator.State.AcceptedSubmissions;
        var lost = Unrecorded(store);
        ReliabilityRecorder.Record(815, "Write-ahead SQLite store locked by another process past the 15 s busy timeout (3 rows)",
            $"after {clock.Elapsed.TotalSeconds:0} s: {accepted} submissions reached fal, {r.Output.Count} jobs emitted, {r.Errors.Count} row errors ({Ids(r)})",
            lost == 0 ? "nothing (every paid job has its record)" : $"{lost} paid job(s) with no record");

        Assert.Equal(0, lost);
        Assert.Equal(0, accepted);
        Assert.Empty(r.Output);
        Assert.NotEmpty(r.Errors);
        Assert.All(r.Errors, e => Assert.StartsWith("FalJournal", e.FullyQualifiedErrorId));
        Assert.All(r.Errors, e => Assert.Contains(store, e.ErrorDetails.Message));
        Assert.Contains(r.Errors, e => e.ErrorDetails.Message.Contains("locked", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(816, "sqlite")]
    [InlineData(817, "jsonl")]
    public void Remove_FalJob_of_a_job_the_store_does_not_know_is_an_error_and_forgets_nothing_else(int number, string kind)
    {
        var store = Path.Combine(Temp, kind == "sqlite" ? "jobs.db" : "journal.jsonl");
        Ps.Run("Set-FalConfiguration -JournalPath $args[0]", store).ThrowIfErrors();
        Ps.Run($"{Rows(2, "Known")} | New-KlingVideo").ThrowIfErrors();
        var r = Ps.Run("""
            $known = @(Get-FalJob)
            $stranger = New-Object FalVideo.Jobs.FalJob -Property @{ RequestId = 'not-a-request-of-this-store'; EndpointId = $known[0].EndpointId }
            @($stranger, $known[1]) | Remove-FalJob -Confirm:$false -PassThru | ForEach-Object RequestId
            """);
        var left = JobStore.Open(store).ReadJobs();
        ReliabilityRecorder.Record(number, $"Remove-FalJob of a request id the store does not know ({Kind(kind)})",
            $"{r.Errors.Count} error(s) ({Ids(r)}); {r.Output.Count} job(s) forgotten; {left.Count} left",
            left.Count == 1 ? "nothing (only the known job asked for was forgotten)" : "a job that was not asked for");

        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalJobNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("not-a-request-of-this-store", error.Exception.Message);
        Assert.Contains(Path.GetFullPath(store), error.Exception.Message);
        Assert.Single(r.Output);
        Assert.Single(left);
    }

    /// <summary>Runs <paramref name="rows"/> rows against a store that can't be written and checks the promise.</summary>
    private void RunAndCheck(int number, string fault, string store, int rows, string[] causes, bool noneSent, bool batchStops = false)
    {
        Ps.Run("Set-FalConfiguration -JournalPath $args[0]", store).ThrowIfErrors();
        var r = Ps.Run($"{Rows(rows, "Unwritable")} | New-KlingVideo");
        var accepted = Emulator.State.AcceptedSubmissions;
        var lost = Unrecorded(store);
        var messages = r.Errors.Select(e => e.ErrorDetails?.Message ?? e.Exception.Message).ToList();
        ReliabilityRecorder.Record(number, fault,
            $"{accepted} submissions reached fal; {r.Errors.Count} errors ({Ids(r)}): {messages.LastOrDefault()}",
            lost == 0 ? "nothing (no row was sent without its record)" : $"{lost} paid job(s) with no record");

        Assert.Equal(0, lost);
        if (noneSent) Assert.Equal(0, accepted);
        // Each row went out with its record, or failed with its own error, or was never read once the batch stopped.
        var notWritten = r.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("FalJournalNotWritten,", StringComparison.Ordinal));
        Assert.InRange(accepted + notWritten, 1, rows);
        Assert.NotEmpty(r.Errors);
        Assert.All(r.Errors, e => Assert.StartsWith("FalJournal", e.FullyQualifiedErrorId));
        Assert.All(messages, m => Assert.Contains(Path.GetFullPath(store), m));
        Assert.Contains(messages, m => causes.Any(c => m.Contains(c, StringComparison.OrdinalIgnoreCase)));
        // A store that keeps failing (a read for the earlier-submission check as much as a write) stops the batch.
        if (batchStops) Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("FalJournalUnavailable", StringComparison.Ordinal));
    }

    /// <summary>The submissions fal accepted that have no record in the store (a write-ahead row counts: its prompt is
    /// recorded before the row is sent, its request id only once fal's answer is).</summary>
    private int Unrecorded(string store)
    {
        HashSet<string> prompts;
        try
        {
            prompts = JobStore.Open(store).ReadJobs().Select(j => j.Prompt).ToHashSet();
        }
        catch (IOException)
        {
            // A store that could never be created holds nothing.
            prompts = [];
        }
        return Emulator.State.Jobs.Count(j => !prompts.Contains(System.Text.Json.JsonDocument.Parse(j.Input).RootElement.GetProperty("prompt").GetString()!));
    }

    private static void Checkpoint(string path)
    {
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }

    private static string Kind(string kind) => kind == "sqlite" ? "SQLite jobs.db" : "JSON Lines journal";


    /// <summary>Mounts a tmpfs on <paramref name="folder"/> (root only); null when the mount fails.</summary>
    private static IDisposable? Mount(string folder, string options)
    {
        if (Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", folder) != 0) return null;
        return new Undo(() => Run("umount", "-l", folder));
    }

    private static IDisposable? ChangeMode(string folder, string mode) =>
        Run("chmod", mode, folder) == 0 ? new Undo(() => Run("chmod", "700", folder)) : null;

    private static int Run(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false, RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    private sealed class Undo(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
