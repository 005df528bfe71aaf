using System.Management.Automation;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// The model inputs New-KlingVideo and New-FalVideo share (fal's field names as aliases, so CSV columns named either
/// way bind): duration, aspect ratio, audio, negative prompt, cfg scale, start and end images, shots, elements, shot type.
/// </summary>
public abstract class VideoInputCommandBase : NewVideoCommandBase
{
    /// <summary>Output length in seconds, as the model offers: 3–15 on Kling v3 and O3 (default 5), 5 or 10 on Kling 2.x, 6 or 10 on Hailuo standard tiers.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [CsvInteger("Duration", "3–15 seconds (Kling v3/O3), 5 or 10 (Kling 2.x), 6 or 10 (Hailuo standard)")]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public int? Duration { get; set; }

    /// <summary>Frame shape for text-to-video: 16:9 (default), 9:16 or 1:1. Image-to-video follows the image.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("aspect_ratio")]
    [ArgumentCompleter(typeof(AspectRatioCompleter))]
    public string? AspectRatio { get; set; }

    /// <summary>Generate an audio track (true/false; fal's default on Kling v3 is true, and it costs more).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("generate_audio", "Audio")]
    [CsvBoolean("GenerateAudio")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.BooleanCompleter))]
    public bool? GenerateAudio { get; set; }

    /// <summary>What to avoid (fal's default: "blur, distort, and low quality").</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("negative_prompt")]
    public string? NegativePrompt { get; set; }

    /// <summary>How closely to follow the prompt, 0 to 1 (fal's default 0.5).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("cfg_scale")]
    [CsvNumber("CfgScale", "0 to 1")]
    public double? CfgScale { get; set; }

    /// <summary>First frame: a local image file (a PowerShell path: ~, relative to the current location, or a PSDrive such as acc:/bowl.png; uploaded to fal storage) or an http(s) URL. Selects image-to-video.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("start_image_url", "Image", "image_url")]
    public string? StartImage { get; set; }

    /// <summary>Last frame for image-to-video: a local image file (a PowerShell path, as -StartImage) or an http(s) URL.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("end_image_url", "tail_image_url")]
    public string? EndImage { get; set; }

    /// <summary>
    /// Multi-shot: objects with Prompt and Duration (seconds, at least 1 each, 3–15 in total), and optionally a Shot
    /// number to order them. Binds from Group-Object's Group, so <c>Import-Csv shots.csv | Group-Object Id | New-KlingVideo</c>
    /// makes one multi-shot request per Id. Replaces -Prompt.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Group", "multi_prompt", "Shots")]
    public object[]? Shot { get; set; }

    /// <summary>
    /// Elements (image-to-video): objects with FrontalImage and 1–3 ReferenceImages, or a Video; optionally VoiceId
    /// (voice control). Local files are uploaded. Referenced in prompts as @Element1, @Element2….
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("elements")]
    public object[]? Element { get; set; }

    /// <summary>customize (default) or intelligent: how Kling cuts between shots.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("shot_type")]
    [ArgumentCompleter(typeof(ShotTypeCompleter))]
    public string? ShotType { get; set; }

    /// <summary>The row with the inputs declared here filled in.</summary>
    internal VideoRow SharedRow(List<string> problems) => new()
    {
        // A multi-shot group (Group-Object's output) carries its rows' Model: the group has no Model of its own.
        Id = Id, Prompt = Prompt, Model = Model ?? PipelineObjects.SharedText(Shot, "Model", problems), Duration = Duration, AspectRatio = AspectRatio,
        GenerateAudio = GenerateAudio, NegativePrompt = NegativePrompt, CfgScale = CfgScale,
        StartImage = StartImage, EndImage = EndImage, ShotType = ShotType,
        Shots = PipelineObjects.ToShots(Shot, problems), Elements = PipelineObjects.ToElements(Element),
    };
}
