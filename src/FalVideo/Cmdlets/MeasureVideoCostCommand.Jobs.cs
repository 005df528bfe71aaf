using System.Management.Automation;
using FalVideo.Billing;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

// The jobs path of Measure-VideoCost (Get-FalJob | Measure-VideoCost: what has this cost so far?).
public sealed partial class MeasureVideoCostCommand
{
    private Uri? _scope;
    private readonly SortedSet<string> _otherHosts = new(StringComparer.OrdinalIgnoreCase);
    private int _otherHostJobs;

    /// <summary>Counts piped jobs of every fal host. Without it, jobs sent to another host than the current queue base
    /// URL's (a rehearsal against the emulator, while pointed at fal) are left out of the rows and the Total, with a warning.</summary>
    [Parameter]
    public SwitchParameter AllHosts { get; set; }

    /// <summary>True for a job to count: -AllHosts, or one sent to the current queue base URL's host; others are counted
    /// for the warning.</summary>
    private bool IsInScope(FalJob job)
    {
        if (AllHosts) return true;
        _scope ??= Settings.FalSettings.Current.ToClientOptions(null).QueueBaseUrl;
        if (job.IsOnHost(_scope)) return true;
        _otherHostJobs++;
        _otherHosts.Add(string.IsNullOrEmpty(job.QueueHost) ? FalJob.DefaultQueueHost : job.QueueHost!);
        return false;
    }

    /// <summary>Says how many piped jobs another host's scope left out.</summary>
    private void WarnOtherHosts()
    {
        if (_otherHostJobs == 0) return;
        WriteWarning($"{_otherHostJobs} job(s) sent to another fal host ({string.Join(", ", _otherHosts)}) than the current one " +
                     $"({FalJob.HostOf(_scope!)}) were left out; -AllHosts counts them.");
    }

    /// <summary>A piped job's row: its estimate beside what fal billed, and what counts in the Total. Only jobs fal bills
    /// count (<see cref="JobBilling"/>): failed, rejected, cancelled-in-queue and unfinished jobs count 0.</summary>
    private static VideoCostEstimate FromJob(FalJob job, int row)
    {
        var charge = JobBilling.Charge(job, Settings.FalSettings.Current.Catalog);
        return new VideoCostEstimate
        {
            Kind = "Job", Row = row, Id = job.Id ?? job.RequestId, Model = job.Model, Mode = job.Mode, EndpointId = job.EndpointId,
            DurationSeconds = job.DurationSeconds, Quantity = 1, EstimatedCostUsd = job.EstimatedCostUsd,
            Unit = charge.Basis == "billable units" ? "second" : null, UnitPriceUsd = charge.UnitPriceUsd,
            BilledCostUsd = charge.Basis == "billable units" ? charge.CostUsd : null,
            CostUsd = charge.CostUsd ?? (charge.Billed ? null : 0m), CostBasis = charge.Basis,
            Note = $"{job.Status}: {charge.Note}",
        };
    }

    /// <summary>The Total when jobs were piped: the counted cost of the billed jobs, the estimates of those same jobs, and
    /// how many were left out; null when no job was piped (the rows' own Total applies).</summary>
    private VideoCostEstimate? JobsTotal()
    {
        var jobs = _rows.Where(r => r.Kind == "Job").ToList();
        if (jobs.Count == 0) return null;
        var billed = jobs.Where(r => r.CostBasis is not "not billed").ToList();
        var fromUnits = billed.Count(r => r.BilledCostUsd is not null);
        var notBilled = jobs.Count - billed.Count;
        var rows = _rows.Where(r => r.Kind != "Job").ToList();
        var unpriced = billed.Count(r => r.CostUsd is null);
        return new VideoCostEstimate
        {
            Kind = "Total",
            Quantity = billed.Count + rows.Sum(r => r.Quantity),
            EstimatedCostUsd = billed.Sum(r => r.EstimatedCostUsd ?? 0m) + rows.Sum(r => r.EstimatedCostUsd ?? 0m),
            BilledCostUsd = fromUnits > 0 ? billed.Sum(r => r.BilledCostUsd ?? 0m) : null,
            CostUsd = billed.Sum(r => r.CostUsd ?? 0m) + rows.Sum(r => r.EstimatedCostUsd ?? 0m),
            CostBasis = fromUnits == billed.Count && billed.Count > 0 ? "billable units" : fromUnits > 0 ? "billable units and estimate" : "estimate",
            Note = $"{billed.Count} billed job(s): {fromUnits} from billed units, {billed.Count - fromUnits} from the estimate" +
                   (notBilled > 0 ? $"; {notBilled} not billed (failed, rejected, cancelled while queued, or not finished) left out" : "") +
                   (unpriced > 0 ? $"; {unpriced} without a price not in the total" : "") +
                   (rows.Count > 0 ? $"; plus {rows.Count} row estimate(s)" : ""),
        };
    }
}
