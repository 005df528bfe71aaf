using System.Management.Automation;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Transfers the motion of a reference video onto a character image with Kling v3 motion control.</para>
/// <para type="description">Uploads a local character image and motion video through fal storage, submits one fal
/// queue request per row to fal-ai/kling-video/v3/pro/motion-control (or standard), and emits a FalJob at once.
/// The output follows the reference video's length (CharacterOrientation image: up to 10 s; video: up to 30 s), and so does
/// the price (per second): -WhatIf reads a local video's length with ffprobe when it is installed; for a URL, or without
/// ffprobe, it shows the most the request can cost (10 s or 30 s).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "KlingMotionVideo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJob))]
public sealed class NewKlingMotionVideoCommand : NewVideoCommandBase
{
    /// <summary>The character: a local image file (a PowerShell path: ~, relative to the current location, or a PSDrive; uploaded) or an http(s) URL.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("image_url", "StartImage")]
    public string? Image { get; set; }

    /// <summary>The motion reference: a local video file (a PowerShell path, as -Image; uploaded) or an http(s) URL.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("video_url")]
    public string? MotionVideo { get; set; }

    /// <summary>image: the character keeps the image's orientation (output up to 10 s); video: follows the video's (up to 30 s).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("character_orientation")]
    [ArgumentCompleter(typeof(CharacterOrientationCompleter))]
    public string? CharacterOrientation { get; set; }

    /// <summary>Keep the reference video's sound (true/false; fal's default true).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("keep_original_sound")]
    [CsvBoolean("KeepOriginalSound")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.BooleanCompleter))]
    public bool? KeepOriginalSound { get; set; }

    /// <summary>At most one element, with CharacterOrientation video: FrontalImage + ReferenceImages, or a Video.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("elements")]
    public object[]? Element { get; set; }

    /// <inheritdoc />
    protected override string? Family => "Kling";

    /// <inheritdoc />
    protected override string DefaultModel => "kling-v3-pro-motion-control";

    internal override VideoRow CurrentRow(List<string> problems) => new()
    {
        Id = Id, Prompt = Prompt, Model = Model, StartImage = Image, MotionVideo = MotionVideo,
        CharacterOrientation = CharacterOrientation ?? "", KeepOriginalSound = KeepOriginalSound,
        Elements = PipelineObjects.ToElements(Element),
    };
}
