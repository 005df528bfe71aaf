using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Catalog;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.PowerShell.Requests;
using FalVideo.Planning;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Estimates what video generations will cost, offline, before anything is spent.</para>
/// <para type="description">Prices each row from the shipped price catalog (published fal prices with their source
/// and date) and ends with a Total row. Each row is checked and priced by the same planner the New-*Video cmdlets
/// submit with, so a row is priced exactly as -WhatIf prices it (a Group-Object group of shots as one multi-shot
/// request), and a row the submitters would refuse is marked (Refused, with the reason) and left out of the Total.
/// Quantity means that many identical clips. Where fal publishes no price the row says "price unknown" and the Total
/// leaves it out; motion control is priced from the reference video's length when it can be read, else at its most.
/// Rows for retired models are priced for comparison and say so. Piped FalJob objects count only when fal bills them (not failed, rejected,
/// cancelled-in-queue or unfinished jobs), at their billed units × unit price when fal reported them, else their estimate;
/// jobs sent to another fal host than the current queue base URL's (a rehearsal against the emulator) are left out with a
/// warning unless -AllHosts is given.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "VideoCost", DefaultParameterSetName = RowSet)]
[OutputType(typeof(VideoCostEstimate))]
public sealed partial class MeasureVideoCostCommand : PSCmdlet
{
    private const string RowSet = "Row";
    private static readonly CsvIntegerAttribute s_duration = new("Duration", "a duration the model offers, in seconds");
    private static readonly CsvIntegerAttribute s_quantity = new("Quantity", "a whole number of clips, 1 or more");
    private static readonly CsvBooleanAttribute s_audio = new("GenerateAudio");
    private static readonly CsvBooleanAttribute s_voice = new("Voice");
    private static readonly CsvBooleanAttribute s_elements = new("Elements");
    private static readonly CsvNumberAttribute s_cfg = new("CfgScale", "0 to 1");
    private static readonly CsvBooleanAttribute s_optimizer = new("PromptOptimizer");
    private static readonly CsvBooleanAttribute s_keepSound = new("KeepOriginalSound");
    /// <summary>The model New-KlingVideo and New-FalVideo send a row without a Model to.</summary>
    private const string DefaultModel = "kling-v3-pro";
    private readonly List<VideoCostEstimate> _rows = new();
    private int _row;

    /// <summary>
    /// Rows to price (CSV rows, objects) with properties Model, Mode, Duration, GenerateAudio, Voice, Elements, Resolution,
    /// Quantity, Id, Prompt, NegativePrompt, AspectRatio, ShotType, CfgScale, PromptOptimizer, StartImage/Image, EndImage,
    /// MotionVideo and CharacterOrientation (all may be text; empty means the default); Group-Object groups of shot rows
    /// (Prompt, Duration: one multi-shot request per group, its Model from the rows); or FalJob objects (counted only when fal bills
    /// them: billed units × unit price when known, else their estimate). A row without Prompt or image is a price question: what it gives is checked, the rest is assumed given at
    /// submit time. Without a Model anywhere a row is priced as kling-v3-pro, where New-KlingVideo and New-FalVideo send it.
    /// </summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = RowSet)]
    public PSObject? InputObject { get; set; }

