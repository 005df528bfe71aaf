using System.Globalization;
using System.Text.Json.Nodes;
using FalVideo.Catalog;

namespace FalVideo.PowerShell.Requests;

/// <summary>One row's settings as the cmdlet bound them; null means "not given, use the default".</summary>
internal sealed class VideoRow
{
    public string? Id { get; init; }
    public string? Prompt { get; init; }
    public string? Model { get; init; }
    public int? Duration { get; init; }
    public string? AspectRatio { get; init; }
    public bool? GenerateAudio { get; init; }
    public string? NegativePrompt { get; init; }
    public double? CfgScale { get; init; }
    public bool? PromptOptimizer { get; init; }
    public string? Resolution { get; init; }
    public string? StartImage { get; init; }
    public string? EndImage { get; init; }
}

/// <summary>A local file that must be uploaded to fal storage; its URL goes into <see cref="Field"/>.</summary>
internal sealed record PendingUpload(string Field, string Path);

/// <summary>What one row becomes: the endpoint, the JSON input, uploads to do first, and the price.</summary>
internal sealed class VideoRequestPlan
{
    public required VideoModel Model { get; init; }
    public required string Mode { get; init; }
    public required string EndpointId { get; init; }
    public required JsonObject Input { get; init; }
    public required IReadOnlyList<PendingUpload> Uploads { get; init; }
    public CostBreakdown? Cost { get; init; }
    public int? DurationSeconds { get; init; }
    public string Prompt { get; init; } = "";

    /// <summary>One line for -WhatIf and ShouldProcess targets.</summary>
    public string Describe(string rowLabel)
    {
        var price = Cost is null ? "no price known" : $"estimated {Cost.TotalUsd.ToString("0.00#", CultureInfo.InvariantCulture)} USD";
        var prompt = Prompt.Length > 60 ? Prompt[..57] + "..." : Prompt;
        var length = DurationSeconds is { } d ? $"{d} s" : "model-chosen length";
        return $"{rowLabel}: {Model.Name} {Mode} ({EndpointId}), {length}, {price}: \"{prompt}\"";
    }
}

/// <summary>
/// Turns a row into a fal request for one model family, checking every field against the catalog
/// (shared fal/MODELS.md) before anything is sent. Reports every problem of a row at once.
/// </summary>
internal static class VideoRequestPlanner
{
    /// <summary>Image file types fal's Kling and Hailuo endpoints accept (MODELS.md, article 001).</summary>
    public static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"];

