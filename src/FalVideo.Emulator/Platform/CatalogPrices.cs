using System.Globalization;
using System.Text.Json.Nodes;

namespace FalVideo.Emulator.Platform;

/// <summary>
/// The prices the emulator's platform routes answer with, read from the module's own price catalog
/// (<c>src/FalVideo.Core/Catalog/models.json</c>, embedded at build time) so tests can compare the module's estimates with
/// what the emulated fal says and bills. Tests may change what the pricing API reports for an endpoint
/// (<see cref="SetReported"/>), as fal changes its prices, without touching the catalog.
/// </summary>
internal sealed class CatalogPrices
{
    private readonly Dictionary<string, Model> _byEndpoint = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ReportedPrice?> _reported = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <summary>One price as fal's pricing API reports it: USD per <see cref="Unit"/> (<c>second</c> or <c>video</c>).</summary>
    public sealed record ReportedPrice(decimal UnitPrice, string Unit);

    private sealed record Rule(Dictionary<string, JsonNode?> When, decimal? PerSecond, decimal? PerVideo);

    private sealed record Model(string Name, int? DefaultDuration, bool DefaultAudio, string? Resolution, Rule[] Rules);

    public CatalogPrices(string catalogJson)
    {
        var root = JsonNode.Parse(catalogJson)!.AsObject();
        foreach (var node in root["models"]!.AsArray())
        {
            var m = node!.AsObject();
            var rules = (m["prices"]?.AsArray() ?? []).Select(p => new Rule(
                p!["when"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone()) ?? new(),
                p["usdPerSecond"]?.GetValue<decimal>(), p["usdPerVideo"]?.GetValue<decimal>())).ToArray();
            var model = new Model(m["name"]!.GetValue<string>(), m["defaultDuration"]?.GetValue<int>(),
                m["defaultAudio"]?.GetValue<bool>() ?? false, m["resolution"]?.GetValue<string>(), rules);
            foreach (var endpoint in m["endpoints"]!.AsObject())
                _byEndpoint[endpoint.Value!.GetValue<string>()] = model;
        }
    }

    /// <summary>The text of the catalog shipped with the module, as embedded in the emulator (each emulator gets its own
    /// <see cref="CatalogPrices"/>, so one test's price changes stay in its emulator).</summary>
    public static string EmbeddedJson { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(CatalogPrices).Assembly.GetManifestResourceStream("FalVideo.Emulator.models.json")
            ?? throw new InvalidOperationException("The price catalog resource is missing from the emulator.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Every endpoint id that has a price to report, in ordinal order.</summary>
    public IReadOnlyList<string> PricedEndpoints()
    {
        lock (_gate)
            return _byEndpoint.Keys.Concat(_reported.Keys).Distinct(StringComparer.OrdinalIgnoreCase)
                .Where(id => Reported(id) is not null).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>What the pricing API says for <paramref name="endpointId"/>: a test's setting, else the catalog's base
    /// price (the rule with the fewest conditions, audio off first); null when there is none.</summary>
    public ReportedPrice? Reported(string endpointId)
    {
        lock (_gate)
            if (_reported.TryGetValue(endpointId, out var set)) return set;
        if (!_byEndpoint.TryGetValue(endpointId, out var model) || model.Rules.Length == 0) return null;
        var rule = model.Rules.OrderBy(r => r.When.Count).First();
        return rule.PerSecond is { } s ? new ReportedPrice(s, "second") : new ReportedPrice(rule.PerVideo!.Value, "video");
    }

    /// <summary>Makes the pricing API report <paramref name="price"/> for the endpoint (null: no price at all).</summary>
    public void SetReported(string endpointId, ReportedPrice? price)
    {
        lock (_gate) _reported[endpointId] = price;
    }

    /// <summary>Forgets the test settings.</summary>
    public void Reset()
    {
        lock (_gate) _reported.Clear();
    }

    /// <summary>
    /// What fal bills a successful job on <paramref name="endpointId"/> with <paramref name="inputJson"/>: the units
    /// (seconds of video for a per-second price: the <c>duration</c> input, or the sum of a <c>multi_prompt</c>'s shot
    /// durations; 1 for a per-video price) and the unit price of the most specific catalog rule the input satisfies.
    /// Null when the endpoint has no price.
    /// </summary>
    public (decimal Units, decimal UnitPrice, string Unit)? Billing(string endpointId, string inputJson)
    {
        if (!_byEndpoint.TryGetValue(endpointId, out var model)) return null;
        var input = (JsonNode.Parse(inputJson) as JsonObject) ?? new JsonObject();
        var seconds = Seconds(input, model.DefaultDuration);
        var audio = input["generate_audio"] is JsonValue a && a.TryGetValue<bool>(out var on) ? on : model.DefaultAudio;
        var list = input["elements"] as JsonArray;
        var elements = list is { Count: > 0 };
        var voice = (list?.Any(e => e?["voice_id"] is not null) ?? false) || input["voice_ids"] is JsonArray { Count: > 0 };
        var resolution = input["resolution"]?.GetValue<string>() ?? model.Resolution;
        bool Holds(KeyValuePair<string, JsonNode?> c) => c.Key switch
        {
            "audio" => c.Value?.GetValue<bool>() == audio,
            "voice" => c.Value?.GetValue<bool>() == voice,
            "elements" => c.Value?.GetValue<bool>() == elements,
            "duration" => c.Value?.GetValue<int>() == seconds,
            "resolution" => string.Equals(c.Value?.GetValue<string>(), resolution, StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
        var rule = model.Rules.Where(r => r.When.All(Holds)).OrderByDescending(r => r.When.Count).FirstOrDefault();
        lock (_gate)
        {
            // A price a test set for the endpoint is what fal now bills.
            if (_reported.TryGetValue(endpointId, out var set))
                return set is null ? null : set.Unit == "second" ? (seconds ?? 0, set.UnitPrice, "second") : (1, set.UnitPrice, "video");
        }
        if (rule is null) return null;
        if (rule.PerSecond is { } perSecond) return seconds is { } s ? (s, perSecond, "second") : null;
        return (1, rule.PerVideo!.Value, "video");
    }

    /// <summary>The <c>x-fal-billable-units</c> value of a successful job's result fetch: seconds of video for an endpoint
    /// priced per second; null (no header) for flat-priced or unpriced endpoints.</summary>
    public string? BillableUnitsHeader(string endpointId, string inputJson) =>
        Billing(endpointId, inputJson) is { Unit: "second" } b ? b.Units.ToString(CultureInfo.InvariantCulture) : null;

    private static int? Seconds(JsonObject input, int? defaultDuration)
    {
        if (input["multi_prompt"] is JsonArray { Count: > 0 } shots)
            return shots.Sum(s => ParseSeconds(s?["duration"]) ?? 5);
        return ParseSeconds(input["duration"]) ?? defaultDuration;
    }

    private static int? ParseSeconds(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
        JsonValue v when v.TryGetValue<int>(out var n) => n,
        _ => null,
    };
}
