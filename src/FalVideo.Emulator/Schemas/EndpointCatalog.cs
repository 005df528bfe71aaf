using System.Text.Json;
using System.Text.Json.Serialization;

namespace FalVideo.Emulator.Schemas;

/// <summary>
/// The endpoints the emulator accepts, read from the embedded <c>endpoints.json</c> (one entry per endpoint id
/// of MODELS.md, field facts from fal-js 1.10.1 <c>types/endpoints.d.ts</c>). References and <c>like</c> entries
/// are resolved once at load, and the file is checked so a typo in it fails loudly instead of accepting anything.
/// </summary>
internal sealed class EndpointCatalog
{
    private static readonly string[] KnownTypes = ["string", "boolean", "number", "integer", "array", "object"];
    private static readonly Lazy<EndpointCatalog> EmbeddedCatalog = new(LoadEmbedded);

    private readonly Dictionary<string, FieldSchema> inputs;
    private readonly List<string> retiredPrefixes;

    private EndpointCatalog(Dictionary<string, FieldSchema> inputs, List<string> retiredPrefixes)
    {
        this.inputs = inputs;
        this.retiredPrefixes = retiredPrefixes;
    }

    public static EndpointCatalog Embedded => EmbeddedCatalog.Value;

    public IReadOnlyCollection<string> EndpointIds => inputs.Keys;

    /// <summary>The input schema of a live endpoint; null for unknown and retired ones (fal answers 404 for both).</summary>
    public FieldSchema? InputOf(string endpointId) =>
        retiredPrefixes.Any(p => endpointId.StartsWith(p, StringComparison.Ordinal)) ? null
        : inputs.GetValueOrDefault(endpointId);

    private static EndpointCatalog LoadEmbedded()
    {
        using var stream = typeof(EndpointCatalog).Assembly.GetManifestResourceStream("FalVideo.Emulator.endpoints.json")
            ?? throw new InvalidOperationException("The embedded endpoints.json is missing from the emulator assembly.");
        var file = JsonSerializer.Deserialize<CatalogFile>(stream, new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            ReadCommentHandling = JsonCommentHandling.Skip,
        }) ?? throw new InvalidDataException("endpoints.json is empty.");
        return FromFile(file);
    }

    private static EndpointCatalog FromFile(CatalogFile file)
    {
        var definitions = file.Definitions;
        var resolvedInputs = new Dictionary<string, FieldSchema>(StringComparer.Ordinal);
        foreach (var (id, entry) in file.Endpoints)
        {
            if (EndpointId.Parse(id) is null) throw new InvalidDataException($"endpoints.json: '{id}' is not an endpoint id.");
            resolvedInputs[id] = entry switch
            {
                { Like: { } like, Input: null } => file.Endpoints.TryGetValue(like, out var model) && model.Input is { } input
                    ? input
                    : throw new InvalidDataException($"endpoints.json: '{id}' is like '{like}', which has no input of its own."),
                { Like: null, Input: { } own } => own,
                _ => throw new InvalidDataException($"endpoints.json: '{id}' needs exactly one of 'input' and 'like'."),
            };
        }
        foreach (var (id, input) in resolvedInputs.ToArray())
            resolvedInputs[id] = Resolve(input, definitions, id, 0);
        return new EndpointCatalog(resolvedInputs, file.Retired.Select(r => r.Prefix).ToList());
    }

    private static FieldSchema Resolve(FieldSchema node, Dictionary<string, FieldSchema> definitions, string where, int depth)
    {
        if (depth > 20) throw new InvalidDataException($"endpoints.json: references nest too deep at {where}.");
        if (node.Ref is { } name)
        {
            if (!definitions.TryGetValue(name, out var definition))
                throw new InvalidDataException($"endpoints.json: {where} refers to unknown definition '{name}'.");
            var resolved = Resolve(definition, definitions, $"{where} -> {name}", depth + 1);
            // A reference can make a shared definition required, never the reverse.
            return node.Required && !resolved.Required ? resolved.WithRequired(true) : resolved;
        }
        if (node.Type is null || !KnownTypes.Contains(node.Type))
            throw new InvalidDataException($"endpoints.json: {where} has type '{node.Type}'.");
        if (node.Type == "array")
            node.Items = Resolve(node.Items ?? throw new InvalidDataException($"endpoints.json: array {where} has no items."), definitions, $"{where}[]", depth + 1);
        if (node.Type == "object")
        {
            var fields = node.Fields ?? throw new InvalidDataException($"endpoints.json: object {where} has no fields.");
            foreach (var (field, schema) in fields.ToArray())
                fields[field] = Resolve(schema, definitions, $"{where}.{field}", depth + 1);
            var named = (node.ExactlyOne ?? []).SelectMany(r => r.Fields)
                .Concat((node.Dependencies ?? []).SelectMany(d => (d.RequireFields ?? []).Concat(d.RequireValues?.Keys.AsEnumerable() ?? []).Append(d.When)));
            if (named.FirstOrDefault(f => !fields.ContainsKey(f)) is { } unknown)
                throw new InvalidDataException($"endpoints.json: a rule of {where} names unknown field '{unknown}'.");
        }
        return node;
    }

    private sealed class CatalogFile
    {
        [JsonPropertyName("$comment")]
        public string? Comment { get; set; }

        public Dictionary<string, FieldSchema> Definitions { get; set; } = [];
        public List<RetiredEntry> Retired { get; set; } = [];
        public Dictionary<string, EndpointEntry> Endpoints { get; set; } = [];
    }

    private sealed class RetiredEntry
    {
        public string Prefix { get; set; } = "";
        public string? Note { get; set; }
    }

    private sealed class EndpointEntry
    {
        public string? Source { get; set; }
        public string? Like { get; set; }
        public FieldSchema? Input { get; set; }
    }
}
