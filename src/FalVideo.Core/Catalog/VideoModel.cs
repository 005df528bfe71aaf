using System.Text.Json.Serialization;

namespace FalVideo.Catalog;

/// <summary>Generation modes a catalog model can offer; the keys of <see cref="VideoModel.Endpoints"/>.</summary>
public static class VideoModes
{
    /// <summary>Prompt only.</summary>
    public const string TextToVideo = "text-to-video";
    /// <summary>A start image (and optionally an end image) animated by a prompt.</summary>
    public const string ImageToVideo = "image-to-video";
    /// <summary>A character image moved like a reference video (Kling motion control); the output follows the video's length.</summary>
    public const string MotionControl = "motion-control";
}

/// <summary>
/// One video model the module knows: its fal endpoint ids per mode, what it accepts, and how it is priced.
/// Loaded from the shipped price catalog (<c>Catalog/models.json</c>, built from shared fal/MODELS.md).
/// </summary>
public sealed class VideoModel
{
    /// <summary>Short name used by cmdlets and CSV files, following fal's endpoint id, e.g. <c>kling-v3-pro</c> for
    /// <c>fal-ai/kling-video/v3/pro/...</c>, <c>kling-v2.5-turbo-pro</c> for <c>fal-ai/kling-video/v2.5-turbo/pro/...</c>.</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    /// <summary>Earlier short names that still resolve to this model (e.g. <c>kling-2.5-turbo-pro</c>); empty when none.</summary>
    // Init-only properties missing from the JSON are set to null by the generated reader: kept empty instead.
    [JsonPropertyName("aliases")] public string[] Aliases { get => _aliases; init => _aliases = value ?? []; }
    private readonly string[] _aliases = [];
    /// <summary>Model family: <c>Kling</c>, <c>Hailuo</c> or <c>Sora</c>.</summary>
    [JsonPropertyName("family")] public string Family { get; init; } = "";
    /// <summary><c>active</c>, or <c>retired</c> when fal no longer serves it (still priced for comparisons).</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = "active";
    /// <summary>Why and when the model was retired; null for active models.</summary>
    [JsonPropertyName("retiredNote")] public string? RetiredNote { get; init; }
    /// <summary>fal endpoint id per mode (<see cref="VideoModes"/>).</summary>
    [JsonPropertyName("endpoints")] public Dictionary<string, string> Endpoints { get; init; } = new();
    /// <summary>Allowed output durations in seconds; empty when the model picks the length itself.</summary>
    [JsonPropertyName("durations")] public int[] Durations { get; init; } = [];
    /// <summary>Duration in seconds fal uses when none is sent; null when the model has no duration input.</summary>
    [JsonPropertyName("defaultDuration")] public int? DefaultDuration { get; init; }
    /// <summary>Allowed aspect ratios for text-to-video; empty when the endpoint has no such input.</summary>
    [JsonPropertyName("aspectRatios")] public string[] AspectRatios { get; init; } = [];
    /// <summary>Selectable output resolutions (priced differently); empty when fixed.</summary>
    [JsonPropertyName("resolutions")] public string[] Resolutions { get; init; } = [];
    /// <summary>Default (or only) output resolution, e.g. <c>1080p</c>.</summary>
    [JsonPropertyName("resolution")] public string? Resolution { get; init; }
    /// <summary>True when the model can generate an audio track.</summary>
    [JsonPropertyName("audio")] public bool SupportsAudio { get; init; }
    /// <summary>fal's default for <c>generate_audio</c> when it is not sent.</summary>
    [JsonPropertyName("defaultAudio")] public bool DefaultAudio { get; init; }
    /// <summary>Optional fal input fields the model takes besides prompt and images, e.g. <c>duration</c>, <c>generate_audio</c>.</summary>
    [JsonPropertyName("inputs")] public string[] Inputs { get; init; } = [];
    /// <summary>Input field for the start image in image-to-video (<c>start_image_url</c> on Kling v3, <c>image_url</c> elsewhere).</summary>
    [JsonPropertyName("imageInput")] public string? ImageInput { get; init; }
    /// <summary>Input field for the end image, or null when the model takes none.</summary>
    [JsonPropertyName("endImageInput")] public string? EndImageInput { get; init; }
    /// <summary>True when image-to-video needs a prompt too (text-to-video always does).</summary>
    [JsonPropertyName("promptRequiredForImage")] public bool PromptRequiredForImage { get; init; }
    /// <summary>Longest prompt in characters the module sends; null when unlimited.</summary>
    [JsonPropertyName("maxPromptLength")] public int? MaxPromptLength { get; init; }
    /// <summary>True when the model takes several shots in one request (<c>multi_prompt</c>).</summary>
    [JsonPropertyName("multiShot")] public bool MultiShot { get; init; }
    /// <summary>True when image-to-video takes <c>elements</c> (subjects referenced as @Element1…).</summary>
    [JsonPropertyName("elements")] public bool SupportsElements { get; init; }
    /// <summary>True when elements can carry a <c>voice_id</c> (voice control, priced higher).</summary>
    [JsonPropertyName("voice")] public bool SupportsVoice { get; init; }
    /// <summary>True when the model takes <c>shot_type</c> (customize / intelligent).</summary>
    [JsonPropertyName("shotType")] public bool SupportsShotType { get; init; }
    /// <summary>Most shots one multi-shot request takes (Kling v3 Turbo: 6, fal-js); null when only the total length limits them.</summary>
    [JsonPropertyName("maxShots")] public int? MaxShots { get; init; }
    /// <summary>
    /// Set when the output length is not chosen but follows an input video (motion control, video-to-video edit, lip-sync):
    /// which input, and the limits fal documents. Null for models with a duration input or a model-chosen length.
    /// </summary>
    [JsonPropertyName("lengthFromVideo")] public LengthFromVideo? LengthFromVideo { get; init; }

