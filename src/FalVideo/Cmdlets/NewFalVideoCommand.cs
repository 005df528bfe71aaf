using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.Planning;
using FalVideo.PowerShell.Requests;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>How New-FalVideo picks a model for each row.</summary>
public enum FalRoute
{
    /// <summary>The row's Model column (or -Model) decides.</summary>
    None,
    /// <summary>The cheapest active catalog model that can do the row and meets -Require.</summary>
    Cheapest,
}

/// <summary>
/// <para type="synopsis">Submits video generations to whichever catalog model each row names, or routes each row to the cheapest able model.</para>
/// <para type="description">Takes rows whose Model column names any catalog model (Kling or Hailuo, short name or endpoint id)
/// and sends each to the right endpoint, with the same checks, prices, -WhatIf, journal and job objects as New-KlingVideo and
/// New-HailuoVideo. With -Route Cheapest, each row goes to the cheapest active model that can do it (its mode, duration, shots,
/// elements, end image) and meets -Require (audio, multi-shot, 1080p, 4k, a duration such as 10s…); the job's RouteReason says
/// which model was chosen and why. A row goes only to a model that takes every value it gives (each candidate is checked
/// exactly as it would be sent).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "FalVideo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FalJob))]
public sealed class NewFalVideoCommand : VideoInputCommandBase
{
    /// <summary>Let MiniMax rewrite the prompt (Hailuo; true/false).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("prompt_optimizer")]
    [CsvBoolean("PromptOptimizer")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.BooleanCompleter))]
    public bool? PromptOptimizer { get; set; }

    /// <summary>Output resolution where the model offers a choice (Hailuo 02: 512P, 768P).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ResolutionCompleter))]
    public string? Resolution { get; set; }

    /// <summary>None (default): each row's Model decides. Cheapest: the cheapest active catalog model able to do the row.</summary>
    [Parameter]
    public FalRoute Route { get; set; }

    /// <summary>With -Route Cheapest: what the chosen model must offer: audio, multi-shot, elements, voice, end-image, 720p, 768p, 1080p, 4k,
    /// or a duration such as 10s (a row without its own Duration is then sent at that length). Without -Route Cheapest it is an
    /// error (FalInvalidInput), nothing sent. A row whose GenerateAudio is false is refused under -Require audio.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RequirementCompleter))]
    public string[] Require { get; set; } = [];

    /// <inheritdoc />
    protected override string? Family => null;

    /// <inheritdoc />
    protected override string DefaultModel => "kling-v3-pro";

    internal override VideoRow CurrentRow(List<string> problems) =>
        SharedRow(problems) with { PromptOptimizer = PromptOptimizer, Resolution = Resolution };

    internal override VideoRequestPlan? PlanRecord(List<string> problems, out VideoRow row)
    {
        if (Route == FalRoute.None) return base.PlanRecord(problems, out row);
        row = CurrentRow(problems);
        // Every candidate is planned as it would be sent: the row goes only to a model that takes all its values.
        return CheapestRouter.Choose(row, Require, PriceCatalog, LocalPaths, problems, out _, out var plan) is null ? null : plan;
    }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // -Require only steers -Route Cheapest. Ignoring it would send each row to its own Model without the audio, length
        // or resolution the caller asked for, and spend money on it: a parameter error before anything is sent, as
        // PowerShell reports parameters that don't go together.
        if (Require.Length > 0 && Route != FalRoute.Cheapest)
        {
            const string message = "-Require applies only with -Route Cheapest (it says what the chosen model must offer). Add -Route Cheapest, " +
                                   "or leave -Require out and name the model in each row's Model column (or with -Model). Nothing was sent.";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, Require, new ArgumentException(message, nameof(Require))));
        }
        base.BeginProcessing();
    }
}
