using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FalVideo.Catalog;

namespace FalVideo.Planning;

/// <summary>One shot of a multi-shot request: its prompt and length in seconds.</summary>
public sealed record ShotSpec(string Prompt, int? Duration);

/// <summary>One Kling element: an image set (frontal + 1–3 references) or a video, optionally with a voice.</summary>
public sealed record ElementSpec(string? FrontalImage, IReadOnlyList<string> ReferenceImages, string? Video, string? VoiceId);

/// <summary>One row's settings as the cmdlet bound them; null means "not given, use the default".</summary>
public sealed record VideoRow
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
    public string? ShotType { get; init; }
    public IReadOnlyList<ShotSpec>? Shots { get; init; }
    public IReadOnlyList<ElementSpec>? Elements { get; init; }
    public string? MotionVideo { get; init; }
    public string? CharacterOrientation { get; init; }
    public bool? KeepOriginalSound { get; init; }
    /// <summary>Priced as using elements when no Element objects are given (Measure-VideoCost's Elements column).</summary>
    public bool? UsesElements { get; init; }
    /// <summary>Priced as using voice control when no element carries a VoiceId (Measure-VideoCost's Voice column).</summary>
    public bool? UsesVoice { get; init; }
    /// <summary>Length of the input video in seconds for a model whose output follows it, when the caller knows it
    /// (Measure-VideoCost's Duration column on motion-control rows); otherwise a local video is read (<see cref="MediaDuration"/>).</summary>
    public int? VideoSeconds { get; init; }
}

/// <summary>A local file that must be uploaded to fal storage; its URL replaces <see cref="Placeholder"/> in the input.</summary>
public sealed record PendingUpload(string Placeholder, string Path);

/// <summary>What one row becomes: the endpoint, the JSON input, uploads to do first, and the price.</summary>
public sealed class VideoRequestPlan
{
    /// <summary>The catalog model; null for an endpoint outside the catalog (Invoke-FalModel).</summary>
    public VideoModel? Model { get; init; }
    public string ModelName => Model?.Name ?? "";
    public required string Mode { get; init; }
    public required string EndpointId { get; init; }
    public required JsonObject Input { get; init; }
    public required IReadOnlyList<PendingUpload> Uploads { get; init; }
    public CostBreakdown? Cost { get; init; }
    public int? DurationSeconds { get; init; }
    public string Prompt { get; init; } = "";
    public string? RouteReason { get; init; }
    /// <summary>How the output length was known when it follows an input video (motion control): "the reference video is
    /// 7.2 s", or the upper bound used; null for other models.</summary>
    public string? LengthNote { get; init; }

    /// <summary>The number of shots of a multi-shot request (fal's <c>multi_prompt</c>); 0 for a single prompt.</summary>
    public int ShotCount => Input["multi_prompt"] is JsonArray shots ? shots.Count : 0;

    /// <summary>One line for -WhatIf/-Confirm: the row label, model, mode and endpoint id, length (with the number of shots
    /// of a multi-shot request), the estimate in USD to two decimals, and the start of the prompt.</summary>
    public string Describe(string rowLabel)
    {
        // Two decimals, as the cost tables show it; the exact amount is the estimate's EstimatedCostUsd.
        var price = Cost is null ? (Model is null ? "no price known (endpoint not in the catalog)" : VideoModel.UnknownPrice)
            : Cost.IsUpperBound ? $"estimated at most {Cost.TotalUsd.ToString("0.00", CultureInfo.InvariantCulture)} USD"
            : $"estimated {Cost.TotalUsd.ToString("0.00", CultureInfo.InvariantCulture)} USD";
        var prompt = Prompt.Length > 60 ? Prompt[..57] + "..." : Prompt;
        var length = LengthNote ?? (DurationSeconds is { } d ? $"{d} s" : "model-chosen length");
        if (ShotCount > 0) length = $"{ShotCount} shots, {length}";
        var route = RouteReason is null ? "" : $" [{RouteReason}]";
        var name = Model is null ? EndpointId : $"{Model.Name} {Mode} ({EndpointId})";
        return $"{rowLabel}: {name}, {length}, {price}: \"{prompt}\"{route}";
    }

    /// <summary>The row's submit options (priority, webhook, start timeout, fallback switch, media expiry); null for fal's
    /// defaults. Not part of <see cref="IdempotencyKey"/>: they do not change what the model makes (see
    /// <see cref="FalVideo.Fal.FalSubmitOptions"/>).</summary>
    public FalVideo.Fal.FalSubmitOptions? SubmitOptions { get; set; }