    /// <summary>Price rules in USD; empty when no price is published.</summary>
    [JsonPropertyName("prices")] public PriceRule[] Prices { get; init; } = [];
    /// <summary>Where the prices come from (fal page, seed article).</summary>
    [JsonPropertyName("priceSource")] public string? PriceSource { get; init; }
    /// <summary>Date of the published prices, ISO 8601 (day or month precision).</summary>
    [JsonPropertyName("priceDate")] public string? PriceDate { get; init; }
    /// <summary>Where fal's own pages disagree (or a price is left unknown on purpose): both sources, and which one the estimate uses and why.</summary>
    [JsonPropertyName("priceNote")] public string? PriceNote { get; init; }

    /// <summary>The modes the model offers, e.g. <c>text-to-video</c>, <c>image-to-video</c>, <c>motion-control</c>.</summary>
    [JsonIgnore] public string[] Modes => Endpoints.Keys.ToArray();

    /// <summary>The endpoint ids, in mode order.</summary>
    [JsonIgnore] public string[] EndpointIds => Endpoints.Values.ToArray();

    /// <summary>
    /// What the model can do, as the words <c>-Require</c> takes: its modes, <c>audio</c>, <c>multi-shot</c>,
    /// <c>elements</c>, <c>voice</c>, <c>end-image</c>, and its resolution (<c>720p</c>, <c>768p</c>, <c>1080p</c>, <c>4k</c>).
    /// </summary>
    [JsonIgnore]
    public string[] Features
    {
        get
        {
            var list = new List<string>(Modes);
            if (SupportsAudio) list.Add("audio");
            if (MultiShot) list.Add("multi-shot");
            if (SupportsElements) list.Add("elements");
            if (SupportsVoice) list.Add("voice");
            if (EndImageInput is not null) list.Add("end-image");
            if (Resolution is not null) list.Add(Resolution.ToLowerInvariant());
            return list.ToArray();
        }
    }

