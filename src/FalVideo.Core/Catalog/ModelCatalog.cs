using System.Text.Json;
using System.Text.Json.Serialization;

namespace FalVideo.Catalog;

/// <summary>
/// The video models the module knows, loaded from the price catalog shipped inside the assembly
/// (<c>Catalog/models.json</c>). Look-ups accept a short name (<c>kling-v3-pro</c>), an earlier short name kept as an
/// alias (<c>kling-2.5-turbo-pro</c>), or a full endpoint id (<c>fal-ai/kling-video/v3/pro/text-to-video</c>), case-insensitively.
/// </summary>
public sealed class ModelCatalog
{
    private static readonly Lazy<ModelCatalog> s_default = new(LoadEmbedded);
    private readonly Dictionary<string, VideoModel> _byName;
    private readonly Dictionary<string, VideoModel> _byEndpoint;

    /// <summary>Creates a catalog over <paramref name="models"/>.</summary>
    /// <exception cref="ArgumentException">Two models share a name or an endpoint id.</exception>
    public ModelCatalog(IEnumerable<VideoModel> models, string version)
    {
        Models = models.ToArray();
        Version = version;
        _byName = new(StringComparer.OrdinalIgnoreCase);
        _byEndpoint = new(StringComparer.OrdinalIgnoreCase);
        foreach (var m in Models)
        {
            if (!_byName.TryAdd(m.Name, m)) throw new ArgumentException($"Model '{m.Name}' appears twice in the catalog.");
            foreach (var alias in m.Aliases)
                if (!_byName.TryAdd(alias, m)) throw new ArgumentException($"Alias '{alias}' of '{m.Name}' names another catalog model too.");
            foreach (var id in m.Endpoints.Values)
                if (!_byEndpoint.TryAdd(id, m)) throw new ArgumentException($"Endpoint '{id}' appears twice in the catalog.");
        }
    }

    /// <summary>The catalog shipped with the module.</summary>
    public static ModelCatalog Default => s_default.Value;

    /// <summary>Every known model, in catalog order.</summary>
    public IReadOnlyList<VideoModel> Models { get; }

    /// <summary>Version (date) of the catalog data.</summary>
    public string Version { get; }

    /// <summary>
    /// Finds a model by short name or endpoint id. When an endpoint id is given, <paramref name="mode"/>
    /// is the mode it belongs to; for a short name it is null (the caller picks the mode).
    /// </summary>
    public VideoModel? Find(string? nameOrEndpointId, out string? mode)
    {
        mode = null;
        if (string.IsNullOrWhiteSpace(nameOrEndpointId)) return null;
        var key = nameOrEndpointId.Trim();
        if (_byName.TryGetValue(key, out var model)) return model;
        if (_byEndpoint.TryGetValue(key, out model)) { mode = model.ModeOf(key); return model; }
        return null;
    }

    /// <summary>Finds a model by short name or endpoint id; null when unknown.</summary>
    public VideoModel? Find(string? nameOrEndpointId) => Find(nameOrEndpointId, out _);

    /// <summary>Models of one family (<c>Kling</c>, <c>Hailuo</c>, <c>Sora</c>).</summary>
    public IEnumerable<VideoModel> OfFamily(string family) =>
        Models.Where(m => string.Equals(m.Family, family, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses catalog JSON (the shape of <c>Catalog/models.json</c>).</summary>
    /// <exception cref="JsonException">The text is not a valid catalog.</exception>
    public static ModelCatalog Parse(string json)
    {
        var doc = JsonSerializer.Deserialize(json, CatalogJsonContext.Default.CatalogFile) ?? throw new JsonException("Empty price catalog.");
        return new ModelCatalog(doc.Models, doc.CatalogVersion ?? "unknown");
    }

    /// <summary>
    /// A copy of this catalog with some models' prices replaced, e.g. an account's discounts. The override
    /// JSON maps model names to <c>{"prices": [...rules as in models.json...], "priceSource": "...", "priceDate": "..."}</c>.
    /// </summary>
    /// <exception cref="JsonException">The override is not valid JSON of that shape.</exception>
    /// <exception cref="ArgumentException">It names a model the catalog does not have.</exception>
    public ModelCatalog WithPriceOverrides(string json)
    {
        var overrides = JsonSerializer.Deserialize(json, CatalogJsonContext.Default.DictionaryStringPriceOverride)
            ?? throw new JsonException("The price override file is empty.");
        var byName = new Dictionary<string, PriceOverride>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in overrides)
        {
            // An override may name a model by an alias (an earlier short name): it applies to the model the alias names.
            if (!_byName.TryGetValue(entry.Key, out var named)) throw new ArgumentException($"The price override names '{entry.Key}', which is not a catalog model.");
            byName[named.Name] = entry.Value;
        }
        var models = Models.Select(m => byName.TryGetValue(m.Name, out var o)
            ? m.WithPrices(o.Prices ?? [], o.PriceSource ?? "price override file", o.PriceDate)
            : m);
        return new ModelCatalog(models, Version + "+overrides");
    }

    internal sealed class PriceOverride
    {
        [JsonPropertyName("prices")] public PriceRule[]? Prices { get; init; }
        [JsonPropertyName("priceSource")] public string? PriceSource { get; init; }
        [JsonPropertyName("priceDate")] public string? PriceDate { get; init; }
    }

    private static ModelCatalog LoadEmbedded()
    {
        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream("FalVideo.Catalog.models.json")
            ?? throw new InvalidOperationException("The price catalog resource is missing from FalVideo.Core.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    internal sealed class CatalogFile
    {
        [JsonPropertyName("catalogVersion")] public string? CatalogVersion { get; init; }
        [JsonPropertyName("models")] public List<VideoModel> Models { get; init; } = new();
    }
}

/// <summary>The catalog's and the price overrides' JSON shapes, generated at compile time (no reflection at import).</summary>
[JsonSerializable(typeof(ModelCatalog.CatalogFile))]
[JsonSerializable(typeof(Dictionary<string, ModelCatalog.PriceOverride>))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
