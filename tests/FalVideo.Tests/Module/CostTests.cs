using System.Globalization;

namespace FalVideo.Tests.Module;

/// <summary>Measure-VideoCost through the real engine, offline, from the published worked examples.</summary>
public sealed class CostTests : IDisposable
{
    private readonly PowerShellHost _ps = new(emulator: null);

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Reproduces_every_published_cost_case_to_the_cent()
    {
        var csv = Path.Combine(RepoPaths.SharedData, "cost-cases.csv");
        var lines = File.ReadAllLines(csv).Skip(1).Where(l => l.Trim().Length > 0).ToList();
        var r = _ps.Run("Import-Csv $args[0] | Measure-VideoCost", csv);
        r.ThrowIfErrors();
        var rows = r.Output.Where(o => (string)o.Properties["Kind"].Value == "Row").ToList();
        Assert.Equal(lines.Count, rows.Count);
        var cases = r.Run_ImportExpected(csv);
        decimal sum = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var expected = cases[i];
            var actual = (decimal?)rows[i].Properties["EstimatedCostUsd"].Value;
            Assert.NotNull(actual);
            Assert.True(Math.Round(expected, 2) == Math.Round(actual!.Value, 2),
                $"Row {i + 1} ({lines[i]}): expected {expected} USD, got {actual}");
            // Rows the submitters would refuse (the retired Sora 2 at a length it never offered) are priced but not totalled.
            if (!(bool)rows[i].Properties["Refused"].Value) sum += actual.Value;
        }
        Assert.Equal(["sora-2-pro"], rows.Where(o => (bool)o.Properties["Refused"].Value).Select(o => (string)o.Properties["Model"].Value));
        var total = r.Output.Single(o => (string)o.Properties["Kind"].Value == "Total");
        Assert.Equal(sum, (decimal)total.Properties["EstimatedCostUsd"].Value);
    }

    [Fact]
    public void Seed_prompts_are_priced_with_the_retired_model_flagged()
    {
        var csv = Path.Combine(RepoPaths.SharedData, "seed-prompts.csv");
        var r = _ps.Run("Import-Csv $args[0] | Measure-VideoCost -NoTotal", csv);
        r.ThrowIfErrors();
        Assert.Equal(9, r.Output.Count);
        var pottery = r.Output.Single(o => (string)o.Properties["Id"].Value == "pottery");
        Assert.Equal(0.672m, (decimal)pottery.Properties["EstimatedCostUsd"].Value); // 6 s, audio off, $0.112/s
        var vendor = r.Output.Single(o => (string)o.Properties["Id"].Value == "vendor");
        Assert.Equal(1.68m, (decimal)vendor.Properties["EstimatedCostUsd"].Value);   // 10 s, audio on, $0.168/s
        var sora = r.Output.Single(o => (string)o.Properties["Id"].Value == "cafe-sora");
        Assert.Contains("retired", (string)sora.Properties["Note"].Value);
        Assert.Equal(3.60m, (decimal)sora.Properties["EstimatedCostUsd"].Value);     // 12 s at 720p, $0.30/s
        var lantern = r.Output.Single(o => (string)o.Properties["Id"].Value == "lantern");
        Assert.Equal(0.49m, (decimal)lantern.Properties["EstimatedCostUsd"].Value);  // flat per video
    }

    [Fact]
    public void Bad_rows_get_errors_naming_row_and_field_and_the_rest_are_priced()
    {
        var r = _ps.Run(@"
            @([pscustomobject]@{ Model = 'kling-v3-pro'; Duration = '5'; GenerateAudio = 'false' },
              [pscustomobject]@{ Model = 'kling-v3-pro'; Duration = 'ten'; GenerateAudio = '' },
              [pscustomobject]@{ Model = 'no-such-model'; Duration = '5'; GenerateAudio = '' },
              [pscustomobject]@{ Model = 'kling-v3-pro'; Duration = '5'; GenerateAudio = 'maybe' },
              [pscustomobject]@{ Model = 'hailuo-2.3-standard'; Duration = '10'; GenerateAudio = '' }) | Measure-VideoCost -NoTotal");
        Assert.Equal(3, r.Errors.Count);
        Assert.Contains("Row 2", r.Errors[0].ErrorDetails.Message);
        Assert.Contains("Duration 'ten'", r.Errors[0].ErrorDetails.Message);
        Assert.Contains("Row 3", r.Errors[1].ErrorDetails.Message);
        Assert.Contains("no-such-model", r.Errors[1].ErrorDetails.Message);
        Assert.Contains("Row 4", r.Errors[2].ErrorDetails.Message);
        Assert.Contains("GenerateAudio 'maybe'", r.Errors[2].ErrorDetails.Message);
        Assert.All(r.Errors, e => Assert.StartsWith("FalInvalidInput", e.FullyQualifiedErrorId));
        Assert.Equal(new[] { 0.56m, 0.56m }, r.Output.Select(o => (decimal)o.Properties["EstimatedCostUsd"].Value));
        Assert.Equal(new[] { 1, 5 }, r.Output.Select(o => (int)o.Properties["Row"].Value));
    }
}

internal static class CostCaseReader
{
    /// <summary>The ExpectedCostUsd column, read with plain text parsing (independent of the module).</summary>
    public static List<decimal> Run_ImportExpected(this PsResult _, string csv)
    {
        var lines = File.ReadAllLines(csv).Where(l => l.Trim().Length > 0).ToList();
        var header = lines[0].Split(',');
        var col = Array.IndexOf(header, "ExpectedCostUsd");
        return lines.Skip(1).Select(l => decimal.Parse(l.Split(',')[col], CultureInfo.InvariantCulture)).ToList();
    }
}
