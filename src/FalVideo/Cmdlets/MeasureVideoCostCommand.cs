using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Estimates what video generations will cost, offline, before anything is spent.</para>
/// <para type="description">Prices each row from the shipped price catalog (published fal prices with their source
/// and date) and ends with a Total row. Quantity means that many identical clips. Rows for retired models are
/// priced for comparison and say so. Piped FalJob objects are summed from their estimates.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "VideoCost", DefaultParameterSetName = RowSet)]
[OutputType(typeof(VideoCostEstimate))]
public sealed class MeasureVideoCostCommand : PSCmdlet
{
    private const string RowSet = "Row";
    private const string JobSet = "Job";
    private readonly List<VideoCostEstimate> _rows = new();
    private int _row;

    /// <summary>Catalog model name or endpoint id, e.g. kling-v3-pro.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [AllowEmptyString]
    public string? Model { get; set; }

    /// <summary>text-to-video or image-to-video; default: image-to-video when an image is given, else text-to-video.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    public string? Mode { get; set; }

    /// <summary>Seconds of output; default: the model's default.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [CsvInteger("Duration", "a duration the model offers, in seconds")]
    public int? Duration { get; set; }

    /// <summary>Audio on or off; default: the model's default (Kling v3: on).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Alias("generate_audio", "Audio")]
    [CsvBoolean("GenerateAudio")]
    public bool? GenerateAudio { get; set; }

    /// <summary>Voice control requested (Kling v3).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [CsvBoolean("Voice")]
    public bool? Voice { get; set; }

    /// <summary>Elements used (Kling v3 image-to-video).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [CsvBoolean("Elements")]
    public bool? Elements { get; set; }

    /// <summary>Resolution where it changes the price (Hailuo 02: 512P/768P; Sora 2 pro: 720p/1080p/true_1080p).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    public string? Resolution { get; set; }

    /// <summary>Number of identical clips (default 1).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [CsvInteger("Quantity", "a whole number of clips, 1 or more")]
    public int? Quantity { get; set; }

    /// <summary>Your row identifier, carried onto the estimate.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    public string? Id { get; set; }

    /// <summary>An image column (StartImage/Image); only its presence matters (image-to-video).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Alias("Image", "image_url", "start_image_url")]
    public string? StartImage { get; set; }

    /// <summary>Jobs already submitted (their estimates are summed: spend so far).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = JobSet)]
    public FalJob[]? Job { get; set; }

    /// <summary>Leaves out the final Total row (handy before Export-Csv).</summary>
    [Parameter]
    public SwitchParameter NoTotal { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == JobSet)
        {
            foreach (var job in Job ?? []) Emit(FromJob(job, ++_row));
            return;
        }
        _row++;
        var label = MyInvocation.ExpectingInput ? $"Row {_row}" : "Input";
        var problems = BindingProblems.Take().ToList();
        var model = Settings.FalSettings.Current.Catalog.Find(Model, out var endpointMode);
        if (model is null)
            problems.Add(string.IsNullOrWhiteSpace(Model)
                ? "Model is missing; give a catalog model name such as kling-v3-pro."
                : $"Model '{Model}' is not in the price catalog; allowed: {string.Join(", ", Settings.FalSettings.Current.Catalog.Models.Select(m => m.Name))}.");
        if (Quantity is < 1) problems.Add($"Quantity {Quantity} is not allowed; allowed: 1 or more.");
        var mode = endpointMode ?? (string.IsNullOrWhiteSpace(Mode) ? null : Mode.Trim().ToLowerInvariant())
                   ?? (string.IsNullOrWhiteSpace(StartImage) ? VideoModes.TextToVideo : VideoModes.ImageToVideo);
        if (model is not null && model.EndpointFor(mode) is null)
            problems.Add($"Mode '{mode}' is not offered by {model.Name}; allowed: {string.Join(", ", model.Endpoints.Keys)}.");
        if (problems.Count > 0 || model is null)
        {
            var message = $"{label}: {string.Join(" ", problems)}";
            WriteError(new ErrorRecord(new ArgumentException(message), "FalInvalidInput", ErrorCategory.InvalidArgument, Id ?? Model)
            { ErrorDetails = new ErrorDetails(message) });
            return;
        }

        var cost = CostCalculator.Estimate(model, new CostQuery
        {
            Mode = mode, DurationSeconds = Duration, GenerateAudio = GenerateAudio, Voice = Voice ?? false,
            Elements = Elements ?? false, Resolution = string.IsNullOrWhiteSpace(Resolution) ? null : Resolution.Trim(),
            Quantity = Quantity ?? 1,
        });
        var notes = new List<string>();
        // A duration off the model's menu is still priced (articles compare models at equal lengths), with a caveat.
        if (Duration is { } d && model.Durations.Length > 0 && !model.Durations.Contains(d))
            notes.Add($"{d} s is not offered by {model.Name} (allowed: {string.Join(", ", model.Durations)} s)");
        if (model.IsRetired) notes.Add($"retired upstream; priced for comparison ({model.RetiredNote})");
        if (cost is null) notes.Add("no published price for these settings");
        Emit(new VideoCostEstimate
        {
            Kind = "Row", Row = _row, Id = Id, Model = model.Name, Mode = mode, EndpointId = model.EndpointFor(mode),
            DurationSeconds = cost?.BilledSeconds ?? Duration ?? model.DefaultDuration,
            GenerateAudio = cost?.GenerateAudio ?? (model.SupportsAudio && (GenerateAudio ?? model.DefaultAudio)),
            Resolution = cost?.Resolution ?? model.Resolution, Quantity = Quantity ?? 1, Unit = cost?.Unit,
            UnitPriceUsd = cost?.UnitPriceUsd, EstimatedCostUsd = cost?.TotalUsd,
            PriceSource = model.PriceSource, PriceDate = model.PriceDate, Note = notes.Count > 0 ? string.Join("; ", notes) : null,
        });
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (NoTotal || _rows.Count == 0) return;
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

    private static VideoCostEstimate FromJob(FalJob job, int row) => new()
    {
        Kind = "Job", Row = row, Id = job.Id ?? job.RequestId, Model = job.Model, Mode = job.Mode, EndpointId = job.EndpointId,
        DurationSeconds = job.DurationSeconds, Quantity = 1, EstimatedCostUsd = job.EstimatedCostUsd,
        Note = job.Status == FalJobStatus.Failed ? "failed job (5xx failures are not billed)" : job.Status.ToString(),
    };
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
}