    /// <summary>The submission's <see cref="FalVideo.Jobs.IdempotencyKey"/>, set before the row is sent.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>
    /// The idempotency key of this plan for the row <paramref name="rowId"/>: computed from the input as planned, each
    /// local file standing as its path, size and last-write time (<see cref="FalVideo.Jobs.IdempotencyKey.FileReference"/>),
    /// because the storage URL an upload gets differs every time.
    /// </summary>
    public string ComputeIdempotencyKey(string? rowId)
    {
        JsonNode input = Input;
        if (Uploads.Count > 0)
        {
            input = JsonNode.Parse(Input.ToJsonString())!;
            foreach (var upload in Uploads) Replace(input, upload.Placeholder, FalVideo.Jobs.IdempotencyKey.FileReference(upload.Path));
        }
        return FalVideo.Jobs.IdempotencyKey.Compute(EndpointId, input, rowId);
    }

    /// <summary>Puts the uploaded URL wherever the placeholder stands in the input.</summary>
    public void ResolveUpload(PendingUpload upload, Uri url) => Replace(Input, upload.Placeholder, url.ToString());

    private static void Replace(JsonNode? node, string placeholder, string value)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    if (o[key] is JsonValue v && v.TryGetValue<string>(out var s) && s == placeholder) o[key] = value;
                    else Replace(o[key], placeholder, value);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s) && s == placeholder) a[i] = value;
                    else Replace(a[i], placeholder, value);
                }
                break;
        }
    }
}

/// <summary>
/// Turns a row into a fal request, checking every field against the catalog (shared fal/MODELS.md) before
/// anything is sent. Reports every problem of a row at once, naming the field and the allowed values.
/// </summary>
public static class VideoRequestPlanner
{
    /// <summary>Image file types fal's Kling and Hailuo endpoints accept (MODELS.md, article 001).</summary>
    public static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"];
    /// <summary>Video file types accepted for motion references and element videos.</summary>
    public static readonly string[] VideoExtensions = [".mp4", ".mov", ".webm", ".m4v"];

    /// <summary>True when <see cref="Plan"/> builds requests for <paramref name="mode"/> (text-to-video, image-to-video,
    /// motion-control); the catalog's other modes (reference-to-video, video-to-video, lip-sync...) go through Invoke-FalModel.</summary>
    public static bool Builds(string mode) => PlannedModes.Contains(mode);

    /// <summary>The modes these cmdlets build requests for; other catalog modes go through Invoke-FalModel.</summary>
    private static readonly string[] PlannedModes = [VideoModes.TextToVideo, VideoModes.ImageToVideo, VideoModes.MotionControl, "subject-reference"];