    /// <summary>Catalog model name or endpoint id, e.g. kling-v3-pro; used when a row has no Model.</summary>
    [Parameter(Position = 0, ParameterSetName = RowSet)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>text-to-video or image-to-video; default: image-to-video when an image is given, else text-to-video.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [ArgumentCompleter(typeof(ModeCompleter))]
    public string? Mode { get; set; }

    /// <summary>Seconds of output; default: the model's default.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvInteger("Duration", "a duration the model offers, in seconds")]
    public int? Duration { get; set; }

    /// <summary>Audio on or off; default: the model's default (Kling v3: on).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("GenerateAudio")]
    [ArgumentCompleter(typeof(BooleanCompleter))]
    public bool? GenerateAudio { get; set; }

    /// <summary>Voice control requested (Kling v3).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("Voice")]
    [ArgumentCompleter(typeof(BooleanCompleter))]
    public bool? Voice { get; set; }

    /// <summary>Elements used (Kling v3 image-to-video).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("Elements")]
    [ArgumentCompleter(typeof(BooleanCompleter))]
    public bool? Elements { get; set; }

    /// <summary>Resolution where it changes the price (Hailuo 02: 512P/768P; Sora 2 pro: 720p/1080p/true_1080p).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [ArgumentCompleter(typeof(ResolutionCompleter))]
    public string? Resolution { get; set; }

    /// <summary>Number of identical clips (default 1).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvInteger("Quantity", "a whole number of clips, 1 or more")]
    public int? Quantity { get; set; }

    /// <summary>Leaves out the final Total row (handy before Export-Csv).</summary>
    [Parameter]
    public SwitchParameter NoTotal { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (FalCmdletBase.CommandLineValueError(MyInvocation, "Nothing was priced: a value given on the command line applies to every row.") is { } error)
            ThrowTerminatingError(error);
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (InputObject?.BaseObject is FalJob job)
        {
            if (!IsInScope(job)) return;
            Emit(FromJob(job, ++_row));
            return;
        }
        _row++;
        var problems = BindingProblems.Take().ToList();
        var row = InputObject;
        var modelText = Text(row, "Model");
        var id = Text(row, "Id");
        var duration = Has(row, "Duration") ? (int?)s_duration.Convert(Value(row, "Duration"), problems.Add) : Duration;
        var audio = Has(row, "GenerateAudio", "generate_audio", "Audio")
            ? (bool?)s_audio.Convert(Value(row, "GenerateAudio", "generate_audio", "Audio"), problems.Add) : GenerateAudio;
        var voice = Has(row, "Voice") ? (bool?)s_voice.Convert(Value(row, "Voice"), problems.Add) : Voice;
        var elements = Has(row, "Elements") ? (bool?)s_elements.Convert(Value(row, "Elements"), problems.Add) : Elements;
        var quantity = Has(row, "Quantity") ? (int?)s_quantity.Convert(Value(row, "Quantity"), problems.Add) : Quantity;
        var resolution = Text(row, "Resolution") ?? Resolution;
        var modeText = Text(row, "Mode") ?? Mode;
        var image = Text(row, "StartImage", "Image", "image_url", "start_image_url");

        var catalog = Settings.FalSettings.Current.Catalog;
        // A Group-Object group of shot rows is one multi-shot request (as New-KlingVideo binds it: Group -> -Shot, Name -> -Id).
        var shotItems = Items(Value(row, "Shot", "Shots", "multi_prompt", "Group"));
        if (id is null && Has(row, "Group")) id = Text(row, "Name");
        var label = FalCmdletBase.RowLabel(MyInvocation.ExpectingInput, _row, row, id);
        modelText ??= PipelineObjects.SharedText(shotItems, "Model", problems) ?? Model;
        var defaulted = modelText is null;
        modelText ??= DefaultModel;
        var model = catalog.Find(modelText, out var endpointMode);
        if (model is null)
            problems.Add($"Model '{modelText}' is not in the price catalog; allowed: {string.Join(", ", catalog.Models.Select(m => m.Name))}, or an endpoint id.");
        if (quantity is < 1) problems.Add($"Quantity {quantity} is not allowed; allowed: 1 or more.");
        var mode = endpointMode ?? modeText?.ToLowerInvariant()
                   ?? (model is { Modes.Length: 1 } ? model.Modes[0] : image is null ? VideoModes.TextToVideo : VideoModes.ImageToVideo);
        if (model is not null && model.EndpointFor(mode) is null)
            problems.Add($"Mode '{mode}' is not offered by {model.Name}; allowed: {string.Join(", ", model.Endpoints.Keys)}.");
        var cfg = Has(row, "CfgScale", "cfg_scale") ? (double?)s_cfg.Convert(Value(row, "CfgScale", "cfg_scale"), problems.Add) : null;
        var optimizer = Has(row, "PromptOptimizer", "prompt_optimizer") ? (bool?)s_optimizer.Convert(Value(row, "PromptOptimizer", "prompt_optimizer"), problems.Add) : null;
        var keepSound = Has(row, "KeepOriginalSound", "keep_original_sound") ? (bool?)s_keepSound.Convert(Value(row, "KeepOriginalSound", "keep_original_sound"), problems.Add) : null;
        var shots = PipelineObjects.ToShots(shotItems, problems);
        if (problems.Count > 0 || model is null)
        {
            var message = $"{label}: {string.Join(" ", problems)}";
                        // The row itself, so the refused rows can be exported again (Export-Csv); without pipeline input, its Id or model.
            var target = MyInvocation.ExpectingInput && row is not null ? row : id ?? (object?)modelText;
            WriteError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, target, new ArgumentException(message)));
            return;
        }

