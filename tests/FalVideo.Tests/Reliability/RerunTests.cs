using FalVideo.Jobs;
using System.Management.Automation;
using FalVideo.Journal;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Never pay twice: a re-run of the same rows finds the jobs the store already has for them (by idempotency key) and
/// sends only the rows that never reached fal. Counted at the emulator: every accepted submission is a payment.
/// </summary>
public sealed class RerunTests : FaultTestBase
{
    private static FalJob Unwrap(PSObject o) => (FalJob)o.BaseObject;

    [Fact]
    public void Re_running_a_batch_after_a_clean_run_sends_nothing_and_emits_the_existing_jobs()
    {
        RunBatch(20, "Rerun").ThrowIfErrors();
        var first = Emulator.State.AcceptedSubmissions;
        var before = Journal().ToDictionary(j => j.Id!, j => j.RequestId);

        var r = Ps.Run($"{Rows(20, "Rerun")} | New-KlingVideo");
        var sent = Emulator.State.AcceptedSubmissions - first;
        var jobs = r.Output.Select(Unwrap).ToList();
        var alreadyWarnings = r.Warnings.Count(w => w.Contains("already submitted as", StringComparison.Ordinal));
        ReliabilityRecorder.Record(901, "Re-running a 20-row batch after a clean run",
            $"{sent} submissions reached fal on the re-run; {jobs.Count} existing jobs emitted, {alreadyWarnings} warnings",
            sent == 0 ? "nothing (no row paid twice)" : $"{sent} row(s) paid twice");

        r.ThrowIfErrors();
        Assert.Equal(20, first);
        Assert.Equal(0, sent);
        Assert.Equal(20, jobs.Count);
        Assert.Equal(20, alreadyWarnings);
        Assert.All(jobs, j => Assert.Equal(FalJobStatus.Completed, j.Status));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => "r" + i), jobs.Select(j => j.Id));
        Assert.All(jobs, j => Assert.Equal(before[j.Id!], j.RequestId));
        Assert.Matches(@"^Row 3 \(r3\): already submitted as \S+ on \d{4}-\d\d-\d\d \d\d:\d\d UTC; not sent again\. Use -Force to submit it anyway\.$", r.Warnings[2]);
        Assert.Equal(20, Journal().Count);
    }

    [Fact]
    public void Re_running_after_a_partial_run_pays_only_for_the_rows_never_sent()
    {
        // The first run sent rows 1 to 8 and stopped; rows 9 to 20 never left.
        Ps.Run($"{Rows(20, "Partial")} | Select-Object -First 8 | New-KlingVideo").ThrowIfErrors();
        var first = Emulator.State.AcceptedSubmissions;

        var r = Ps.Run($"{Rows(20, "Partial")} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var sent = Emulator.State.AcceptedSubmissions - first;
        var tally = Count();
        ReliabilityRecorder.Record(902, "Re-running a 20-row batch after a run that sent only 8 rows",
            $"{first} then {sent} submissions reached fal; {r.Output.Count} videos saved, {r.Warnings.Count(w => w.Contains("already submitted", StringComparison.Ordinal))} rows found already submitted",
            sent == 12 ? "nothing (only the 12 rows never sent were paid)" : $"{sent - 12} row(s) paid twice or not sent");

        r.ThrowIfErrors();
        Assert.Equal(8, first);
        Assert.Equal(12, sent);
        Assert.Equal(20, r.Output.Count);
        Assert.Equal(8, r.Warnings.Count(w => w.Contains("already submitted", StringComparison.Ordinal)));
        Assert.Equal(0, tally.Duplicates);
        Assert.Equal(20, Journal().Count);
    }

    [Fact]
    public void An_earlier_attempt_of_unknown_fate_blocks_the_row_until_it_is_settled()
    {
        Ps.Run($"{Rows(3, "Ambiguous")} | New-KlingVideo").ThrowIfErrors();
        // Row 2's earlier attempt left only a write-ahead record: fal may or may not have it.
        var store = new JobJournal(Ps.JournalPath);
        var paid = store.ReadJobs().Single(j => j.Id == "r2");
        store.Remove([paid]);
        store.Append(JobJournal.AmbiguousEntry, new FalJob
        {
            RequestId = "", Status = FalJobStatus.Unknown, EndpointId = paid.EndpointId, Id = "r2", Prompt = paid.Prompt,
            IdempotencyKey = paid.IdempotencyKey, SubmittedAt = paid.SubmittedAt, Error = "The connection was reset.", QueueHost = paid.QueueHost,
        });
        var first = Emulator.State.AcceptedSubmissions;

        var r = Ps.Run($"{Rows(3, "Ambiguous")} | New-KlingVideo");
        var sent = Emulator.State.AcceptedSubmissions - first;
        var error = r.Errors.SingleOrDefault();
        ReliabilityRecorder.Record(903, "Re-running a row whose earlier submission is ambiguous (no request id recorded)",
            $"{sent} submissions reached fal; row 2 got {error?.FullyQualifiedErrorId.Split(',')[0] ?? "no error"}",
            sent == 0 ? "nothing (the ambiguous row was not sent again)" : $"{sent} row(s) possibly paid twice");

        Assert.Equal(0, sent);
        Assert.NotNull(error);
        Assert.StartsWith("FalAmbiguousEarlierSubmission,", error!.FullyQualifiedErrorId);
        Assert.StartsWith("Row 2 (r2): not sent", error.ErrorDetails.Message);
        Assert.Contains("Remove-FalJob", error.ErrorDetails.Message);
        Assert.Contains("-Force", error.ErrorDetails.Message);
        Assert.Equal(2, r.Output.Count);

        // -Force settles it by sending the row.
        var forced = Ps.Run($"{Rows(3, "Ambiguous")} | Where-Object Id -eq 'r2' | New-KlingVideo -Force");
        forced.ThrowIfErrors();
        Assert.Equal(1, Emulator.State.AcceptedSubmissions - first);
    }

    [Fact]
    public void Force_submits_the_same_rows_again()
    {
        Ps.Run($"{Rows(20, "Forced")} | New-KlingVideo").ThrowIfErrors();
        var first = Emulator.State.AcceptedSubmissions;

        var r = Ps.Run($"{Rows(20, "Forced")} | New-KlingVideo -Force");
        var sent = Emulator.State.AcceptedSubmissions - first;
        ReliabilityRecorder.Record(904, "Re-running a 20-row batch with -Force",
            $"{sent} submissions reached fal on the forced re-run; {r.Warnings.Count} warnings",
            sent == 20 ? "nothing (every row was sent again, as asked)" : $"{20 - sent} forced row(s) not sent");

        r.ThrowIfErrors();
        Assert.Equal(20, first);
        Assert.Equal(20, sent);
        Assert.Empty(r.Warnings);
        Assert.Equal(40, Journal().Count);
        // The next re-run finds the newest job of each row and sends nothing.
        var again = Ps.Run($"{Rows(20, "Forced")} | New-KlingVideo");
        again.ThrowIfErrors();
        Assert.Equal(40, Emulator.State.AcceptedSubmissions);
        Assert.Equal(r.Output.Select(o => Unwrap(o).RequestId), again.Output.Select(o => Unwrap(o).RequestId));
    }
}
