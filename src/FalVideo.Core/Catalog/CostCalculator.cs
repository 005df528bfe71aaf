using System.Text.Json;

namespace FalVideo.Catalog;

/// <summary>What a cost estimate is asked for: one request to one model, repeated <see cref="Quantity"/> times.</summary>
public sealed class CostQuery
{
    /// <summary>Mode (<see cref="VideoModes"/>); only informs the result, prices do not depend on it.</summary>
    public string? Mode { get; init; }
    /// <summary>Requested duration in seconds; null means the model's default.</summary>
    public int? DurationSeconds { get; init; }
    /// <summary>Audio on or off; null means the model's default (what fal does when the field is not sent).</summary>
    public bool? GenerateAudio { get; init; }
    /// <summary>Voice control requested (Kling v3).</summary>
    public bool Voice { get; init; }
    /// <summary>Elements (reference subjects) used (Kling v3 image-to-video).</summary>
    public bool Elements { get; init; }
    /// <summary>Output resolution where it is priced (Hailuo 02, Sora 2); null means the model's default.</summary>
    public string? Resolution { get; init; }
    /// <summary>Number of identical clips; at least 1.</summary>
    public int Quantity { get; init; } = 1;
}

/// <summary>The priced answer for one <see cref="CostQuery"/>.</summary>
public sealed class CostBreakdown
{
    /// <summary>Seconds billed per clip; null for flat-priced models whose length the model picks.</summary>
    public int? BilledSeconds { get; init; }
    /// <summary>The price unit: <c>second</c> or <c>video</c>.</summary>
    public string Unit { get; init; } = "";
    /// <summary>USD per unit.</summary>
    public decimal UnitPriceUsd { get; init; }
    /// <summary>USD for one clip.</summary>
    public decimal CostPerClipUsd { get; init; }
    /// <summary>USD for all clips (<see cref="CostQuery.Quantity"/> × per clip).</summary>
    public decimal TotalUsd { get; init; }
    /// <summary>Audio setting the price assumed.</summary>
    public bool GenerateAudio { get; init; }
    /// <summary>Resolution the price assumed, if any.</summary>
    public string? Resolution { get; init; }
}

/// <summary>
/// Prices requests from the catalog's rules. Billing rules (shared fal/MODELS.md): Kling bills per
/// second of output, a multi-shot request bills the total of its shots; Hailuo 2.3 pro bills a flat rate
/// whatever length the model picks; 5xx failures are never billed.
/// </summary>
public static class CostCalculator
{
    /// <summary>Prices <paramref name="query"/> for <paramref name="model"/>.</summary>
    /// <returns>The breakdown, or null when the model has no published price for these settings.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Quantity below 1.</exception>
    public static CostBreakdown? Estimate(VideoModel model, CostQuery query)
    {
        if (query.Quantity < 1) throw new ArgumentOutOfRangeException(nameof(query), "Quantity must be at least 1.");
        var audio = model.SupportsAudio && (query.GenerateAudio ?? model.DefaultAudio);
        var duration = query.DurationSeconds ?? model.DefaultDuration;
        var resolution = query.Resolution ?? model.Resolution;
        var facts = new Facts(audio, query.Voice, query.Elements, duration, resolution);

        var rule = model.Prices
            .Where(r => r.When.All(c => facts.Satisfies(c.Key, c.Value)))
            .OrderByDescending(r => r.When.Count)
            .FirstOrDefault();
        if (rule is null) return null;

        decimal perClip, unitPrice; string unit;
        if (rule.UsdPerSecond is { } perSecond)
        {
            if (duration is null) return null;
            unitPrice = perSecond; unit = "second"; perClip = perSecond * duration.Value;
        }
        else if (rule.UsdPerVideo is { } perVideo)
        {
            unitPrice = perVideo; unit = "video"; perClip = perVideo;
        }
        else return null;

        return new CostBreakdown
        {
            BilledSeconds = unit == "second" || model.Durations.Length > 0 ? duration : null,
            Unit = unit,
            UnitPriceUsd = unitPrice,
            CostPerClipUsd = perClip,
            TotalUsd = perClip * query.Quantity,
            GenerateAudio = audio,
            Resolution = resolution,
        };
    }

    private readonly record struct Facts(bool Audio, bool Voice, bool Elements, int? Duration, string? Resolution)
    {
        public bool Satisfies(string key, JsonElement expected) => key switch
        {
            "audio" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Audio,
            "voice" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Voice,
            "elements" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Elements,
            "duration" => expected.ValueKind == JsonValueKind.Number && Duration == expected.GetInt32(),
            "resolution" => expected.ValueKind == JsonValueKind.String &&
                            string.Equals(expected.GetString(), Resolution, StringComparison.OrdinalIgnoreCase),
            _ => false, // an unknown condition never matches: better no estimate than a wrong one
        };
    }
}