        var prompt = Text(row, "Prompt", "prompt");
        var videoRow = new VideoRow
        {
            Id = id, Model = model.Name,
            // A price question needs no prompt or image: stand-ins keep the checks to what the row gives.
            Prompt = prompt ?? (shots is null ? "(prompt given at submit time)" : null),
            StartImage = image ?? (mode is VideoModes.ImageToVideo or VideoModes.MotionControl ? "https://example.invalid/start.png" : null),
            Duration = model.LengthFromVideo is null ? duration : null,
            VideoSeconds = model.LengthFromVideo is not null ? duration : null,
            GenerateAudio = audio, UsesElements = elements, UsesVoice = voice, Resolution = resolution,
            NegativePrompt = Text(row, "NegativePrompt", "negative_prompt"), AspectRatio = Text(row, "AspectRatio", "aspect_ratio"),
            ShotType = Text(row, "ShotType", "shot_type"), CfgScale = cfg, PromptOptimizer = optimizer,
            EndImage = Text(row, "EndImage", "end_image_url", "tail_image_url"), Shots = shots,
            MotionVideo = Text(row, "MotionVideo", "video_url") ?? (mode == VideoModes.MotionControl ? "https://example.invalid/motion.mp4" : null),
            // Not given on a price question: priced at the longer limit (orientation video, up to 30 s).
            CharacterOrientation = Text(row, "CharacterOrientation", "character_orientation") ?? (mode == VideoModes.MotionControl ? "video" : null),
            KeepOriginalSound = keepSound,
        };
        var notes = new List<string>();
        var refusals = new List<string>();
        if (defaulted) notes.Add($"no Model given: priced as {DefaultModel}, where New-KlingVideo and New-FalVideo send such a row");
        CostBreakdown? cost;
        int? billedSeconds;
        if (VideoRequestPlanner.Builds(mode))
        {
            // The submitters' own planner: same checks, same price.
            var plan = VideoRequestPlanner.Plan(videoRow, model, mode, catalog, new MediaPaths(text => FalCmdletBase.ResolveMediaPath(SessionState, text)), refusals);
            cost = refusals.Count == 0 ? plan?.Cost : null;
            billedSeconds = plan?.DurationSeconds;
            if (plan is { LengthNote: { } lengthNote, Cost.IsUpperBound: false } && refusals.Count == 0) notes.Add($"length: {lengthNote}");
        }
        else
        {
            // Reference-to-video, video-to-video, lip-sync...: sent with Invoke-FalModel, which checks nothing before fal does.
            cost = null;
            billedSeconds = duration;
            notes.Add($"sent with Invoke-FalModel -Endpoint {model.EndpointFor(mode)}");
        }
        if (model.IsRetired) refusals.Add($"Model '{model.Name}' is retired upstream: {model.RetiredNote}");
        if (refusals.Count > 0 || cost is null)
        {
            // What the row would cost at the values it gives, shown beside the reason it can't be sent (articles compare
            // models at lengths they don't offer); never in the Total.
            cost = CostCalculator.Estimate(model, new CostQuery
            {
                Mode = mode, DurationSeconds = shots?.Sum(x => x.Duration ?? 0) ?? duration, GenerateAudio = audio, Voice = voice ?? false,
                Elements = elements ?? false, Resolution = resolution, CharacterOrientation = videoRow.CharacterOrientation,
            });
        }
        if (model.IsRetired) notes.Add($"retired upstream; priced for comparison ({model.RetiredNote})");
        if (duration is { } d && model.Durations.Length > 0 && !model.Durations.Contains(d))
            notes.Add($"{d} s is not offered by {model.Name} (allowed: {string.Join(", ", model.Durations)} s)");
        if (cost is null)
            notes.Add(model.Prices.Length == 0 ? VideoModel.UnknownPrice
                : model.LengthFromVideo is not null ? "priced per second of the input video: give Duration (its length in seconds)"
                : "price unknown for these settings (fal publishes none for them)");
        else if (cost.IsUpperBound)
            notes.Add($"at most: the output follows the input video, up to {cost.BilledSeconds} s; give Duration (the video's length)" +
                      (mode == VideoModes.MotionControl ? " or a local MotionVideo file" : "") + " for the price");
        var refused = refusals.Count > 0;
        var count = quantity ?? 1;
        Emit(new VideoCostEstimate
        {
            Kind = "Row", Row = FalCmdletBase.RowNumberOf(row) ?? _row, Id = id, Model = model.Name, Mode = mode, EndpointId = model.EndpointFor(mode),
            DurationSeconds = cost?.BilledSeconds ?? billedSeconds ?? duration ?? model.DefaultDuration,
            GenerateAudio = cost?.GenerateAudio ?? (model.SupportsAudio && (audio ?? model.DefaultAudio)),
            Resolution = cost?.Resolution ?? model.Resolution, Quantity = count, Unit = cost?.Unit,
            UnitPriceUsd = cost?.UnitPriceUsd, EstimatedCostUsd = cost is null ? null : cost.CostPerClipUsd * count,
            IsUpperBound = cost?.IsUpperBound ?? false,
            Refused = refused, RefusedReason = refused ? $"{label}: {string.Join(" ", refusals)}" : null,
            PriceSource = model.PriceSource, PriceDate = model.PriceDate, PriceNote = model.PriceNote, Note = notes.Count > 0 ? string.Join("; ", notes) : null,
        });
    }

    /// <summary>The items of a list-valued property (a group's rows, a Shot column holding objects); null otherwise.</summary>
    private static object[]? Items(object? value) => (value is PSObject p ? p.BaseObject : value) switch
    {
        null or string => null,
        System.Collections.IEnumerable e => e.Cast<object?>().Where(x => x is not null).Select(x => x!).ToArray(),
        _ => null,
    };

    private static PSPropertyInfo? Property(PSObject? row, string[] names)
    {
        if (row is null) return null;
        foreach (var name in names)
            if (row.Properties[name] is { } p) return p;
        return null;
    }

    private static bool Has(PSObject? row, params string[] names) => Property(row, names) is not null;

    private static object? Value(PSObject? row, params string[] names) => Property(row, names)?.Value;

    private static string? Text(PSObject? row, params string[] names) =>
        Value(row, names) is { } v && (v is PSObject p ? p.BaseObject : v).ToString() is { } s && s.Trim().Length > 0 ? s.Trim() : null;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        WarnOtherHosts();
        if (NoTotal || _rows.Count == 0) return;
        if (JobsTotal() is { } jobsTotal)
        {
            WriteObject(jobsTotal);
            return;
        }
        var counted = _rows.Where(r => !r.Refused && r.EstimatedCostUsd is not null).ToList();
        var unpriced = _rows.Count(r => !r.Refused && r.EstimatedCostUsd is null);
        var refused = _rows.Count(r => r.Refused);
        var bounds = counted.Count(r => r.IsUpperBound);
        var note = $"{_rows.Count} row(s)";
        if (unpriced > 0) note += $"; excludes {unpriced} row(s) with price unknown";
        if (refused > 0) note += $"; excludes {refused} row(s) the submitters would refuse (see RefusedReason)";
        if (bounds > 0) note += $"; {bounds} row(s) counted at their most (length not known)";
        WriteObject(new VideoCostEstimate
        {
            Kind = "Total",
            Quantity = counted.Sum(r => r.Quantity),
            EstimatedCostUsd = counted.Sum(r => r.EstimatedCostUsd ?? 0m),
            IsUpperBound = bounds > 0,
            Note = note,
        });
    }

    private void Emit(VideoCostEstimate estimate)
    {
        _rows.Add(estimate);
        WriteObject(estimate);
    }
}

