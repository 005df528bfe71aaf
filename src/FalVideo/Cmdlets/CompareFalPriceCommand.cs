using System.Globalization;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Catalog;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.PowerShell.Completion;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Compares the price catalog with fal's pricing API and can write a price override file to review.</para>
/// <para type="description">Reads fal's prices (GET https://api.fal.ai/v1/models/pricing, every page) for the catalog's
/// endpoints and reports, per endpoint: Confirmed (fal's unit price is one of the catalog's prices for the model),
/// Changed (fal gives another price), NotConfirmed (fal lists no price for it), New (fal prices an endpoint the catalog
/// has no price for) or NotInCatalog (a Kling or Hailuo endpoint fal prices that the catalog lacks; only without
/// -Model). fal gives one price per endpoint, where the catalog can have tiers (audio on/off, voice, elements): a changed
/// price replaces the model's base tier and the other tiers are kept, so review the file. With -OutFile the Changed and
/// New prices are written as a price override file; nothing changes until you apply it with Set-FalConfiguration
/// -PriceOverridePath, after which estimates name it as their price source.</para>
/// </summary>
[Cmdlet(VerbsData.Compare, "FalPrice", SupportsShouldProcess = true)]
[OutputType(typeof(FalPriceComparison))]
public sealed class CompareFalPriceCommand : FalCmdletBase
{
    /// <summary>Catalog models to compare (names; wildcards allowed); default: every model.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [SupportsWildcards]
    public string[]? Model { get; set; }

