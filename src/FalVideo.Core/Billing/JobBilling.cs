using System.Globalization;
using System.Text.Json.Nodes;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.Billing;

/// <summary>What one job cost, and how that is known.</summary>
public sealed class JobCharge
{
    /// <summary>USD counted for the job: fal's billed amount when known, else the estimate; 0 for a job fal does not
    /// bill; null when billed but no price is known.</summary>
    public decimal? CostUsd { get; init; }
    /// <summary>True when the job is one fal bills (it ran to a result), so it belongs in a "cost so far" total.</summary>
    public bool Billed { get; init; }
    /// <summary>Where <see cref="CostUsd"/> comes from: <c>billing event</c>, <c>billable units</c>, <c>estimate</c>, or
    /// <c>not billed</c>.</summary>
    public string Basis { get; init; } = "";
    /// <summary>Units fal billed (billing event <c>output_units</c>, or <c>x-fal-billable-units</c>), or null.</summary>
    public decimal? Units { get; init; }
    /// <summary>USD per unit used for <see cref="CostUsd"/>, or null.</summary>
    public decimal? UnitPriceUsd { get; init; }
    /// <summary>The reason in words, e.g. <c>failed job: fal does not bill server errors</c>.</summary>
    public string Note { get; init; } = "";
}

/// <summary>
/// Which jobs fal bills and for how much. Billing rules (PROTOCOL.md "Errors", MODELS.md "Billing rules"): a request
/// that ran to a result is billed; 5xx failures are never billed; a request fal refused at submit (rejected) never ran;
/// a request cancelled while queued is removed from the queue and never runs. A cancel that arrived while it ran may
/// still end with a video, which is billed. Queued and running requests are not billed yet.
/// </summary>
public static class JobBilling
{
    /// <summary>Prices <paramref name="job"/>: the billing event's amount when one is given, else
    /// <see cref="FalJob.BillableUnits"/> × the catalog's unit price for the job's settings, else the job's estimate.</summary>
    /// <param name="job">The job, as the store or a wait left it.</param>
    /// <param name="catalog">The price catalog in effect (with an applied override file, if any).</param>
    /// <param name="billingEvent">fal's billing event for the request, when fetched.</param>
    public static JobCharge Charge(FalJob job, ModelCatalog catalog, FalBillingEvent? billingEvent = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(catalog);
        if (billingEvent?.CostUsd is { } billed)
            return new JobCharge
            {
                CostUsd = billed, Billed = true, Basis = "billing event", Units = billingEvent.OutputUnits, UnitPriceUsd = billingEvent.UnitPrice,
                Note = "billed amount from fal's billing events",
            };
        var ran = job.Status == FalJobStatus.Completed
                  || (job.Status == FalJobStatus.Cancelled && (job.BillableUnits is not null || job.VideoUrl is not null));
        if (!ran)
            return new JobCharge { CostUsd = 0m, Billed = false, Basis = "not billed", Note = NotBilledReason(job) };

        if (job.BillableUnits is { } units && PerSecondPrice(job, catalog, units) is { } unitPrice)
            return new JobCharge
            {
                CostUsd = units * unitPrice, Billed = true, Basis = "billable units", Units = units, UnitPriceUsd = unitPrice,
                Note = string.Format(CultureInfo.InvariantCulture, "{0} s billed (x-fal-billable-units) × ${1}/s catalog price", units, unitPrice),
            };
        return new JobCharge
        {
            CostUsd = job.EstimatedCostUsd, Billed = true, Basis = "estimate", Units = job.BillableUnits,
            Note = job.EstimatedCostUsd is null ? "billed; no price is known for it" : "billed amount not known; the estimate is counted",
        };
    }

    private static string NotBilledReason(FalJob job) => job.Status switch
    {
        FalJobStatus.Failed => "not billed: fal does not bill server errors (5xx)",
        FalJobStatus.Rejected => "not billed: refused at submit, it never ran",
        FalJobStatus.Cancelled => "not billed: cancelled while queued (fal removes the request)",
        FalJobStatus.InQueue => "not billed yet: still queued",
        FalJobStatus.InProgress => "not billed yet: still running",
        _ => "not counted: status unknown (ambiguous submission); look for it in fal's dashboard or with Get-FalJobCost -Start",
    };

    /// <summary>The catalog's USD per second for the job's model and settings (audio, voice, elements and resolution read
    /// from its sent input), or null when the model is not priced per second.</summary>
    private static decimal? PerSecondPrice(FalJob job, ModelCatalog catalog, decimal units)
    {
        var model = catalog.Find(job.Model) ?? catalog.Find(job.EndpointId);
        if (model is null) return null;
        var input = job.Input is { Length: > 0 } text ? TryParse(text) : null;
        var elements = input?["elements"] as JsonArray;
        var cost = CostCalculator.Estimate(model, new CostQuery
        {
            Mode = job.Mode,
            DurationSeconds = (int)Math.Ceiling(units),
            GenerateAudio = input?["generate_audio"] is JsonValue a && a.TryGetValue<bool>(out var on) ? on : null,
            Elements = elements is { Count: > 0 },
            Voice = (elements?.Any(e => e?["voice_id"] is not null) ?? false) || input?["voice_ids"] is JsonArray { Count: > 0 },
            Resolution = input?["resolution"] is JsonValue r && r.TryGetValue<string>(out var res) ? res : null,
        });
        return cost is { Unit: "second" } ? cost.UnitPriceUsd : null;
    }

    private static JsonObject? TryParse(string json)
    {
        try { return JsonNode.Parse(json) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