    /// <summary>Output height in pixels for comparisons (4k = 2160); 0 when unknown.</summary>
    [JsonIgnore]
    public int ResolutionLines => (Resolution ?? "").ToLowerInvariant() switch
    {
        "4k" => 2160, "1080p" or "true_1080p" => 1080, "768p" => 768, "720p" => 720, "512p" => 512, _ => 0,
    };

    /// <summary>The price rules in words, e.g. <c>$0.112/s audio off; $0.168/s audio on</c>; "price unknown" when fal publishes none.</summary>
    [JsonIgnore]
    public string PriceSummary => Prices.Length == 0
        ? UnknownPrice
        : string.Join("; ", Prices.Select(p =>
        {
            var amount = p.UsdPerSecond is { } s ? $"${s.ToString(System.Globalization.CultureInfo.InvariantCulture)}/s"
                : $"${p.UsdPerVideo?.ToString(System.Globalization.CultureInfo.InvariantCulture)}/video";
            var when = string.Join(" ", p.When.Select(c => c.Value.ValueKind switch
            {
                System.Text.Json.JsonValueKind.True => c.Key + " on",
                System.Text.Json.JsonValueKind.False => c.Key + " off",
                System.Text.Json.JsonValueKind.Number when c.Key == "duration" => $"{c.Value} s",
                System.Text.Json.JsonValueKind.String when c.Key == "mode" => $"({c.Value})",
                _ => c.Value.ToString(),
            }));
            return when.Length == 0 ? amount : $"{amount} {when}";
        }));

    /// <summary>
    /// The lowest published rate, short enough for an 80-column table: <c>$0.112/s+</c> (a trailing <c>+</c> when other
    /// tiers cost more, e.g. with audio; see <see cref="PriceSummary"/>), <c>$0.49/video</c>, or <c>unknown</c> when fal
    /// publishes no price. Per-second rates are listed before per-video ones.
    /// </summary>
    [JsonIgnore]
    public string PriceFrom
    {
        get
        {
            if (Prices.Length == 0) return "unknown";
            var lowest = Prices
                .Select(p => p.UsdPerSecond is { } s ? (Order: 0, Amount: s, Text: "/s") : (Order: 1, Amount: p.UsdPerVideo ?? 0m, Text: "/video"))
                .OrderBy(r => r.Order).ThenBy(r => r.Amount).First();
            var more = Prices.Length > 1 ? "+" : "";
            return $"${lowest.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}{lowest.Text}{more}";
        }
    }

    /// <summary>What an estimate says where fal publishes no price: never a guess.</summary>
    public const string UnknownPrice = "price unknown (fal publishes none)";

    /// <summary>True when fal no longer serves this model.</summary>
    [JsonIgnore] public bool IsRetired => string.Equals(Status, "retired", StringComparison.OrdinalIgnoreCase);

    /// <summary>True when the model takes the optional input field <paramref name="field"/>.</summary>
    public bool Accepts(string field) => Inputs.Contains(field, StringComparer.Ordinal);

    /// <summary>The endpoint id for <paramref name="mode"/>, or null when the model has no such mode.</summary>
    public string? EndpointFor(string mode) => Endpoints.TryGetValue(mode, out var id) ? id : null;

    /// <summary>The mode whose endpoint id is <paramref name="endpointId"/> (case-insensitive), or null.</summary>
    public string? ModeOf(string endpointId) =>
        Endpoints.FirstOrDefault(kv => string.Equals(kv.Value, endpointId, StringComparison.OrdinalIgnoreCase)).Key;

