using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Postgres;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// A re-run answers the same in every store: the JSON Lines journal and the SQLite store look each row's key up before
/// the row is sent; the PostgreSQL store leaves a row's first look at its key to its write-ahead claim, which reads the
/// key's earlier jobs in its own transaction. Same rows sent, same jobs emitted in row order, same warnings and errors.
/// </summary>
public sealed class RerunStoreTests(PostgresServer server) : FaultTestBase, IClassFixture<PostgresServer>
{
    private static FalJob Unwrap(PSObject o) => (FalJob)o.BaseObject;

    private string? _connectionString;

    // The PostgreSQL store's queries of job states from this process, whichever load context holds the module's copy
    // of the store (a test hook of the store, reached by reflection).
    private long QueriesOf(string kind) => kind != "postgresql" ? 0 : AppDomain.CurrentDomain.GetAssemblies()
        .Select(a => a.GetType("FalVideo.Journal.PostgresJobStore")?.GetMethod("QueriesFor", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static))
        .OfType<System.Reflection.MethodInfo>()
        .Sum(m => (long)m.Invoke(null, [_connectionString])!);

    private IJobStore UseStore(string kind)
    {
        if (kind == "jsonl") return new JobJournal(Ps.JournalPath);
        var setting = _connectionString = kind == "sqlite" ? Path.Combine(Temp, "jobs.db") : server.NewDatabase();
        Ps.Run("Set-FalConfiguration -JobStore $args[0]", setting).ThrowIfErrors();
        return JobStore.Open(setting);
    }

    [Theory]
    [InlineData("jsonl")]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public void A_rerun_sends_emits_warns_and_errs_alike_in_every_store(string kind)
    {
        var store = UseStore(kind);
        Ps.Run($"{Rows(10, "Stores")} | New-KlingVideo").ThrowIfErrors();
        Assert.Equal(10, Emulator.State.AcceptedSubmissions);
        // Row 3's earlier attempt left only a record of unknown fate: fal may or may not have it.
        var paid = store.ReadJobs().Single(j => j.Id == "r3");
        store.Remove([paid]);
        store.Append(JobJournal.AmbiguousEntry, new FalJob
        {
            RequestId = "", Status = FalJobStatus.Unknown, EndpointId = paid.EndpointId, Id = "r3", Prompt = paid.Prompt,
            IdempotencyKey = paid.IdempotencyKey, SubmittedAt = paid.SubmittedAt, Error = "The connection was reset.", QueueHost = paid.QueueHost,
        });
        var before = store.ReadJobs().ToDictionary(j => j.Id!, j => j.RequestId);

        // Twelve rows, the first given again at the end: rows 1 to 10 were sent before, 11 and 12 never were.
        var queries = QueriesOf(kind);
        var r = Ps.Run($"$rows = @({Rows(12, "Stores")}); @($rows) + $rows[0] | New-KlingVideo");
        // The shared store is not read per row: each row's claim looked at its key (one query per key before).
        if (kind == "postgresql")
        {
            Assert.Equal(0, QueriesOf(kind) - queries);
            // -WhatIf claims nothing, so it still looks each key up: one query per key.
            queries = QueriesOf(kind);
            Ps.Run($"{Rows(12, "Stores")} | New-KlingVideo -WhatIf").ThrowIfErrors();
            Assert.Equal(12, QueriesOf(kind) - queries);
        }
        var sent = Emulator.State.AcceptedSubmissions - 10;
        var jobs = r.Output.Select(Unwrap).ToList();

        Assert.Null(r.Terminating);
        // Rows 11, 12 and the repeated first row.
        Assert.Equal(3, sent);
        Assert.Equal(["r1", "r2", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r1"], jobs.Select(j => j.Id));
        foreach (var job in jobs.Take(9)) Assert.Equal(before[job.Id!], job.RequestId);
        Assert.DoesNotContain(jobs.Skip(9), j => before.ContainsValue(j.RequestId));
        Assert.Equal(9, r.Warnings.Count);
        Assert.All(r.Warnings, w => Assert.Matches(@"^Row \d+ \(r\d+\): already submitted as \S+ on \d{4}-\d\d-\d\d \d\d:\d\d UTC; not sent again\. Use -Force to submit it anyway\.$", w));
        Assert.Equal(["Row 1 (r1)", "Row 2 (r2)", "Row 4 (r4)", "Row 10 (r10)"],
            r.Warnings.Where((_, i) => i is 0 or 1 or 2 or 8).Select(w => w[..w.IndexOf(':', StringComparison.Ordinal)]));
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalAmbiguousEarlierSubmission,", error.FullyQualifiedErrorId);
        Assert.StartsWith("Row 3 (r3): not sent: an earlier attempt on ", error.ErrorDetails.Message);
        Assert.Contains("Remove-FalJob", error.ErrorDetails.Message);
        Assert.Equal(13, store.ReadJobs().Count);

        // -Force sends the rows again, the ambiguous one included.
        var forced = Ps.Run($"{Rows(3, "Stores")} | New-KlingVideo -Force");
        forced.ThrowIfErrors();
        Assert.Empty(forced.Warnings);
        Assert.Equal(6, Emulator.State.AcceptedSubmissions - 10);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
