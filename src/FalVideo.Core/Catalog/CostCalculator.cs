using System.Text.Json;

namespace FalVideo.Catalog;

/// <summary>What a cost estimate is asked for: one request to one model, repeated <see cref="Quantity"/> times.</summary>
public sealed class CostQuery
{
    /// <summary>Mode (<see cref="VideoModes"/>); prices depend on it only where a rule names a <c>mode</c> (Kling v3 Turbo standard).</summary>
    public string? Mode { get; init; }
    /// <summary>Requested duration in seconds; null means the model's default. For a model whose length follows an input
    /// video (<see cref="VideoModel.LengthFromVideo"/>): that video's length, rounded up to whole seconds, when known.</summary>
    public int? DurationSeconds { get; init; }
    /// <summary><c>character_orientation</c> of a motion-control request (<c>image</c> or <c>video</c>): it sets the
    /// longest output, which prices the request when the reference video's length is not known.</summary>
    public string? CharacterOrientation { get; init; }
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
    /// <summary>
    /// True when the output length was not known (it follows an input video whose length was not read) and the amounts are
    /// the most it can cost: <see cref="BilledSeconds"/> is then fal's longest output for the request.
    /// </summary>
    public bool IsUpperBound { get; init; }
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
        var upperBound = false;
        if (model.LengthFromVideo is { } follows && query.DurationSeconds is null)
        {
            // The output follows a video whose length is not known here: price the longest output fal allows.
            duration = follows.MaxFor(query.CharacterOrientation);
            upperBound = duration is not null;
        }
        var resolution = query.Resolution ?? model.Resolution;
        var facts = new Facts(audio, query.Voice, query.Elements, duration, resolution, query.Mode);

        var rule = model.Prices
            .Where(r => r.When.All(c => facts.Satisfies(c.Key, c.Value)))
            .OrderByDescending(r => r.When.Count)
            .FirstOrDefault();
        if (rule is null) return null;

        decimal perClip, unitPrice; string unit;
        if (rule.UsdPerSecond is { } perSecond)
        {
            if (duration is null) return null;
            // Billed in steps (lip-sync: 5 s), rounded up.
            if (rule.BilledSecondsStep is { } step && step > 1) duration = (duration.Value + step - 1) / step * step;
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
            IsUpperBound = upperBound,
            Unit = unit,
            UnitPriceUsd = unitPrice,
            CostPerClipUsd = perClip,
            TotalUsd = perClip * query.Quantity,
            GenerateAudio = audio,
            Resolution = resolution,
        };
    }

    private readonly record struct Facts(bool Audio, bool Voice, bool Elements, int? Duration, string? Resolution, string? Mode)
    {
        public bool Satisfies(string key, JsonElement expected) => key switch
        {
            "audio" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Audio,
            "voice" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Voice,
            "elements" => expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == Elements,
            "duration" => expected.ValueKind == JsonValueKind.Number && Duration == expected.GetInt32(),
            "resolution" => expected.ValueKind == JsonValueKind.String &&
                            string.Equals(expected.GetString(), Resolution, StringComparison.OrdinalIgnoreCase),
            "mode" => expected.ValueKind == JsonValueKind.String && string.Equals(expected.GetString(), Mode, StringComparison.OrdinalIgnoreCase),
            _ => false, // an unknown condition never matches: better no estimate than a wrong one
        };
    }
}