    /// <summary>A copy with other prices (price overrides).</summary>
    public VideoModel WithPrices(PriceRule[] prices, string source, string? date)
    {
        return new VideoModel
        {
            Name = Name, Aliases = Aliases, Family = Family, Status = Status, RetiredNote = RetiredNote, Endpoints = Endpoints, Durations = Durations,
            DefaultDuration = DefaultDuration, AspectRatios = AspectRatios, Resolutions = Resolutions, Resolution = Resolution,
            SupportsAudio = SupportsAudio, DefaultAudio = DefaultAudio, Inputs = Inputs, ImageInput = ImageInput,
            EndImageInput = EndImageInput, PromptRequiredForImage = PromptRequiredForImage, MaxPromptLength = MaxPromptLength,
            MultiShot = MultiShot, SupportsElements = SupportsElements, SupportsVoice = SupportsVoice, SupportsShotType = SupportsShotType,
            MaxShots = MaxShots, LengthFromVideo = LengthFromVideo,
            Prices = prices, PriceSource = source, PriceDate = date, PriceNote = PriceNote,
        };
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// How long the output of a model without a duration input is: as long as the input video <see cref="Input"/>, within
/// fal's documented limits (source in <see cref="Source"/>).
/// </summary>
public sealed class LengthFromVideo
{
    /// <summary>The input field carrying the video, e.g. <c>video_url</c>.</summary>
    [JsonPropertyName("input")] public string Input { get; init; } = "video_url";
    /// <summary>Shortest input video fal accepts, in seconds; null when fal documents none.</summary>
    [JsonPropertyName("minSeconds")] public int? MinSeconds { get; init; }
    /// <summary>
    /// Longest output in seconds, by <c>character_orientation</c> (motion control: image 10, video 30) or under the key
    /// <c>""</c> when it does not depend on it; empty when fal documents no limit.
    /// </summary>
    [JsonPropertyName("maxSeconds")] public Dictionary<string, int> MaxSeconds { get => _maxSeconds; init => _maxSeconds = value ?? new(); }
    private readonly Dictionary<string, int> _maxSeconds = new();
    /// <summary>Where the limits come from.</summary>
    [JsonPropertyName("source")] public string? Source { get; init; }

    /// <summary>The longest output for <paramref name="orientation"/> (or the overall limit); null when unknown.</summary>
    public int? MaxFor(string? orientation)
    {
        if (orientation is not null && MaxSeconds.TryGetValue(orientation.Trim().ToLowerInvariant(), out var byOrientation)) return byOrientation;
        if (MaxSeconds.TryGetValue("", out var any)) return any;
        return orientation is null && MaxSeconds.Count > 0 ? MaxSeconds.Values.Max() : null;
    }
}

/// <summary>
/// One price of a model: USD per second of output or per video, applying when every condition in
/// <see cref="When"/> holds. Conditions: <c>audio</c>, <c>voice</c>, <c>elements</c> (bool),
/// <c>duration</c> (seconds), <c>resolution</c> (string), <c>mode</c> (a <see cref="VideoModes"/> value, for models
/// whose endpoints are priced differently).
/// </summary>
public sealed class PriceRule
{
    /// <summary>A name for this one rule where a price is disputed (e.g. <c>kling-v3-pro/i2v-elements-audio-on</c>), so a
    /// report or an override can point at it; null for most rules.</summary>
    [JsonPropertyName("id")] public string? Id { get; init; }
    /// <summary>Seconds are billed in steps of this many, rounded up (Kling lip-sync: 5); null means whole seconds.</summary>
    [JsonPropertyName("billedSecondsStep")] public int? BilledSecondsStep { get; init; }
    /// <summary>Conditions; an empty object applies always.</summary>
    [JsonPropertyName("when")] public Dictionary<string, System.Text.Json.JsonElement> When { get; init; } = new();
    /// <summary>USD per second of output (Kling bills per second).</summary>
    [JsonPropertyName("usdPerSecond")] public decimal? UsdPerSecond { get; init; }
    /// <summary>USD per video, whatever its length (Hailuo 2.3 pro bills flat).</summary>
    [JsonPropertyName("usdPerVideo")] public decimal? UsdPerVideo { get; init; }
}