    /// <summary>Writes the Changed and New prices to this file as a price override file (JSON) for review; apply it with
    /// Set-FalConfiguration -PriceOverridePath. Overwrites an existing file (asks under -Confirm; -WhatIf writes nothing).</summary>
    [Parameter]
    public string? OutFile { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var catalog = FalSettings.Current.Catalog;
        var patterns = Model?.Select(m => new WildcardPattern(m, WildcardOptions.IgnoreCase)).ToArray();
        var models = catalog.Models.Where(m => patterns is null || patterns.Any(p => p.IsMatch(m.Name))).ToList();
        if (models.Count == 0)
        {
            WriteError(ErrorRecords.Create(FalErrorIds.ModelNotFound, $"No catalog model matches {string.Join(", ", Model ?? [])}; see Get-FalModel.", Model));
            base.EndProcessing();
            return;
        }

        var options = ClientOptions;
        IReadOnlyList<FalPrice> prices;
        try
        {
            var client = new FalPlatformClient(options);
            // Without -Model every price fal lists is read, so endpoints missing from the catalog show up too.
            var ids = patterns is null ? [] : models.SelectMany(m => m.EndpointIds).ToArray();
            prices = Run(ct => client.GetPricesAsync(ids, ct));
        }
        catch (FalException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, null, "Reading fal's prices"));
            return;
        }
        WriteVerbose($"fal's pricing API ({options.PlatformBaseUrl}) gave {prices.Count} price(s).");

        var byEndpoint = prices.GroupBy(p => p.EndpointId, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        var rows = new List<FalPriceComparison>();
        foreach (var model in models)
            foreach (var (mode, id) in model.Endpoints)
                rows.Add(Compare(model, mode, id, byEndpoint.TryGetValue(id, out var p) ? p : null));
        if (patterns is null)
        {
            var known = new HashSet<string>(catalog.Models.SelectMany(m => m.EndpointIds), StringComparer.OrdinalIgnoreCase);
            foreach (var p in prices.Where(p => !known.Contains(p.EndpointId) && IsVideoFamily(p.EndpointId)))
                rows.Add(new FalPriceComparison
                {
                    Status = "NotInCatalog", EndpointId = p.EndpointId, FalUnitPriceUsd = p.UnitPrice, Unit = p.CatalogUnit,
                    Note = "fal prices this endpoint; the catalog does not have it",
                });
        }
        foreach (var row in rows) WriteObject(row);

        if (OutFile is { Length: > 0 })
        {
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutFile);
            var overrides = Overrides(models, rows, options.PlatformBaseUrl);
            if (overrides.Count == 0)
                WriteWarning("fal confirms every compared catalog price (or gives none): no price override file was written.");
            else if (ShouldProcess(path, $"Write a price override file for {overrides.Count} model(s)"))
            {
                try
                {
                    File.WriteAllText(path, overrides.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine);
                    WriteVerbose($"Wrote {path}. Review it, then apply it with: Set-FalConfiguration -PriceOverridePath '{path}'");
                    WriteInformation(new InformationRecord(
                        $"Price override file written: {path} ({overrides.Count} model(s)). Estimates do not change until you apply it: Set-FalConfiguration -PriceOverridePath '{path}'",
                        "Compare-FalPrice"));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    WriteError(ErrorRecords.Create(FalErrorIds.FileError, $"The price override file {path} could not be written: {ex.Message}", path, ex));
                }
            }
        }
        base.EndProcessing();
    }

    private static bool IsVideoFamily(string endpointId) =>
        endpointId.StartsWith("fal-ai/kling-video/", StringComparison.OrdinalIgnoreCase) || endpointId.StartsWith("fal-ai/minimax/", StringComparison.OrdinalIgnoreCase);

    private static FalPriceComparison Compare(VideoModel model, string mode, string endpointId, FalPrice? fal)
    {
        var row = new FalPriceComparison
        {
            Model = model.Name, Mode = mode, EndpointId = endpointId, CatalogPrice = model.PriceSummary, PriceSource = model.PriceSource,
            PriceDate = model.PriceDate, FalUnitPriceUsd = fal?.UnitPrice, Unit = fal?.CatalogUnit,
        };
        if (fal is null)
            return row.With(model.Prices.Length == 0 ? "Unpriced" : "NotConfirmed",
                model.Prices.Length == 0 ? "neither the catalog nor fal has a price" : "fal's pricing API lists no price for this endpoint");
        if (model.Prices.Length == 0) return row.With("New", "fal prices an endpoint the catalog has no price for");
        var match = model.Prices.FirstOrDefault(r => Amount(r, fal.CatalogUnit) == fal.UnitPrice);
        if (match is not null)
            return row.With("Confirmed", match.When.Count == 0 ? "matches the catalog price" : $"matches the catalog tier {Tier(match)}", Amount(match, fal.CatalogUnit));
        var base0 = BaseRule(model);
        return row.With("Changed", $"fal gives ${fal.UnitPrice.ToString(CultureInfo.InvariantCulture)}/{fal.CatalogUnit}; the catalog's base tier is {Describe(base0)}",
            Amount(base0, Unit(base0)));
    }

    private static decimal? Amount(PriceRule rule, string? unit) => unit == "second" ? rule.UsdPerSecond : unit == "video" ? rule.UsdPerVideo : null;

    private static string Unit(PriceRule rule) => rule.UsdPerSecond is not null ? "second" : "video";

    /// <summary>The tier fal's single price is taken to be: the rule with the fewest conditions, the first of those.</summary>
    private static PriceRule BaseRule(VideoModel model) => model.Prices.OrderBy(r => r.When.Count).First();

    private static string Tier(PriceRule rule) => string.Join(" ", rule.When.Select(c => $"{c.Key}={c.Value}"));

    private static string Describe(PriceRule rule) =>
        $"${Amount(rule, Unit(rule))?.ToString(CultureInfo.InvariantCulture)}/{Unit(rule)}" + (rule.When.Count > 0 ? $" ({Tier(rule)})" : "");

    /// <summary>The override file: per model with a Changed or New endpoint, its rules with fal's price in place of the
    /// base tier (or as the only rule when the catalog had none), and the source and date of fal's price.</summary>
    private static JsonObject Overrides(IEnumerable<VideoModel> models, List<FalPriceComparison> rows, Uri platform)
    {
        var file = new JsonObject();
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (var model in models)
        {
            var changed = rows.Where(r => r.Model == model.Name && r.Status is "Changed" or "New" && r.FalUnitPriceUsd is not null && r.Unit is "second" or "video").ToList();
            if (changed.Count == 0) continue;
            var fal = changed[0];
            var disagree = changed.Select(r => r.FalUnitPriceUsd).Distinct().Count() > 1;
            var rules = new JsonArray();
            var baseRule = model.Prices.Length == 0 ? null : BaseRule(model);
            if (baseRule is null)
                rules.Add(Rule(new Dictionary<string, JsonElement>(), fal.Unit!, fal.FalUnitPriceUsd!.Value));
            foreach (var rule in model.Prices)
                rules.Add(ReferenceEquals(rule, baseRule) ? Rule(rule.When, fal.Unit!, fal.FalUnitPriceUsd!.Value) : Rule(rule.When, Unit(rule), Amount(rule, Unit(rule))!.Value));
            file[model.Name] = new JsonObject
            {
                ["prices"] = rules,
                ["priceSource"] = $"fal pricing API ({new Uri(platform, "models/pricing").GetLeftPart(UriPartial.Path)}), {fal.EndpointId}" +
                                  (model.Prices.Length > 1 ? "; other tiers from the shipped catalog" : "") +
                                  (disagree ? $"; fal's endpoints disagree ({string.Join(", ", changed.Select(r => $"{r.EndpointId} ${r.FalUnitPriceUsd}"))}), review" : ""),
                ["priceDate"] = today,
            };
        }
        return file;
    }

    private static JsonObject Rule(Dictionary<string, JsonElement> when, string unit, decimal amount)
    {
        var conditions = new JsonObject();
        foreach (var (key, value) in when) conditions[key] = JsonNode.Parse(value.GetRawText());
        return new JsonObject { ["when"] = conditions, [unit == "second" ? "usdPerSecond" : "usdPerVideo"] = amount };
    }
}

