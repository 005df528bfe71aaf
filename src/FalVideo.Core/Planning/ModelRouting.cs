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
    /// (and a problem) when none can. Candidates without a published price are never chosen. Relative file names are
    /// resolved against the process's current directory; cmdlets use the overload that takes theirs.
    /// </summary>
    public static VideoModel? Choose(VideoRow row, IReadOnlyCollection<string> require, ModelCatalog catalog,
        List<string> problems, out string reason) =>
        Choose(row, require, catalog, Directory.GetCurrentDirectory(), problems, out reason, out _);

    /// <summary>
    /// The cheapest model for <paramref name="row"/> meeting <paramref name="require"/>, and <paramref name="plan"/>, the
    /// request it becomes there (route reason included). Every candidate is planned exactly as it would be sent
    /// (<see cref="VideoRequestPlanner.Plan"/>), so a row goes only to a model that takes every value it gives (its
    /// duration, aspect ratio, negative prompt...) and is priced as it will be billed. A length in <paramref name="require"/>
    /// (<c>10s</c>) asks for a model offering it; a row without its own Duration is sent at that length. <c>audio</c> with a
    /// row whose GenerateAudio is false is refused: the row and the requirement disagree. Null, with problems, when
    /// no model can.
    /// </summary>
    public static VideoModel? Choose(VideoRow row, IReadOnlyCollection<string> require, ModelCatalog catalog, MediaPaths currentDirectory,
        List<string> problems, out string reason, out VideoRequestPlan? plan)
    {
        reason = "";
        plan = null;
        var needs = new List<string>(require.Select(r => r.Trim().ToLowerInvariant()).Where(r => r.Length > 0));
        foreach (var n in needs)
            if (!Requirements.Contains(n) && ParseSeconds(n) is null)
                problems.Add($"Require '{n}' is not known; allowed: {string.Join(", ", Requirements)}, or a duration such as 10s.");
        if (needs.Contains("audio") && row.GenerateAudio == false)
            problems.Add("GenerateAudio is false, but -Require audio asks for a model with audio; the row was not routed. " +
                         "Set GenerateAudio to true (or leave it empty) for this row, or leave audio out of -Require.");
        var mode = !string.IsNullOrWhiteSpace(row.StartImage) ? VideoModes.ImageToVideo : VideoModes.TextToVideo;
        if (row.Shots is { Count: > 0 }) needs.Add("multi-shot");
        if (row.Elements is { Count: > 0 }) needs.Add("elements");
        if (!string.IsNullOrWhiteSpace(row.EndImage)) needs.Add("end-image");
        if (row.GenerateAudio == true) needs.Add("audio");
        var shotSeconds = row.Shots is { Count: > 0 } shots ? shots.Sum(x => x.Duration ?? 0) : (int?)null;
        var requiredSeconds = needs.Select(ParseSeconds).FirstOrDefault(s => s is not null);
        var seconds = shotSeconds ?? row.Duration ?? requiredSeconds;
        if (problems.Count > 0) return null;

        var wantsAudio = needs.Contains("audio");
        var priced = new List<(VideoModel Model, decimal Cost, VideoRow Sent)>();
        foreach (var m in catalog.Models)
        {
            if (m.IsRetired || m.EndpointFor(mode) is null) continue;
            var features = m.Features;
            var minLines = needs.Select(LinesOf).DefaultIfEmpty(0).Max();
            if (needs.Where(n => ParseSeconds(n) is null && LinesOf(n) == 0).Any(n => !features.Contains(n))) continue;
            if (m.ResolutionLines < minLines) continue;
            // A required length must be one the model offers (multi-shot lengths are the shots' own).
            if (shotSeconds is null && requiredSeconds is { } r && (!m.Accepts("duration") || !m.Durations.Contains(r))) continue;
            var sent = row with
            {
                Duration = shotSeconds is null ? row.Duration ?? requiredSeconds : row.Duration,
                // The route is priced with audio only when asked for: send exactly that, not fal's default (audio on, dearer).
                GenerateAudio = row.GenerateAudio ?? (m.Accepts("generate_audio") ? wantsAudio : null),
                UsesElements = needs.Contains("elements") ? true : row.UsesElements,
                UsesVoice = needs.Contains("voice") ? true : row.UsesVoice,
            };
            // Planned as it would be sent: a model that would refuse any of the row's values is no candidate.
            var candidateProblems = new List<string>();
            var candidate = VideoRequestPlanner.Plan(sent, m, null, catalog, currentDirectory, candidateProblems);
            if (candidate is null || candidateProblems.Count > 0 || candidate.Cost is null) continue;
            priced.Add((m, candidate.Cost.CostPerClipUsd, sent));
        }
        if (priced.Count == 0)
        {
            problems.Add($"No active catalog model with a published price can do {mode}" +
                         (needs.Count > 0 ? $" with {string.Join(", ", needs.Distinct())}" : "") + (seconds is { } x ? $" at {x} s" : "") +
                         " and take every value the row gives.");
            return null;
        }
        var ordered = priced.OrderBy(p => p.Cost).ThenBy(p => p.Model.Name, StringComparer.Ordinal).ToList();
        var best = ordered[0];
        var runnerUp = ordered.Count > 1 ? $"; next: {ordered[1].Model.Name} {Usd(ordered[1].Cost)}" : "";
        reason = $"cheapest of {ordered.Count} able model(s) for {mode}" +
                 (needs.Count > 0 ? $" with {string.Join(", ", needs.Distinct())}" : "") + $": {best.Model.Name} {Usd(best.Cost)}{runnerUp}";
        plan = VideoRequestPlanner.Plan(best.Sent, best.Model, null, catalog, currentDirectory, problems, reason);
        return best.Model;
    }

    private static string Usd(decimal d) => "$" + d.ToString("0.00#", CultureInfo.InvariantCulture);

    private static int LinesOf(string need) => need switch { "4k" => 2160, "1080p" => 1080, "768p" => 768, "720p" => 720, _ => 0 };

    private static int? ParseSeconds(string need) =>
        need.EndsWith('s') && int.TryParse(need[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
}
