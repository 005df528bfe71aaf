using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Submits Hailuo (MiniMax) video generations to fal's queue, one request per input row.</para>
/// <para type="description">Checks each row against the model's inputs, prices it from the shipped catalog, uploads a
/// local image through fal storage, submits one fal queue request and emits a FalJob at once.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "HailuoVideo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJob))]
public sealed class NewHailuoVideoCommand : NewVideoCommandBase
{
    /// <summary>Output length in seconds where the endpoint takes one: 6 (default) or 10 on standard tiers; pro tiers pick it themselves.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvInteger("Duration", "6 or 10 seconds on Hailuo standard tiers; empty on pro tiers")]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public int? Duration { get; set; }

    /// <summary>Image to animate: a local file (a PowerShell path: ~, relative to the current location, or a PSDrive; uploaded to fal storage) or an http(s) URL. Selects image-to-video.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("image_url", "StartImage")]
    public string? Image { get; set; }

    /// <summary>Let MiniMax rewrite the prompt (true/false; fal's default true).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("prompt_optimizer")]
    [CsvBoolean("PromptOptimizer")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.BooleanCompleter))]
    public bool? PromptOptimizer { get; set; }

    /// <inheritdoc />
    protected override string? Family => "Hailuo";

    /// <inheritdoc />
    protected override string DefaultModel => "hailuo-2.3-pro";

    internal override VideoRow CurrentRow(List<string> problems) => new()
    {
        Id = Id, Prompt = Prompt, Model = Model, Duration = Duration, PromptOptimizer = PromptOptimizer, StartImage = Image,
    };
}
