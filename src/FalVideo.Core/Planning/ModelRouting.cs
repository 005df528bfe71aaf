using System.Globalization;
using FalVideo.Catalog;

namespace FalVideo.Planning;

/// <summary>Finds the catalog model a row names, refusing unknown, retired and other-family models.</summary>
public static class ModelResolver
{
    /// <summary>
    /// The catalog model <paramref name="modelText"/> names (short name or endpoint id; empty means <paramref name="defaultModel"/>),
    /// or null with a problem added: unknown, retired, or not of <paramref name="family"/> (null accepts any family, as New-FalVideo does).
    /// <paramref name="endpointMode"/> is the mode when an endpoint id was given. Looks up <paramref name="catalog"/>, reports to <paramref name="problems"/>.
    /// </summary>
    public static VideoModel? Resolve(string? modelText, string? family, string defaultModel, ModelCatalog catalog,
        List<string> problems, out string? endpointMode)
    {
        endpointMode = null;
        var text = string.IsNullOrWhiteSpace(modelText) ? defaultModel : modelText.Trim();
        var model = catalog.Find(text, out endpointMode);
        if (model is null)
        {
            var names = string.Join(", ", catalog.Models.Where(m => !m.IsRetired && (family is null || m.Family == family)).Select(m => m.Name));
            problems.Add($"Model '{text}' is not a known {family ?? "catalog"} model; allowed: {names}, or one of their endpoint ids. " +
                         "Invoke-FalModel sends to any fal endpoint.");
            return null;
        }
        if (model.IsRetired)
        {
            problems.Add($"Model '{model.Name}' is retired upstream: {model.RetiredNote}");
            return null;
        }
        if (family is not null && !string.Equals(model.Family, family, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Model '{text}' is a {model.Family} model, not {family}; send this row with {CmdletFor(model.Family)} or New-FalVideo.");
            return null;
        }
        return model;
    }

    private static string CmdletFor(string family) => family switch
    {
        "Kling" => "New-KlingVideo",
        "Hailuo" => "New-HailuoVideo",
        _ => "the cmdlet for that family",
    };
}

/// <summary>
/// Picks the cheapest active catalog model that can do a row, the routing fal's comparison articles advise
/// by hand: Hailuo for cheap, simple clips; Kling for audio, multi-shot, elements, end frames and 4K.
/// </summary>
public static class CheapestRouter
{
    /// <summary>Words <c>-Require</c> understands besides a duration (<c>5s</c>, <c>10s</c>).</summary>
    public static readonly string[] Requirements =
        ["audio", "multi-shot", "elements", "voice", "end-image", "image-to-video", "text-to-video", "720p", "768p", "1080p", "4k"];

    /// <summary>
    /// The cheapest model for <paramref name="row"/> meeting <paramref name="require"/>, with the reason in words; null
    /// (and a problem) when none can. Candidates without a published price are never chosen.
    /// </summary>
    public static VideoModel? Choose(VideoRow row, IReadOnlyCollection<string> require, ModelCatalog catalog,
        List<string> problems, out string reason)
    {
        reason = "";
        var needs = new List<string>(require.Select(r => r.Trim().ToLowerInvariant()).Where(r => r.Length > 0));
        foreach (var n in needs)
            if (!Requirements.Contains(n) && ParseSeconds(n) is null)
                problems.Add($"Require '{n}' is not known; allowed: {string.Join(", ", Requirements)}, or a duration such as 10s.");
        var mode = !string.IsNullOrWhiteSpace(row.StartImage) ? VideoModes.ImageToVideo : VideoModes.TextToVideo;
        if (row.Shots is { Count: > 0 }) needs.Add("multi-shot");
        if (row.Elements is { Count: > 0 }) needs.Add("elements");
        if (!string.IsNullOrWhiteSpace(row.EndImage)) needs.Add("end-image");
        if (row.GenerateAudio == true) needs.Add("audio");
        var shotSeconds = row.Shots is { Count: > 0 } shots ? shots.Sum(x => x.Duration ?? 0) : (int?)null;
        var seconds = shotSeconds ?? needs.Select(ParseSeconds).FirstOrDefault(s => s is not null) ?? row.Duration;
        if (problems.Count > 0) return null;

        var priced = new List<(VideoModel Model, decimal Cost)>();
        foreach (var m in catalog.Models)
        {
            if (m.IsRetired || m.EndpointFor(mode) is null) continue;
            var features = m.Features;
            var minLines = needs.Select(LinesOf).DefaultIfEmpty(0).Max();
            if (needs.Where(n => ParseSeconds(n) is null && LinesOf(n) == 0).Any(n => !features.Contains(n))) continue;
            if (m.ResolutionLines < minLines) continue;
            // A length the row asks for must be one the model takes (multi-shot lengths are the shots' own).
            if (shotSeconds is null && seconds is { } s && (!m.Accepts("duration") || !m.Durations.Contains(s))) continue;
            if (row.AspectRatio is { Length: > 0 } ar && mode == VideoModes.TextToVideo && !m.AspectRatios.Contains(ar.Trim())) continue;
            var cost = CostCalculator.Estimate(m, new CostQuery
            {
                Mode = mode,
                DurationSeconds = shotSeconds ?? (m.Durations.Length > 0 ? seconds : null),
                // The row's own audio setting is what will be sent, so it is what the choice is priced at.
                GenerateAudio = row.GenerateAudio ?? (needs.Contains("audio") ? true : m.SupportsAudio ? false : null),
                Elements = needs.Contains("elements"),
                Voice = needs.Contains("voice"),
            });
            if (cost is not null) priced.Add((m, cost.CostPerClipUsd));
        }
        if (priced.Count == 0)
        {
            problems.Add($"No active catalog model with a published price can do {mode}" +
                         (needs.Count > 0 ? $" with {string.Join(", ", needs.Distinct())}" : "") + (seconds is { } x ? $" at {x} s" : "") + ".");
            return null;
        }
        var ordered = priced.OrderBy(p => p.Cost).ThenBy(p => p.Model.Name, StringComparer.Ordinal).ToList();
        var best = ordered[0];
        var runnerUp = ordered.Count > 1 ? $"; next: {ordered[1].Model.Name} {Usd(ordered[1].Cost)}" : "";
        reason = $"cheapest of {ordered.Count} able model(s) for {mode}" +
                 (needs.Count > 0 ? $" with {string.Join(", ", needs.Distinct())}" : "") + $": {best.Model.Name} {Usd(best.Cost)}{runnerUp}";
        return best.Model;
    }

    private static string Usd(decimal d) => "$" + d.ToString("0.00#", CultureInfo.InvariantCulture);

    private static int LinesOf(string need) => need switch { "4k" => 2160, "1080p" => 1080, "768p" => 768, "720p" => 720, _ => 0 };

    private static int? ParseSeconds(string need) =>
        need.EndsWith('s') && int.TryParse(need[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
}
