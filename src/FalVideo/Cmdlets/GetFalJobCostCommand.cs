using System.Management.Automation;
using FalVideo.Billing;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Gets what fal billed for jobs, beside the module's estimate, per job and in total.</para>
/// <para type="description">Reads fal's billing events (GET https://api.fal.ai/v1/models/billing-events, which needs an
/// ADMIN-scoped key) for piped jobs, or for every request in a date range, and puts each billed amount beside the
/// estimate the job store kept for it. fal looks back only 24 hours unless told otherwise, so for piped jobs the range
/// starts an hour before the oldest job's submission (or at -Start); a range longer than fal's 90-day limit is read in
/// 90-day windows, and every page of events is followed. Jobs fal does not bill (failed, rejected, cancelled while
/// queued) and jobs without a billing event yet are listed with the reason. The admin key comes from -AdminKey, else
/// $env:FAL_ADMIN_KEY, else the ordinary key (-ApiKey, Set-FalConfiguration, FAL_KEY); it is never shown.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "FalJobCost", DefaultParameterSetName = RangeSet)]
[OutputType(typeof(FalJobCost))]
public sealed class GetFalJobCostCommand : FalCmdletBase
{
    private const string JobsSet = "Jobs";
    private const string RangeSet = "Range";
    private readonly List<FalJob> _jobs = new();

    /// <summary>Jobs to look up (from New-KlingVideo, Wait-FalJob or Get-FalJob).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = JobsSet)]
    public FalJob[]? InputObject { get; set; }

    /// <summary>Start of the range (inclusive; local time unless the value says otherwise). With piped jobs it replaces
    /// the start taken from their submission times.</summary>
    [Parameter(ParameterSetName = JobsSet)]
    [Parameter(Mandatory = true, ParameterSetName = RangeSet)]
    public DateTime? Start { get; set; }

    /// <summary>End of the range (exclusive); default: now.</summary>
    [Parameter]
    public DateTime? End { get; set; }

    /// <summary>An admin-scoped fal key (SecureString or text) for the billing events; default $env:FAL_ADMIN_KEY, else
    /// the ordinary key. Never written to output or logs.</summary>
    [Parameter]
    [ApiKeyTransformation]
    public object? AdminKey { get; set; }

    /// <summary>Leaves out the final Total row.</summary>
    [Parameter]
    public SwitchParameter NoTotal { get; set; }

    /// <summary>Counts jobs of every fal host. Without it, piped jobs sent to another host than the current queue base URL's
    /// (a rehearsal against the emulator) are left out with a warning, and a range's estimates come only from the job
    /// store's jobs of the current host.</summary>
    [Parameter]
    public SwitchParameter AllHosts { get; set; }

    /// <summary>Counts only the jobs submitted from these machines (FalJob.Machine, as the job store recorded it). Wildcards
    /// allowed, case-insensitive. Piped jobs from other machines are left out; over a range, billed requests the job store
    /// does not know (no machine recorded) are left out too.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? Machine { get; set; }

