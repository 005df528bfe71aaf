using System.Management.Automation;

namespace FalVideo.Jobs;

/// <summary>
/// What <c>Save-FalVideo</c> returns for each video saved: one report line (<c>| Export-Csv done.csv</c> gives one row per
/// video, with the columns below in this order) that maps the file back to its request, prompt and cost. The file itself
/// is one property away (<see cref="File"/>), and <see cref="PSPath"/> lets <c>| Get-Item</c> and <c>| Remove-Item</c>
/// take it from the pipeline. <c>Import-Csv done.csv | Save-FalVideo -Force</c> saves the same videos again to the same
/// files: its RequestId column binds by property name and the job store supplies the rest.
/// </summary>
public sealed class SavedVideo
{
    /// <summary>fal's request id (a UUID).</summary>
    public string RequestId { get; init; } = "";
    /// <summary>fal endpoint id the request was submitted to, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</summary>
    public string EndpointId { get; init; } = "";
    /// <summary>Catalog short name, e.g. <c>kling-v3-pro</c>; empty for endpoints outside the catalog.</summary>
    public string Model { get; init; } = "";
    /// <summary>The row's own identifier (its <c>Id</c> column), or null.</summary>
    public string? Id { get; init; }
    /// <summary>The prompt sent (empty for prompt-less requests).</summary>
    public string Prompt { get; init; } = "";
    /// <summary>The job's status when it was saved (Completed; Cancelled for a cancel that arrived while it ran and still
    /// produced a video).</summary>
    public FalJobStatus Status { get; init; }
    /// <summary>Requested length in seconds; null when the model picks it.</summary>
    public int? DurationSeconds { get; init; }
    /// <summary>Estimated cost in USD from the price catalog, as recorded at submission; null when no price is known.</summary>
    public decimal? EstimatedCostUsd { get; init; }
    /// <summary>Billed cost in USD when fal reported the billed quantity (<c>x-fal-billable-units</c> × the catalog's unit
    /// price, PROTOCOL.md "Headers worth exposing"); null when not known. <c>Get-FalJobCost</c> reads fal's billed amounts.</summary>
    public decimal? BilledCostUsd { get; init; }
    /// <summary>Full path of the saved file.</summary>
    public string Path { get; init; } = "";
    /// <summary>Size of the saved file in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The saved file. Hidden from the report columns and the default views; <c>$v.File</c> reaches it.</summary>
    [Hidden]
    public FileInfo File { get; init; } = null!;

    /// <summary>The file's provider path (<c>Microsoft.PowerShell.Core\FileSystem::&lt;path&gt;</c>): what <c>Get-Item</c>,
    /// <c>Remove-Item</c> and the other item cmdlets bind from the pipeline (their <c>-LiteralPath</c> alias). Hidden from
    /// the report columns.</summary>
    [Hidden]
    public string PSPath { get; init; } = "";

    /// <summary>The video's URL at fal's CDN (public). Hidden from the report columns.</summary>
    [Hidden]
    public string? VideoUrl { get; init; }

    /// <inheritdoc />
    public override string ToString() => Path;
}
