using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Catalog;
using FalVideo.PowerShell.Completion;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists the video models the module knows: endpoints, modes, durations, prices and status.</para>
/// <para type="description">Reads the shipped price catalog (with the session's price overrides, if any). Each model shows
/// its short name, fal endpoint ids, modes, durations, aspect ratios, resolution, features (audio, multi-shot, elements…),
/// price rule in USD, the price's source and date, and whether it is active or retired.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "FalModel")]
[OutputType(typeof(VideoModel))]
public sealed class GetFalModelCommand : PSCmdlet
{
    /// <summary>Model name or endpoint id; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Model", "EndpointId")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only this family: Kling, Hailuo or Sora.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(FamilyCompleter))]
    public string? Family { get; set; }

    /// <summary>Only models offering all of these: modes (text-to-video, image-to-video, motion-control…), audio, multi-shot, elements, voice, end-image, a resolution. A word no catalog model offers is an error (FalInvalidInput), not an empty list.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(FeatureCompleter))]
    public string[]? Feature { get; set; }

    /// <summary>Include retired models (they are listed by default; use -ActiveOnly to hide them).</summary>
    [Parameter]
    public SwitchParameter ActiveOnly { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (Feature is { Length: > 0 })
        {
            // An unknown word would filter every model out: say so instead of returning nothing.
            var known = FeatureCompleter.Known(Settings.FalSettings.Current.Catalog);
            var unknown = Feature.Select(f => f.Trim()).Where(f => !known.ContainsKey(f)).ToList();
            if (unknown.Count > 0)
            {
                var message = $"-Feature '{string.Join("', '", unknown)}' is not a feature of any catalog model; known features: " +
                              $"{string.Join(", ", known.Keys.OrderBy(k => k, StringComparer.Ordinal))}.";
                ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, Feature, new ArgumentException(message, nameof(Feature))));
            }
        }
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var found = false;
        foreach (var m in Settings.FalSettings.Current.Catalog.Models)
        {
            if (patterns is not null && !patterns.Any(p => p.IsMatch(m.Name) || m.EndpointIds.Any(p.IsMatch))) continue;
            if (Family is not null && !string.Equals(m.Family, Family, StringComparison.OrdinalIgnoreCase)) continue;
            if (ActiveOnly && m.IsRetired) continue;
            if (Feature is not null && !Feature.All(f => m.Features.Contains(f.Trim().ToLowerInvariant()))) continue;
            found = true;
            WriteObject(m);
        }
        if (!found && Name is { Length: > 0 } && !Name.Any(WildcardPattern.ContainsWildcardCharacters))
        {
            var message = $"No catalog model matches '{string.Join("', '", Name)}'. Invoke-FalModel -EndpointId sends to any fal endpoint.";
            WriteError(ErrorRecords.Create(FalErrorIds.ModelNotFound, message, Name, new ItemNotFoundException(message)));
        }
    }
}