    /// <summary>Counts only the jobs submitted by these users (FalJob.User, as the job store recorded it). Wildcards allowed,
    /// case-insensitive. Piped jobs of other users are left out; over a range, billed requests the job store does not know
    /// (no user recorded) are left out too.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.JobOwnerCompleter))]
    public string[]? User { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (InputObject is not null) _jobs.AddRange(InputObject.Where(j => j is not null));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var scope = AllHosts ? null : ScopeQueueBaseUrl;
        var owners = JobOwnerFilter.Of(Machine, User);
        if (owners is not null)
        {
            var others = _jobs.RemoveAll(j => !owners.Matches(j));
            if (others > 0) WriteVerbose($"{others} piped job(s) not submitted {owners} were left out.");
            if (ParameterSetName == JobsSet && _jobs.Count == 0 && Start is null) return;
        }
        if (scope is not null)
        {
            var other = _jobs.Where(j => !j.IsOnHost(scope)).ToList();
            if (other.Count > 0)
            {
                _jobs.RemoveAll(j => !j.IsOnHost(scope));
                var hosts = string.Join(", ", other.Select(j => string.IsNullOrEmpty(j.QueueHost) ? FalJob.DefaultQueueHost : j.QueueHost).Distinct(StringComparer.OrdinalIgnoreCase));
                WriteWarning($"{other.Count} job(s) sent to another fal host ({hosts}) than the current one ({FalJob.HostOf(scope)}) were left out; -AllHosts counts them.");
                if (_jobs.Count == 0 && Start is null) return;
            }
        }
        var end = End is { } e ? new DateTimeOffset(e) : DateTimeOffset.UtcNow.AddMinutes(1);
        DateTimeOffset start;
        if (Start is { } s) start = new DateTimeOffset(s);
        else if (_jobs.Count == 0) return;
        else
        {
            // An event is recorded when the request completes, after its submission; an hour before the oldest submission
            // leaves room for clock differences.
            var submitted = _jobs.Where(j => j.SubmittedAt != default).Select(j => j.SubmittedAt).DefaultIfEmpty(DateTimeOffset.UtcNow.AddHours(-24)).Min();
            start = submitted.AddHours(-1);
        }
        if (end <= start)
        {
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.InvalidInput, $"-End ({end:u}) must be after the start ({start:u}).", End,
                new ArgumentException("The end of the range is before its start.")));
        }

        // The admin key alone is enough: the ordinary key is only the last fallback.
        var options = FalSettings.Current.ToClientOptions(
            AdminKey as string ?? NonEmpty(Environment.GetEnvironmentVariable(FalSettings.AdminKeyVariable)) ?? ApiKey as string);
        var pump = Pump;
        options.Log = line => pump.Post(new VerboseReported(line));
        WriteVerbose($"Reading fal's billing events from {start.UtcDateTime:u} to {end.UtcDateTime:u} at {options.PlatformBaseUrl} " +
                     $"with the {(AdminKey is not null ? "-AdminKey" : Environment.GetEnvironmentVariable(FalSettings.AdminKeyVariable) is { Length: > 0 } ? FalSettings.AdminKeyVariable : "ordinary")} key.");
        var requestIds = _jobs.Where(j => !string.IsNullOrEmpty(j.RequestId)).Select(j => j.RequestId).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        IReadOnlyList<FalBillingEvent> events;
        try
        {
            var client = new FalPlatformClient(options);
            events = ParameterSetName == JobsSet && requestIds.Count == 0 ? []
                : Run(ct => client.GetBillingEventsAsync(start, end, ParameterSetName == JobsSet ? requestIds : [], ct: ct));
        }
        catch (Exception ex) when (ex is FalException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, null, ex is FalAuthenticationException
                ? "Billing events need an ADMIN-scoped fal key (-AdminKey or $env:FAL_ADMIN_KEY)" : null));
            return;
        }

        var catalog = FalSettings.Current.Catalog;
        var byRequest = events.GroupBy(ev => ev.RequestId, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
        var rows = new List<FalJobCost>();
        if (ParameterSetName == JobsSet)
        {
            foreach (var job in _jobs)
                rows.Add(Row(job, byRequest.TryGetValue(job.RequestId ?? "", out var list) ? list : null, catalog, start, end));
        }
        else
        {
            // The store supplies the estimates of the requests fal billed.
            var store = FalSettings.Current.Journal;
            var stored = ReadStore(store, () => owners is null ? store.ReadJobs(WriteWarning) : store.ReadJobsOf(owners, null, WriteWarning))
                .Where(j => !string.IsNullOrEmpty(j.RequestId) && (scope is null || j.IsOnHost(scope)))
                .GroupBy(j => j.RequestId, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Last(), StringComparer.OrdinalIgnoreCase);
            var unowned = 0;
            foreach (var (id, list) in byRequest)
            {
                // With -Machine/-User a billed request counts only when the store says it is one of theirs.
                if (owners is not null && !stored.ContainsKey(id))
                {
                    unowned++;
                    continue;
                }
                var job = stored.TryGetValue(id, out var known) ? known : new FalJob { RequestId = id, EndpointId = list[0].EndpointId ?? "" };
                var row = Row(job, list, catalog, start, end);
                rows.Add(known is null ? row.WithNote("not in the job store: no estimate") : row);
            }
            if (unowned > 0) WriteVerbose($"{unowned} billed request(s) not submitted {owners} (or not in the job store) were left out.");
        }
        foreach (var row in rows) WriteObject(row);
        if (!NoTotal && rows.Count > 0) WriteObject(FalJobCost.TotalOf(rows));
        base.EndProcessing();
    }

    private static FalJobCost Row(FalJob job, List<FalBillingEvent>? events, FalVideo.Catalog.ModelCatalog catalog, DateTimeOffset start, DateTimeOffset end)
    {
        FalBillingEvent? billed = null;
        if (events is { Count: > 0 })
        {
            billed = new FalBillingEvent
            {
                RequestId = events[0].RequestId, EndpointId = events[0].EndpointId, Timestamp = events.Max(x => x.Timestamp),
                OutputUnits = events.Sum(x => x.OutputUnits ?? 0), UnitPrice = events[0].UnitPrice, PercentDiscount = events[0].PercentDiscount,
                CostUsd = events.Sum(x => x.CostUsd ?? 0),
            };
        }
        var charge = JobBilling.Charge(job, catalog, billed);
        var note = billed is not null ? (events!.Count > 1 ? $"{events.Count} billing events" : null)
            : charge.Billed ? $"no billing event between {start.UtcDateTime:u} and {end.UtcDateTime:u} (fal may not have recorded it yet)"
            : charge.Note;
        return new FalJobCost
        {
            RequestId = job.RequestId, Id = job.Id, EndpointId = billed?.EndpointId ?? job.EndpointId, Model = job.Model, Status = job.Status,
            SubmittedAt = job.SubmittedAt == default ? null : job.SubmittedAt, BilledAt = billed?.Timestamp,
            EstimatedCostUsd = job.EstimatedCostUsd, BilledCostUsd = billed?.CostUsd, BilledUnits = billed?.OutputUnits,
            UnitPriceUsd = billed?.UnitPrice, PercentDiscount = billed?.PercentDiscount, Note = note,
        };
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

/// <summary>
/// One row of <c>Get-FalJobCost</c>: what fal billed for a request (its billing events, GET /v1/models/billing-events)
/// beside the module's estimate, or the Total of the rows. Amounts in USD.
/// </summary>
public sealed class FalJobCost
{
    /// <summary><c>Job</c>, or <c>Total</c> for the sum.</summary>
    public string Kind { get; init; } = "Job";
    /// <summary>fal's request id; null on the Total.</summary>
    public string? RequestId { get; init; }
    /// <summary>The row's own identifier (the <c>Id</c> column the job was submitted with), when the job store has one.</summary>
    public string? Id { get; init; }
    /// <summary>The endpoint id that served the request (the billing event's, else the job's).</summary>
    public string? EndpointId { get; init; }
    /// <summary>Catalog model name, when the job store knows the request.</summary>
    public string? Model { get; init; }
    /// <summary>The job's status as last recorded; null on the Total.</summary>
    public FalJobStatus? Status { get; init; }
    /// <summary>When the request was submitted (UTC), if known.</summary>
    public DateTimeOffset? SubmittedAt { get; init; }
    /// <summary>When fal recorded the billing event (UTC).</summary>
    public DateTimeOffset? BilledAt { get; init; }
    /// <summary>The module's estimate (from the job store, shipped catalog prices). On the Total: the estimates of the
    /// billed rows only, so the two totals compare like with like.</summary>
    public decimal? EstimatedCostUsd { get; init; }
    /// <summary>What fal billed (billing event <c>cost_estimate_nano_usd</c>); null when fal has no billing event for it.</summary>
    public decimal? BilledCostUsd { get; init; }
    /// <summary>Billed minus estimated; null unless both are known.</summary>
    public decimal? DifferenceUsd => BilledCostUsd is { } b && EstimatedCostUsd is { } e ? b - e : null;
    /// <summary>Units billed (<c>output_units</c>), e.g. seconds of video; null on the Total (units of different
    /// endpoints do not add up).</summary>
    public decimal? BilledUnits { get; init; }
    /// <summary>USD per unit fal billed (<c>unit_price</c>).</summary>
    public decimal? UnitPriceUsd { get; init; }
    /// <summary>The account's discount in percent (<c>percent_discount</c>).</summary>
    public decimal? PercentDiscount { get; init; }
    /// <summary>Why a row has no billed amount, or other caveats.</summary>
    public string? Note { get; init; }

    internal FalJobCost WithNote(string note) => new()
    {
        Kind = Kind, RequestId = RequestId, Id = Id, EndpointId = EndpointId, Model = Model, Status = Status, SubmittedAt = SubmittedAt,
        BilledAt = BilledAt, EstimatedCostUsd = EstimatedCostUsd, BilledCostUsd = BilledCostUsd, BilledUnits = BilledUnits,
        UnitPriceUsd = UnitPriceUsd, PercentDiscount = PercentDiscount, Note = Note is null ? note : $"{Note}; {note}",
    };

    internal static FalJobCost TotalOf(IReadOnlyCollection<FalJobCost> rows)
    {
        var billed = rows.Where(r => r.BilledCostUsd is not null).ToList();
        var unbilled = rows.Count - billed.Count;
        return new FalJobCost
        {
            Kind = "Total",
            EstimatedCostUsd = billed.Sum(r => r.EstimatedCostUsd ?? 0m),
            BilledCostUsd = billed.Sum(r => r.BilledCostUsd!.Value),
            Note = $"{billed.Count} of {rows.Count} job(s) billed" + (unbilled > 0 ? $"; {unbilled} without a billing event are not in the totals" : ""),
        };
    }
}