    private static readonly Regex s_elementReference = new(@"@Element(\d+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>Plans <paramref name="row"/> for <paramref name="model"/> (already resolved and checked for family and retirement).
    /// Local files of the row resolve through <paramref name="currentDirectory"/> (a folder converts to it); a path that
    /// resolves to nothing uploadable, a missing file or a wrong file type is one of the row's problems.</summary>
    public static VideoRequestPlan? Plan(VideoRow row, VideoModel model, string? endpointMode, ModelCatalog catalog,
        MediaPaths currentDirectory, List<string> problems, string? routeReason = null)
    {
        var hasImage = !string.IsNullOrWhiteSpace(row.StartImage);
        var mode = endpointMode
                   ?? (model.Modes.Length == 1 && model.Modes[0] is not (VideoModes.TextToVideo or VideoModes.ImageToVideo) ? model.Modes[0] : null)
                   ?? (hasImage ? VideoModes.ImageToVideo : VideoModes.TextToVideo);
        var endpointId = model.EndpointFor(mode);
        if (endpointId is not null && !PlannedModes.Contains(mode))
        {
            // Reference-to-video, video-to-video, lip-sync, avatars, voices: inputs (image_urls, audio_url, text...) the
            // New-*Video cmdlets have no parameters for. They are priced by Measure-VideoCost and sent by Invoke-FalModel.
            problems.Add($"Model '{model.Name}' ({endpointId}, {mode}) takes inputs these cmdlets have no parameters for " +
                         $"({string.Join(", ", model.Inputs)}); send it with Invoke-FalModel -Endpoint {endpointId} -Input @{{...}}.");
            return null;
        }
        if (endpointId is null)
        {
            problems.Add(mode == VideoModes.TextToVideo
                ? $"Model '{model.Name}' has no text-to-video endpoint; give an image (StartImage/Image). Its modes: {string.Join(", ", model.Modes)}."
                : $"Model '{model.Name}' has no {mode} endpoint; its modes: {string.Join(", ", model.Modes)}.");
            return null;
        }
        var textOnly = mode == VideoModes.TextToVideo;
        if (!textOnly && !hasImage)
            problems.Add($"Endpoint '{endpointId}' needs an image: give StartImage (Kling) or Image (Hailuo) as a file path or an http(s) URL.");
        if (textOnly && hasImage)
            problems.Add($"Endpoint '{endpointId}' is text-to-video and takes no image; use model '{model.Name}' or its image-to-video endpoint.");

        var input = new JsonObject();
        var uploads = new List<PendingUpload>();
        var shots = row.Shots is { Count: > 0 } ? row.Shots : null;

        // Prompt, or shots (multi_prompt) — fal takes one or the other, never both.
        var prompt = row.Prompt?.Trim() ?? "";
        if (shots is not null)
        {
            if (!model.MultiShot) problems.Add($"Shot (multi-shot) is not an input of {model.Name}; {Takers(catalog, m => m.MultiShot)}.");
            else if (prompt.Length > 0) problems.Add("Prompt and Shot were both given; fal takes either one prompt or a list of shots, not both.");
            else AddShots(input, shots, model, problems);
            prompt = string.Join(" | ", shots.Select(s => s.Prompt));
        }
        else
        {
            var promptRequired = textOnly || model.PromptRequiredForImage;
            if (prompt.Length == 0)
            {
                if (promptRequired) problems.Add("Prompt is missing; it is required for this endpoint.");
            }
            else if (model.MaxPromptLength is { } max && prompt.Length > max)
                problems.Add($"Prompt is {prompt.Length} characters; allowed: at most {max} on {model.Name} (fal: Kling prompts under 2500 characters).");
            else input["prompt"] = prompt;
        }

        int? duration = null;
        if (shots is not null)
            duration = shots.Sum(s => s.Duration ?? 0);
        else if (row.Duration is { } d)
        {
            if (!model.Accepts("duration"))
                problems.Add($"Duration is not an input of {model.Name} (the model picks the length); leave it empty. {Takers(catalog, m => m.Accepts("duration"))}.");
            else if (!model.Durations.Contains(d))
                problems.Add($"Duration {d} is not allowed for {model.Name}; allowed: {DescribeDurations(model.Durations)} seconds.");
            else { duration = d; input["duration"] = d.ToString(CultureInfo.InvariantCulture); }
        }
        else if (model.Accepts("duration")) duration = model.DefaultDuration;

        if (!string.IsNullOrWhiteSpace(row.AspectRatio))
        {
            var ar = row.AspectRatio.Trim();
            if (!model.Accepts("aspect_ratio") || !textOnly)
                problems.Add($"AspectRatio is not an input of {endpointId} (image-to-video follows the image); leave it empty.");
            else if (!model.AspectRatios.Contains(ar, StringComparer.Ordinal))
                problems.Add($"AspectRatio '{ar}' is not allowed; allowed: {string.Join(", ", model.AspectRatios)}.");
            else input["aspect_ratio"] = ar;
        }

        // "No audio" is met by a model that makes none: the field is not sent to it. Asking such a model for audio is refused.
        if (row.GenerateAudio is { } audio && (audio || model.Accepts("generate_audio")))
        {
            if (!model.Accepts("generate_audio")) problems.Add($"GenerateAudio is not an input of {model.Name}; {Takers(catalog, m => m.Accepts("generate_audio"))}.");
            else input["generate_audio"] = audio;
        }
        if (!string.IsNullOrWhiteSpace(row.NegativePrompt))
        {
            var negative = row.NegativePrompt.Trim();
            if (!model.Accepts("negative_prompt")) problems.Add($"NegativePrompt is not an input of {model.Name}; {Takers(catalog, m => m.Accepts("negative_prompt"))}.");
            // fal documents one limit for Kling prompt text (under 2500 characters); the negative prompt is held to it too.
            else if (model.MaxPromptLength is { } max && negative.Length > max)
                problems.Add($"NegativePrompt is {negative.Length} characters; allowed: at most {max} on {model.Name}.");
            else input["negative_prompt"] = negative;
        }
        if (row.CfgScale is { } cfg)
        {
            if (!model.Accepts("cfg_scale")) problems.Add($"CfgScale is not an input of {model.Name}; {Takers(catalog, m => m.Accepts("cfg_scale"))}.");
            else if (cfg is < 0 or > 1) problems.Add($"CfgScale {cfg.ToString(CultureInfo.InvariantCulture)} is out of range; allowed: 0 to 1.");
            else input["cfg_scale"] = cfg;
        }
        if (row.PromptOptimizer is { } po)
        {
            if (!model.Accepts("prompt_optimizer")) problems.Add($"PromptOptimizer is not an input of {model.Name}; {Takers(catalog, m => m.Accepts("prompt_optimizer"))}.");
            else input["prompt_optimizer"] = po;
        }
        if (!string.IsNullOrWhiteSpace(row.Resolution))
        {
            var res = model.Resolutions.FirstOrDefault(r => string.Equals(r, row.Resolution.Trim(), StringComparison.OrdinalIgnoreCase));
            if (!model.Accepts("resolution")) problems.Add($"Resolution is not an input of {model.Name}; {Takers(catalog, m => m.Accepts("resolution"))}.");
            else if (res is null) problems.Add($"Resolution '{row.Resolution}' is not allowed; allowed: {string.Join(", ", model.Resolutions)}.");
            else input["resolution"] = res;
        }
        if (!string.IsNullOrWhiteSpace(row.ShotType))
        {
            var st = row.ShotType.Trim().ToLowerInvariant();
            if (!model.SupportsShotType) problems.Add($"ShotType is not an input of {model.Name}; {Takers(catalog, m => m.SupportsShotType)}.");
            else if (st is not ("customize" or "intelligent")) problems.Add($"ShotType '{row.ShotType}' is not allowed; allowed: customize, intelligent.");
            else input["shot_type"] = st;
        }

        if (hasImage && !textOnly)
            AddFile(input, uploads, model.ImageInput!, "StartImage", row.StartImage!, ImageExtensions, currentDirectory, problems);
        if (!string.IsNullOrWhiteSpace(row.EndImage))
        {
            if (model.EndImageInput is null || mode != VideoModes.ImageToVideo)
                problems.Add($"EndImage is not an input of {endpointId}; {Takers(catalog, m => m.EndImageInput is not null)} (image-to-video).");
            else AddFile(input, uploads, model.EndImageInput, "EndImage", row.EndImage, ImageExtensions, currentDirectory, problems);
        }

        string? lengthNote = null;
        if (mode == VideoModes.MotionControl)
        {
            AddMotion(input, uploads, row, currentDirectory, problems);
            duration = MotionLength(model, row, input, currentDirectory, problems, out lengthNote);
        }
        else if (!string.IsNullOrWhiteSpace(row.MotionVideo) || row.CharacterOrientation is not null)
            problems.Add($"MotionVideo and CharacterOrientation are inputs of the motion-control models only ({string.Join(", ", catalog.Models.Where(m => m.EndpointFor("motion-control") is not null).Select(m => m.Name))}).");

        var elements = row.Elements is { Count: > 0 } ? row.Elements : null;
        if (elements is null && row.UsesElements == true && !model.SupportsElements)
            problems.Add($"Elements are not an input of {model.Name}; {Takers(catalog, m => m.SupportsElements)}.");
        if (elements is null && row.UsesVoice == true && !model.SupportsVoice)
            problems.Add($"Voice (voice control) is not offered by {model.Name}; {Takers(catalog, m => m.SupportsVoice)}.");
        if (elements is not null)
        {
            if (!model.SupportsElements || mode == VideoModes.TextToVideo)
                problems.Add($"Element is not an input of {endpointId}; {Takers(catalog, m => m.SupportsElements)} (image-to-video or motion-control).");
            else AddElements(input, uploads, elements, model, mode, row, currentDirectory, problems);
        }
        // A prompt naming an element that isn't given would be generated without it: refuse before paying.
        var highest = s_elementReference.Matches(prompt).Cast<Match>().Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        if (highest > (elements?.Count ?? 0))
            problems.Add($"Prompt names @Element{highest} but {(elements?.Count ?? 0)} element(s) were given; give one Element per @ElementN.");

        var cost = CostCalculator.Estimate(model, new CostQuery
        {
            Mode = mode,
            DurationSeconds = duration,
            GenerateAudio = row.GenerateAudio,
            Resolution = input["resolution"]?.GetValue<string>() ?? (string.IsNullOrWhiteSpace(row.Resolution) ? null : row.Resolution.Trim()),
            Elements = elements is not null || row.UsesElements == true,
            Voice = (elements?.Any(e => !string.IsNullOrWhiteSpace(e.VoiceId)) ?? false) || row.UsesVoice == true,
            CharacterOrientation = input["character_orientation"]?.GetValue<string>(),
        });
        return new VideoRequestPlan
        {
            Model = model, Mode = mode, EndpointId = endpointId, Input = input, Uploads = uploads,
            Cost = cost, DurationSeconds = duration, Prompt = prompt,
            RouteReason = routeReason, LengthNote = lengthNote,
        };
    }

    private static void AddShots(JsonObject input, IReadOnlyList<ShotSpec> shots, VideoModel model, List<string> problems)
    {
        var array = new JsonArray();
        if (model.MaxShots is { } most && shots.Count > most)
            problems.Add($"Shot: {shots.Count} shots; allowed: at most {most} on {model.Name}.");
        for (var i = 0; i < shots.Count; i++)
        {
            var s = shots[i];
            if (s.Prompt.Length == 0) problems.Add($"Shot {i + 1}: Prompt is missing.");
            else if (model.MaxPromptLength is { } max && s.Prompt.Length > max) problems.Add($"Shot {i + 1}: Prompt is {s.Prompt.Length} characters; allowed: at most {max}.");
            if (s.Duration is not { } d) problems.Add($"Shot {i + 1}: Duration is missing; allowed: 1 second or more.");
            else if (d < 1) problems.Add($"Shot {i + 1}: Duration {d} is too short; allowed: 1 second or more.");
            array.Add(new JsonObject { ["prompt"] = s.Prompt, ["duration"] = (s.Duration ?? 0).ToString(CultureInfo.InvariantCulture) });
        }
        var total = shots.Sum(s => s.Duration ?? 0);
        if (shots.All(s => s.Duration is >= 1) && (total < 3 || total > 15))
            problems.Add($"Shot durations add up to {total} s; allowed: 3–15 seconds in total.");
        input["multi_prompt"] = array;
    }

    /// <summary>
    /// The billed length of a motion-control request: the reference video's, when the row gives it (<see cref="VideoRow.VideoSeconds"/>)
    /// or it is a local file whose length can be read, rounded up to whole seconds; null otherwise (the estimate is then the
    /// most the request can cost). A reference longer than fal allows for the orientation is a problem: fal would refuse it.
    /// </summary>
    private static int? MotionLength(VideoModel model, VideoRow row, JsonObject input, MediaPaths currentDirectory, List<string> problems, out string? note)
    {
        note = null;
        var orientation = input["character_orientation"]?.GetValue<string>();
        var max = model.LengthFromVideo?.MaxFor(orientation);
        double? seconds = row.VideoSeconds;
        var from = "given";
        if (seconds is null && !string.IsNullOrWhiteSpace(row.MotionVideo) &&
            !(Uri.TryCreate(row.MotionVideo.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            // A path that does not resolve is the MotionVideo problem AddMotion reports; its length is simply not known here.
            seconds = currentDirectory.Resolve(row.MotionVideo.Trim()).Path is { } local ? MediaDuration.TryGetSeconds(local) : null;
            from = "read from the file";
        }
        if (seconds is not { } known)
        {
            note = max is { } m ? $"length of the reference video (not known here; at most {m} s{(orientation is null ? "" : $" with orientation {orientation}")})"
                : "length of the reference video (not known here)";
            return null;
        }
        var whole = (int)Math.Ceiling(known - 0.0005);
        if (max is { } limit && known > limit + 0.0005)
            problems.Add($"MotionVideo is {known.ToString("0.#", CultureInfo.InvariantCulture)} s long; allowed: at most {limit} s with CharacterOrientation {orientation} (fal).");
        note = $"{whole} s (the reference video's length, {from})";
        return whole;
    }

    private static void AddMotion(JsonObject input, List<PendingUpload> uploads, VideoRow row, MediaPaths currentDirectory, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(row.MotionVideo))
            problems.Add("MotionVideo is missing; give the motion reference video as a file path or an http(s) URL.");
        else AddFile(input, uploads, "video_url", "MotionVideo", row.MotionVideo, VideoExtensions, currentDirectory, problems);
        var orientation = row.CharacterOrientation?.Trim().ToLowerInvariant();
        if (orientation is not ("image" or "video"))
            problems.Add($"CharacterOrientation '{row.CharacterOrientation}' is not allowed; allowed: image (output up to 10 s), video (up to 30 s).");
        else input["character_orientation"] = orientation;
        if (row.KeepOriginalSound is { } keep) input["keep_original_sound"] = keep;
    }

    private static void AddElements(JsonObject input, List<PendingUpload> uploads, IReadOnlyList<ElementSpec> elements, VideoModel model,
        string mode, VideoRow row, MediaPaths currentDirectory, List<string> problems)
    {
        if (mode == VideoModes.MotionControl && (elements.Count > 1 || row.CharacterOrientation?.Trim().ToLowerInvariant() != "video"))
            problems.Add("Element: motion control takes at most 1 element, and only with CharacterOrientation video.");
        // fal-js (KlingV3ComboElementInput.video_url): "A request can only have one element with a video."
        var withVideo = elements.Select((e, i) => (e, i)).Where(x => !string.IsNullOrWhiteSpace(x.e.Video)).Select(x => x.i + 1).ToList();
        if (withVideo.Count > 1)
            problems.Add($"Element: {withVideo.Count} elements have a Video (elements {string.Join(", ", withVideo)}); allowed: at most one element with a video per request.");
        var array = new JsonArray();
        for (var i = 0; i < elements.Count; i++)
        {
            var e = elements[i];
            var label = $"Element {i + 1}";
            var item = new JsonObject();
            var hasImageSet = !string.IsNullOrWhiteSpace(e.FrontalImage);
            var hasVideo = !string.IsNullOrWhiteSpace(e.Video);
            if (hasImageSet == hasVideo)
                problems.Add($"{label}: give either FrontalImage with 1–3 ReferenceImages, or a Video; not both, not neither.");
            if (hasImageSet)
            {
                AddFile(item, uploads, "frontal_image_url", $"{label} FrontalImage", e.FrontalImage!, ImageExtensions, currentDirectory, problems);
                if (e.ReferenceImages.Count is < 1 or > 3)
                    problems.Add($"{label}: {e.ReferenceImages.Count} ReferenceImages; allowed: 1 to 3.");
                var refs = new JsonArray();
                foreach (var (r, j) in e.ReferenceImages.Select((r, j) => (r, j)))
                {
                    var holder = new JsonObject();
                    AddFile(holder, uploads, "url", $"{label} ReferenceImages[{j + 1}]", r, ImageExtensions, currentDirectory, problems);
                    refs.Add(holder["url"]?.DeepClone());
                }
                item["reference_image_urls"] = refs;
            }
            if (hasVideo) AddFile(item, uploads, "video_url", $"{label} Video", e.Video!, VideoExtensions, currentDirectory, problems);
            if (!string.IsNullOrWhiteSpace(e.VoiceId))
            {
                if (!model.SupportsVoice) problems.Add($"{label}: VoiceId (voice control) is not supported by {model.Name}.");
                else item["voice_id"] = e.VoiceId.Trim();
            }
            array.Add(item);
        }
        input["elements"] = array;
    }

    private static void AddFile(JsonObject input, List<PendingUpload> uploads, string field, string parameter, string value,
        string[] extensions, MediaPaths currentDirectory, List<string> problems)
    {
        var text = value.Trim();
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            input[field] = uri.ToString(); // passed through as is
            return;
        }
        var resolved = currentDirectory.Resolve(text);
        if (resolved.Path is not { } path)
        {
            problems.Add($"{parameter} '{text}' {resolved.Problem}");
            return;
        }
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!File.Exists(path))
            problems.Add($"{parameter} '{text}' is neither an http(s) URL nor an existing file.");
        else if (!extensions.Contains(ext))
            problems.Add($"{parameter} '{text}' has type '{ext}'; allowed: {string.Join(", ", extensions)}.");
        else
        {
            var placeholder = $"upload:{uploads.Count}:{path}";
            uploads.Add(new PendingUpload(placeholder, path));
            input[field] = placeholder;
        }
    }

    private static string Takers(ModelCatalog catalog, Func<VideoModel, bool> accepts)
    {
        var names = catalog.Models.Where(m => !m.IsRetired && accepts(m)).Select(m => m.Name).ToList();
        return names.Count == 0 ? "no catalog model takes it" : $"models that take it: {string.Join(", ", names)}";
    }

    private static string DescribeDurations(int[] durations) =>
        durations.Length > 2 && durations[^1] - durations[0] == durations.Length - 1
            ? $"{durations[0]}–{durations[^1]}"
            : string.Join(", ", durations);
}