/// <summary>
/// One endpoint of <c>Compare-FalPrice</c>: the catalog's price beside fal's pricing API (GET /v1/models/pricing).
/// Amounts in USD per <see cref="Unit"/>.
/// </summary>
public sealed class FalPriceComparison
{
    /// <summary><c>Confirmed</c>, <c>Changed</c>, <c>NotConfirmed</c>, <c>New</c>, <c>Unpriced</c> or <c>NotInCatalog</c>.</summary>
    public string Status { get; init; } = "";
    /// <summary>Catalog model name; null for an endpoint the catalog lacks.</summary>
    public string? Model { get; init; }
    /// <summary>The model's mode for this endpoint.</summary>
    public string? Mode { get; init; }
    /// <summary>fal endpoint id.</summary>
    public string EndpointId { get; init; } = "";
    /// <summary>The catalog's matching (Confirmed) or base (Changed) price per <see cref="Unit"/>.</summary>
    public decimal? CatalogUnitPriceUsd { get; init; }
    /// <summary>fal's unit price, or null when fal lists none.</summary>
    public decimal? FalUnitPriceUsd { get; init; }
    /// <summary><c>second</c> or <c>video</c> (fal's unit in the catalog's words).</summary>
    public string? Unit { get; init; }
    /// <summary>All of the catalog's prices for the model, in words.</summary>
    public string? CatalogPrice { get; init; }
    /// <summary>Where the catalog's price comes from (a fal page, an article, or an applied override file).</summary>
    public string? PriceSource { get; init; }
    /// <summary>When the catalog's price was published.</summary>
    public string? PriceDate { get; init; }
    /// <summary>The comparison in words.</summary>
    public string? Note { get; init; }

    internal FalPriceComparison With(string status, string note, decimal? catalogUnitPrice = null) => new()
    {
        Status = status, Model = Model, Mode = Mode, EndpointId = EndpointId, CatalogUnitPriceUsd = catalogUnitPrice, FalUnitPriceUsd = FalUnitPriceUsd,
        Unit = Unit, CatalogPrice = CatalogPrice, PriceSource = PriceSource, PriceDate = PriceDate, Note = note,
    };
}