/// <summary>
/// One priced row of <c>Measure-VideoCost</c>, or its Total. Amounts in USD, durations in seconds; prices from
/// the shipped catalog (published fal prices; see <see cref="PriceSource"/> and <see cref="PriceDate"/>).
/// </summary>
public sealed class VideoCostEstimate
{
    /// <summary><c>Row</c> for an input row, <c>Job</c> for a piped job, <c>Total</c> for the sum.</summary>
    public string Kind { get; init; } = "Row";
    /// <summary>1-based input row number: the row's own Row column when it has one, else its place among the rows that reached the cmdlet (see about_FalVideo, "Row numbers"); null on the Total.</summary>
    public int? Row { get; init; }
    /// <summary>The row's Id column, if any.</summary>
    public string? Id { get; init; }
    /// <summary>Catalog model name.</summary>
    public string? Model { get; init; }
    /// <summary>text-to-video or image-to-video.</summary>
    public string? Mode { get; init; }
    /// <summary>fal endpoint id the row would be sent to.</summary>
    public string? EndpointId { get; init; }
    /// <summary>Seconds billed per clip; null when the model picks the length (flat price).</summary>
    public int? DurationSeconds { get; init; }
    /// <summary>Audio setting priced.</summary>
    public bool? GenerateAudio { get; init; }
    /// <summary>Resolution priced.</summary>
    public string? Resolution { get; init; }
    /// <summary>Number of identical clips.</summary>
    public int Quantity { get; init; } = 1;
    /// <summary><c>second</c> or <c>video</c>.</summary>
    public string? Unit { get; init; }
    /// <summary>USD per unit.</summary>
    public decimal? UnitPriceUsd { get; init; }
    /// <summary>USD for the row (all clips); null when fal publishes no price ("price unknown"). On a refused row: what it
    /// would cost at the values it gives, for comparison.</summary>
    public decimal? EstimatedCostUsd { get; init; }
    /// <summary>True when the output length was not known (motion control from a reference video not read) and
    /// <see cref="EstimatedCostUsd"/> is the most the row can cost; on the Total, when it includes such a row.</summary>
    public bool IsUpperBound { get; init; }
    /// <summary>True when New-KlingVideo / New-HailuoVideo / New-FalVideo would refuse the row (the same checks); the Total leaves it out.</summary>
    public bool Refused { get; init; }
    /// <summary>Why the row would be refused, naming the row and the field; null when it would be sent.</summary>
    public string? RefusedReason { get; init; }
    /// <summary>Where the price comes from.</summary>
    public string? PriceSource { get; init; }
    /// <summary>When the price was published.</summary>
    public string? PriceDate { get; init; }
    /// <summary>Where fal's pages disagree about the model's price: both sources and which one the estimate uses, and why.</summary>
    public string? PriceNote { get; init; }
    /// <summary>Caveats: retired model, no price, failed job.</summary>
    public string? Note { get; init; }
    /// <summary>For a piped job: what fal billed (billed units × the catalog's unit price, <c>x-fal-billable-units</c>);
    /// null when fal did not say. On the Total: the sum of the known billed amounts.</summary>
    public decimal? BilledCostUsd { get; init; }
    /// <summary>For a piped job: the USD counted in the Total: <see cref="BilledCostUsd"/> when known, else the estimate;
    /// 0 for a job fal does not bill (failed, rejected, cancelled while queued, not finished yet). On the Total: their sum.</summary>
    public decimal? CostUsd { get; init; }
    /// <summary>For a piped job: where <see cref="CostUsd"/> comes from: <c>billable units</c>, <c>estimate</c> or
    /// <c>not billed</c>.</summary>
    public string? CostBasis { get; init; }
}
