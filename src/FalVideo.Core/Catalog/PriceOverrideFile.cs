using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FalVideo.Catalog;

/// <summary>
/// Reads a price override file (the JSON <see cref="ModelCatalog.WithPriceOverrides"/> takes: model name →
/// <c>{"prices": [...], "priceSource": "...", "priceDate": "..."}</c>), as <c>Compare-FalPrice -OutFile</c> writes it and
/// <c>Set-FalConfiguration -PriceOverridePath</c> applies it. Errors name the file and the line (1-based).
/// </summary>
public static class PriceOverrideFile
{
    /// <summary>The catalog with the file's prices in place of the shipped ones for the models it names.</summary>
    /// <param name="catalog">The catalog to override (the shipped one).</param>
    /// <param name="path">The override file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="JsonException">The file is not valid JSON of that shape; the message names the file and the line.</exception>
    /// <exception cref="ArgumentException">The file names a model the catalog does not have, or a price rule with no
    /// amount; the message names the file and the line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ModelCatalog Apply(ModelCatalog catalog, string path)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!File.Exists(path)) throw new FileNotFoundException($"The price override file {path} does not exist.", path);
        var text = File.ReadAllText(path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw LineError(path, ex);
        }
        if (root is not JsonObject models)
            throw new JsonException($"The price override file {path} is not valid at line 1: it must be a JSON object of model names.");
        foreach (var (name, value) in models)
        {
            if (catalog.Models.All(m => !string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"The price override file {path} names '{name}' at line {LineOf(text, name)}, which is not a catalog model; " +
                                            "use the model names Get-FalModel lists.");
            if (value?["prices"] is JsonArray rules && rules.Any(r => r?["usdPerSecond"] is null && r?["usdPerVideo"] is null))
                throw new ArgumentException($"The price override file {path} gives '{name}' (line {LineOf(text, name)}) a price rule with neither usdPerSecond nor usdPerVideo.");
        }
        try
        {
            return catalog.WithPriceOverrides(text);
        }
        catch (JsonException ex)
        {
            throw LineError(path, ex);
        }
    }

    private static JsonException LineError(string path, JsonException ex)
    {
        var line = (ex.LineNumber ?? 0) + 1;
        var reason = ex.Message is { } m && m.IndexOf(" Path:", StringComparison.Ordinal) is var cut and > 0 ? m.Substring(0, cut) : ex.Message;
        return new JsonException($"The price override file {path} is not valid at line {line}: {reason}", path, ex.LineNumber, ex.BytePositionInLine, ex);
    }

    /// <summary>1-based line of the property <paramref name="name"/> in <paramref name="text"/>; 1 when not found.</summary>
    private static int LineOf(string text, string name)
    {
        var match = Regex.Match(text, "\"" + Regex.Escape(name) + "\"\\s*:");
        return match.Success ? text.Take(match.Index).Count(c => c == '\n') + 1 : 1;
    }
}
