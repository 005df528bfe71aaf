using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.Core.Tests.Jobs;

/// <summary>The short texts views, prompts and progress bars use: a job's label, a log line, a model's lowest rate.</summary>
public sealed class JobLabelTests
{
    [Fact]
    public void A_job_is_named_by_its_row_Id_and_the_start_of_its_prompt()
    {
        var job = new FalJob { RequestId = "r-1", Id = "pottery", Prompt = "A ceramic bowl on a potter's wheel, spinning slowly" };
        Assert.Equal("pottery \"A ceramic bowl on a potter's…\"", job.Label());
        Assert.Equal("pottery \"A ceramic bowl on a potter's wheel, spinning slowly\"", job.Label(100));
    }

    [Fact]
    public void Without_an_Id_the_request_id_names_the_job_and_a_prompt_less_job_is_its_name_alone()
    {
        Assert.Equal("r-2 \"Two lines\"", new FalJob { RequestId = "r-2", Prompt = "Two\nlines" }.Label());
        Assert.Equal("r-3", new FalJob { RequestId = "r-3" }.Label());
        Assert.Equal("j-4", new FalJob { JournalId = "j-4" }.Label());
    }

    [Fact]
    public void A_log_entry_reads_as_time_level_and_message()
    {
        var entry = new FalLogEntry { Message = "Generating frames", Level = "INFO", Timestamp = new DateTimeOffset(2026, 12, 1, 4, 4, 5, TimeSpan.FromHours(1)) };
        Assert.Equal("2026-12-01 03:04:05Z INFO Generating frames", entry.ToString());
        Assert.Equal("Done", new FalLogEntry { Message = "Done" }.ToString());
    }

    [Fact]
    public void PriceFrom_is_the_lowest_rate_with_a_plus_when_other_tiers_cost_more()
    {
        var catalog = ModelCatalog.Default;
        var kling = catalog.Find("kling-v3-pro")!;
        var lowest = kling.Prices.Where(p => p.UsdPerSecond is not null).Min(p => p.UsdPerSecond!.Value);
        Assert.Equal($"${lowest.ToString(System.Globalization.CultureInfo.InvariantCulture)}/s+", kling.PriceFrom);
        var flat = catalog.Models.First(m => m.Prices.Length == 1 && m.Prices[0].UsdPerVideo is not null);
        Assert.Equal($"${flat.Prices[0].UsdPerVideo!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}/video", flat.PriceFrom);
        Assert.Equal("unknown", catalog.Models.First(m => m.Prices.Length == 0).PriceFrom);
    }
}