    public static VideoRequestPlan? Plan(VideoRow row, string family, string defaultModel, ModelCatalog catalog,
        string currentDirectory, List<string> problems)
    {
        var modelText = string.IsNullOrWhiteSpace(row.Model) ? defaultModel : row.Model.Trim();
        var model = catalog.Find(modelText, out var endpointMode);
        if (model is null)
        {
            var names = string.Join(", ", catalog.OfFamily(family).Where(m => !m.IsRetired).Select(m => m.Name));
            problems.Add($"Model '{modelText}' is not a known {family} model; allowed: {names}, or one of their endpoint ids.");
            return null;
        }
        if (model.IsRetired)
        {
            problems.Add($"Model '{model.Name}' is retired upstream: {model.RetiredNote}");
            return null;
        }
        if (!string.Equals(model.Family, family, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Model '{modelText}' is a {model.Family} model, not {family}; send this row with {CmdletFor(model.Family)}.");
            return null;
        }

        var hasImage = !string.IsNullOrWhiteSpace(row.StartImage);
        var mode = endpointMode ?? (hasImage ? VideoModes.ImageToVideo : VideoModes.TextToVideo);
        var endpointId = model.EndpointFor(mode);
        if (endpointId is null)
        {
            problems.Add(mode == VideoModes.TextToVideo
                ? $"Model '{model.Name}' has no text-to-video endpoint; give an image (StartImage/Image)."
                : $"Model '{model.Name}' has no image-to-video endpoint.");
            return null;
        }
        if (mode == VideoModes.ImageToVideo && !hasImage)
            problems.Add($"Endpoint '{endpointId}' needs an image: give StartImage (Kling) or Image (Hailuo) as a file path or an http(s) URL.");
        if (mode == VideoModes.TextToVideo && hasImage)
            problems.Add($"Endpoint '{endpointId}' is text-to-video and takes no image; use model '{model.Name}' or its image-to-video endpoint.");

        var input = new JsonObject();
        var uploads = new List<PendingUpload>();
        var prompt = row.Prompt?.Trim() ?? "";
        var promptRequired = mode == VideoModes.TextToVideo || model.PromptRequiredForImage;
        if (prompt.Length == 0)
        {
            if (promptRequired) problems.Add("Prompt is missing; it is required for this endpoint.");
        }
        else if (model.MaxPromptLength is { } max && prompt.Length > max)
            problems.Add($"Prompt is {prompt.Length} characters; allowed: at most {max}.");
        else input["prompt"] = prompt;

        int? duration = null;
        if (row.Duration is { } d)
        {
            if (!model.Accepts("duration"))
                problems.Add($"Duration is not an input of {model.Name} (the model picks the length); leave it empty.");
            else if (!model.Durations.Contains(d))
                problems.Add($"Duration {d} is not allowed for {model.Name}; allowed: {DescribeDurations(model.Durations)} seconds.");
            else { duration = d; input["duration"] = d.ToString(CultureInfo.InvariantCulture); }
        }
        else if (model.Accepts("duration")) duration = model.DefaultDuration;

        if (!string.IsNullOrWhiteSpace(row.AspectRatio))
        {
            var ar = row.AspectRatio.Trim();
            if (!model.Accepts("aspect_ratio") || mode != VideoModes.TextToVideo)
                problems.Add($"AspectRatio is not an input of {endpointId} (image-to-video follows the image); leave it empty.");
            else if (!model.AspectRatios.Contains(ar, StringComparer.Ordinal))
                problems.Add($"AspectRatio '{ar}' is not allowed; allowed: {string.Join(", ", model.AspectRatios)}.");
            else input["aspect_ratio"] = ar;
        }

        if (row.GenerateAudio is { } audio)
        {
            if (!model.Accepts("generate_audio")) problems.Add($"GenerateAudio is not an input of {model.Name}; leave it empty.");
            else input["generate_audio"] = audio;
        }
        if (!string.IsNullOrWhiteSpace(row.NegativePrompt))
        {
            if (!model.Accepts("negative_prompt")) problems.Add($"NegativePrompt is not an input of {model.Name}; leave it empty.");
            else input["negative_prompt"] = row.NegativePrompt.Trim();
        }
        if (row.CfgScale is { } cfg)
        {
            if (!model.Accepts("cfg_scale")) problems.Add($"CfgScale is not an input of {model.Name}; leave it empty.");
            else if (cfg is < 0 or > 1) problems.Add($"CfgScale {cfg.ToString(CultureInfo.InvariantCulture)} is out of range; allowed: 0 to 1.");
            else input["cfg_scale"] = cfg;
        }
        if (row.PromptOptimizer is { } po)
        {
            if (!model.Accepts("prompt_optimizer")) problems.Add($"PromptOptimizer is not an input of {model.Name}; leave it empty.");
            else input["prompt_optimizer"] = po;
        }
        if (!string.IsNullOrWhiteSpace(row.Resolution))
        {
            var res = model.Resolutions.FirstOrDefault(r => string.Equals(r, row.Resolution.Trim(), StringComparison.OrdinalIgnoreCase));
            if (!model.Accepts("resolution")) problems.Add($"Resolution is not an input of {model.Name}; leave it empty.");
            else if (res is null) problems.Add($"Resolution '{row.Resolution}' is not allowed; allowed: {string.Join(", ", model.Resolutions)}.");
            else input["resolution"] = res;
        }

        if (hasImage && mode == VideoModes.ImageToVideo)
            AddImage(input, uploads, model.ImageInput!, "StartImage", row.StartImage!, currentDirectory, problems);
        if (!string.IsNullOrWhiteSpace(row.EndImage))
        {
            if (model.EndImageInput is null || mode != VideoModes.ImageToVideo)
                problems.Add($"EndImage is not an input of {endpointId}; it needs an image-to-video endpoint that takes an end frame.");
            else AddImage(input, uploads, model.EndImageInput, "EndImage", row.EndImage, currentDirectory, problems);
        }

        var cost = CostCalculator.Estimate(model, new CostQuery
        {
            Mode = mode,
            DurationSeconds = duration,
            GenerateAudio = row.GenerateAudio,
            Resolution = input["resolution"]?.GetValue<string>(),
        });
        return new VideoRequestPlan
        {
            Model = model, Mode = mode, EndpointId = endpointId, Input = input, Uploads = uploads,
            Cost = cost, DurationSeconds = duration, Prompt = prompt,
        };
    }

    private static void AddImage(JsonObject input, List<PendingUpload> uploads, string field, string parameter, string value,
        string currentDirectory, List<string> problems)
    {
        var text = value.Trim();
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            input[field] = uri.ToString(); // passed through as is
            return;
        }
        var path = Path.GetFullPath(text, currentDirectory);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!File.Exists(path))
            problems.Add($"{parameter} '{text}' is neither an http(s) URL nor an existing file.");
        else if (!ImageExtensions.Contains(ext))
            problems.Add($"{parameter} '{text}' has type '{ext}'; allowed: {string.Join(", ", ImageExtensions)}.");
        else
            uploads.Add(new PendingUpload(field, path));
    }

    private static string DescribeDurations(int[] durations) =>
        durations.Length > 2 && durations[^1] - durations[0] == durations.Length - 1
            ? $"{durations[0]}–{durations[^1]}"
            : string.Join(", ", durations);

    private static string CmdletFor(string family) => family switch
    {
        "Kling" => "New-KlingVideo",
        "Hailuo" => "New-HailuoVideo",
        _ => "the cmdlet for that family",
    };
}
