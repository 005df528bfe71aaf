using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Catalog;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Estimates what video generations will cost, offline, before anything is spent.</para>
/// <para type="description">Prices each row from the shipped price catalog (published fal prices with their source
/// and date) and ends with a Total row. Quantity means that many identical clips. Rows for retired models are
/// priced for comparison and say so. Piped FalJob objects count only when fal bills them (not failed, rejected,
/// cancelled-in-queue or unfinished jobs), at their billed units × unit price when fal reported them, else their estimate.</para>
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
    private readonly List<VideoCostEstimate> _rows = new();
    private int _row;

    /// <summary>
    /// Rows to price (CSV rows, objects) with properties Model, Mode, Duration, GenerateAudio, Voice, Elements, Resolution,
    /// Quantity, Id and StartImage/Image (all may be text; empty means the default), or FalJob objects (counted only when fal bills them:
    /// billed units × unit price when known, else their estimate). Properties are read from each object directly, which keeps 100,000 rows fast.
    /// </summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = RowSet)]
    public PSObject? InputObject { get; set; }

    /// <summary>Catalog model name or endpoint id, e.g. kling-v3-pro; used when a row has no Model.</summary>
    [Parameter(Position = 0, ParameterSetName = RowSet)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>text-to-video or image-to-video; default: image-to-video when an image is given, else text-to-video.</summary>
    [Parameter(ParameterSetName = RowSet)]
    public string? Mode { get; set; }

    /// <summary>Seconds of output; default: the model's default.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvInteger("Duration", "a duration the model offers, in seconds")]
    public int? Duration { get; set; }

    /// <summary>Audio on or off; default: the model's default (Kling v3: on).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("GenerateAudio")]
    public bool? GenerateAudio { get; set; }

    /// <summary>Voice control requested (Kling v3).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("Voice")]
    public bool? Voice { get; set; }

    /// <summary>Elements used (Kling v3 image-to-video).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [CsvBoolean("Elements")]
    public bool? Elements { get; set; }

    /// <summary>Resolution where it changes the price (Hailuo 02: 512P/768P; Sora 2 pro: 720p/1080p/true_1080p).</summary>
    [Parameter(ParameterSetName = RowSet)]
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
            Emit(FromJob(job, ++_row));
            return;
        }
        _row++;
        var label = MyInvocation.ExpectingInput ? $"Row {_row}" : "Input";
        var problems = BindingProblems.Take().ToList();
        var row = InputObject;
        var modelText = Text(row, "Model") ?? Model;
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
        var model = catalog.Find(modelText, out var endpointMode);
        if (model is null)
            problems.Add(string.IsNullOrWhiteSpace(modelText)
                ? "Model is missing; give a catalog model name such as kling-v3-pro."
                : $"Model '{modelText}' is not in the price catalog; allowed: {string.Join(", ", catalog.Models.Select(m => m.Name))}.");
        if (quantity is < 1) problems.Add($"Quantity {quantity} is not allowed; allowed: 1 or more.");
        var mode = endpointMode ?? modeText?.ToLowerInvariant()
                   ?? (model is { Modes.Length: 1 } ? model.Modes[0] : image is null ? VideoModes.TextToVideo : VideoModes.ImageToVideo);
        if (model is not null && model.EndpointFor(mode) is null)
            problems.Add($"Mode '{mode}' is not offered by {model.Name}; allowed: {string.Join(", ", model.Endpoints.Keys)}.");
        if (problems.Count > 0 || model is null)
        {
            var message = $"{label}: {string.Join(" ", problems)}";
            WriteError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, id ?? modelText, new ArgumentException(message)));
            return;
        }

        var cost = CostCalculator.Estimate(model, new CostQuery
        {
            Mode = mode, DurationSeconds = duration, GenerateAudio = audio, Voice = voice ?? false,
            Elements = elements ?? false, Resolution = resolution, Quantity = quantity ?? 1,
        });
        var notes = new List<string>();
        // A duration off the model's menu is still priced (articles compare models at equal lengths), with a caveat.
        if (duration is { } d && model.Durations.Length > 0 && !model.Durations.Contains(d))
            notes.Add($"{d} s is not offered by {model.Name} (allowed: {string.Join(", ", model.Durations)} s)");
        if (model.IsRetired) notes.Add($"retired upstream; priced for comparison ({model.RetiredNote})");
        if (cost is null) notes.Add("no published price for these settings");
        Emit(new VideoCostEstimate
        {
            Kind = "Row", Row = _row, Id = id, Model = model.Name, Mode = mode, EndpointId = model.EndpointFor(mode),
            DurationSeconds = cost?.BilledSeconds ?? duration ?? model.DefaultDuration,
            GenerateAudio = cost?.GenerateAudio ?? (model.SupportsAudio && (audio ?? model.DefaultAudio)),
            Resolution = cost?.Resolution ?? model.Resolution, Quantity = quantity ?? 1, Unit = cost?.Unit,
            UnitPriceUsd = cost?.UnitPriceUsd, EstimatedCostUsd = cost?.TotalUsd,
            PriceSource = model.PriceSource, PriceDate = model.PriceDate, Note = notes.Count > 0 ? string.Join("; ", notes) : null,
        });
    }

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
        if (NoTotal || _rows.Count == 0) return;
        if (JobsTotal() is { } jobsTotal)
        {
            WriteObject(jobsTotal);
            return;
        }
        var unpriced = _rows.Count(r => r.EstimatedCostUsd is null);
        WriteObject(new VideoCostEstimate
        {
            Kind = "Total",
            Quantity = _rows.Sum(r => r.Quantity),
            EstimatedCostUsd = _rows.Sum(r => r.EstimatedCostUsd ?? 0m),
            Note = $"{_rows.Count} row(s)" + (unpriced > 0 ? $"; {unpriced} without a price are not in the total" : ""),
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
    /// <summary>1-based input row number; null on the Total.</summary>
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
    /// <summary>USD for the row (all clips); null when no price is published.</summary>
    public decimal? EstimatedCostUsd { get; init; }
    /// <summary>Where the price comes from.</summary>
    public string? PriceSource { get; init; }
    /// <summary>When the price was published.</summary>
    public string? PriceDate { get; init; }
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
