using FalVideo.Billing;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.Journal;
using Microsoft.Data.Sqlite;

namespace FalVideo.Core.Tests.Billing;

/// <summary>Which jobs fal bills and for how much (<see cref="JobBilling"/>), the billed units in both job stores, and
/// price override files whose errors name the file and the line (<see cref="PriceOverrideFile"/>).</summary>
[Collection("RunsAlone")]
public sealed class JobBillingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-billing-" + Guid.NewGuid().ToString("N"));

    public JobBillingTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static FalJob Job(FalJobStatus status, decimal? units = null, string input = """{"prompt":"a","duration":"7","generate_audio":false}""") => new()
    {
        RequestId = "r-" + status, EndpointId = "fal-ai/kling-video/v3/pro/text-to-video", Model = "kling-v3-pro", Mode = "text-to-video",
        Status = status, DurationSeconds = 7, EstimatedCostUsd = 0.784m, BillableUnits = units, Input = input,
        SubmittedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
    };

    [Theory]
    [InlineData(FalJobStatus.Failed)]
    [InlineData(FalJobStatus.Rejected)]
    [InlineData(FalJobStatus.Cancelled)]
    [InlineData(FalJobStatus.InQueue)]
    [InlineData(FalJobStatus.InProgress)]
    [InlineData(FalJobStatus.Unknown)]
    public void Jobs_that_did_not_run_to_a_result_are_not_billed(FalJobStatus status)
    {
        var charge = JobBilling.Charge(Job(status), ModelCatalog.Default);
        Assert.False(charge.Billed);
        Assert.Equal(0m, charge.CostUsd);
        Assert.Equal("not billed", charge.Basis);
    }

    [Fact]
    public void Billed_units_times_the_catalog_unit_price_win_over_the_estimate()
    {
        // 6 s billed where 7 s were asked for, audio on as sent: 6 x $0.168.
        var charge = JobBilling.Charge(Job(FalJobStatus.Completed, 6m, """{"prompt":"a","duration":"7","generate_audio":true}"""), ModelCatalog.Default);
        Assert.Equal(("billable units", 6m * 0.168m, 0.168m), (charge.Basis, charge.CostUsd!.Value, charge.UnitPriceUsd!.Value));

        var estimate = JobBilling.Charge(Job(FalJobStatus.Completed), ModelCatalog.Default);
        Assert.Equal(("estimate", 0.784m), (estimate.Basis, estimate.CostUsd!.Value));

        // A cancel that came too late: the request ran and returned a video, so it is billed.
        var late = Job(FalJobStatus.Cancelled, 7m);
        Assert.Equal(7m * 0.112m, JobBilling.Charge(late, ModelCatalog.Default).CostUsd);
    }

    [Fact]
    public void A_billing_event_is_the_billed_amount()
    {
        var ev = new FalBillingEvent { RequestId = "r-Completed", OutputUnits = 7, UnitPrice = 0.112m, PercentDiscount = 10, CostUsd = 0.7056m };
        var charge = JobBilling.Charge(Job(FalJobStatus.Completed, 7m), ModelCatalog.Default, ev);
        Assert.Equal(("billing event", 0.7056m), (charge.Basis, charge.CostUsd!.Value));
    }

    [Fact]
    public void Billable_units_survive_both_job_stores()
    {
        foreach (var store in new IJobStore[] { new JobJournal(Path.Combine(_folder, "jobs.jsonl")), new SqliteJobStore(Path.Combine(_folder, "jobs.db")) })
        {
            var job = Job(FalJobStatus.InQueue);
            store.Append("submitted", job);
            job.Status = FalJobStatus.Completed;
            job.BillableUnits = 7.5m;
            store.Append("status", job);
            Assert.Equal(7.5m, Assert.Single(store.ReadJobs()).BillableUnits);
        }
    }

    [Fact]
    public void An_override_file_error_names_the_file_and_the_line()
    {
        var broken = Path.Combine(_folder, "broken.json");
        File.WriteAllText(broken, "{\n  \"kling-v3-pro\": {\n    \"prices\": [ { \"usdPerSecond\": \"cheap\" } ]\n  }\n}\n");
        var json = Assert.Throws<System.Text.Json.JsonException>(() => PriceOverrideFile.Apply(ModelCatalog.Default, broken));
        Assert.Contains($"{broken} is not valid at line 3", json.Message);

        var unknown = Path.Combine(_folder, "unknown.json");
        File.WriteAllText(unknown, "{\n  \"kling-v3-pro\": { \"prices\": [] },\n\n  \"no-such-model\": { \"prices\": [] }\n}\n");
        var arg = Assert.Throws<ArgumentException>(() => PriceOverrideFile.Apply(ModelCatalog.Default, unknown));
        Assert.Contains($"{unknown} names 'no-such-model' at line 4", arg.Message);

        var good = Path.Combine(_folder, "good.json");
        File.WriteAllText(good, """{ "kling-v3-pro": { "prices": [ { "when": {}, "usdPerSecond": 0.2 } ], "priceSource": "fal pricing API" } }""");
        var model = PriceOverrideFile.Apply(ModelCatalog.Default, good).Find("kling-v3-pro")!;
        Assert.Equal(("fal pricing API", 1.0m), (model.PriceSource, CostCalculator.Estimate(model, new CostQuery { DurationSeconds = 5 })!.TotalUsd));
    }
}
