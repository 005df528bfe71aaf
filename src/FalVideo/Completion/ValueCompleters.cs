using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace FalVideo.PowerShell.Completion;

/// <summary>Completes from a fixed list of fal enum values (kept as completion so empty CSV cells still bind).</summary>
public abstract class FixedValuesCompleter(params string[] values) : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Match(values.Select(v => (v, v)), wordToComplete);
}

/// <summary>Kling <c>shot_type</c>: customize, intelligent.</summary>
public sealed class ShotTypeCompleter() : FixedValuesCompleter("customize", "intelligent");

/// <summary>Kling motion control <c>character_orientation</c>: image, video.</summary>
public sealed class CharacterOrientationCompleter() : FixedValuesCompleter("image", "video");

/// <summary>New-FalVideo <c>-Require</c> words.</summary>
public sealed class RequirementCompleter() : FixedValuesCompleter(FalVideo.Planning.CheapestRouter.Requirements.Concat(["5s", "6s", "10s"]).ToArray());

/// <summary>Model families: Kling, Hailuo, Sora.</summary>
public sealed class FamilyCompleter() : FixedValuesCompleter("Kling", "Hailuo", "Sora");

/// <summary>
/// Output modes (<c>text-to-video</c>, <c>image-to-video</c>, …) of the model given with -Model on the command line, else
/// of every catalog model.
/// </summary>
public sealed class ModeCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var named = fakeBoundParameters["Model"] is string name ? FalVideo.Catalog.ModelCatalog.Default.Find(name) : null;
        var models = named is null ? FalVideo.Catalog.ModelCatalog.Default.Models : [named];
        var modes = models.SelectMany(m => m.Modes).Distinct(StringComparer.OrdinalIgnoreCase);
        return CompletionText.Match(modes.Select(m => (m, named is null ? $"{m} (catalog models offering it: {models.Count(x => x.Modes.Contains(m))})" : $"{m} on {named.Name}")), wordToComplete);
    }
}

/// <summary>
/// Output resolutions of the model given with -Model on the command line (its choices, else its one resolution), else the
/// resolutions catalog models offer a choice of (Hailuo 02: 512P, 768P; Sora 2 pro: 720p, 1080p, true_1080p).
/// </summary>
public sealed class ResolutionCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var named = fakeBoundParameters["Model"] is string name ? FalVideo.Catalog.ModelCatalog.Default.Find(name) : null;
        IEnumerable<(string, string)> values = named is not null
            ? (named.Resolutions is { Length: > 0 } r ? r : named.Resolution is { } one ? [one] : Array.Empty<string>()).Select(v => (v, $"{v} on {named.Name}"))
            : FalVideo.Catalog.ModelCatalog.Default.Models.Where(m => m.Resolutions is { Length: > 0 })
                .SelectMany(m => m.Resolutions!.Select(v => (Value: v, Model: m.Name)))
                .GroupBy(x => x.Value, StringComparer.Ordinal)
                .Select(g => (g.Key, $"{g.Key} on {string.Join(", ", g.Select(x => x.Model))}"));
        return CompletionText.Match(values, wordToComplete);
    }
}

/// <summary>fal endpoint ids of the catalog (the long ids, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>), active
/// models first.</summary>
public sealed class EndpointIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Match(FalVideo.Catalog.ModelCatalog.Default.Models.OrderBy(m => m.IsRetired)
            .SelectMany(m => m.Endpoints.Select(e => (e.Value, $"{m.Name} {e.Key}{(m.IsRetired ? " (retired)" : "")}"))), wordToComplete);
}

/// <summary>Catalog model names (the names the job store records as a job's Model), for filters such as Get-FalJob -Model.</summary>
public sealed class ModelNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Match(FalVideo.Catalog.ModelCatalog.Default.Models.Select(m => (m.Name, $"{m.Name} ({m.Family}{(m.IsRetired ? ", retired" : "")})")), wordToComplete);
}

/// <summary><c>$true</c> and <c>$false</c> for a [bool] parameter (nullable, so a CSV's empty cell means the model's
/// default), instead of file names.</summary>
public sealed class BooleanCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = (wordToComplete ?? "").TrimStart('$');
        foreach (var (value, tip) in new[] { ("true", $"{parameterName} on"), ("false", $"{parameterName} off") })
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult("$" + value, "$" + value, CompletionResultType.ParameterValue, tip);
    }
}

/// <summary>
/// Get-FalModel -Feature: only the features that filter something, i.e. that some catalog models offer and others do not
/// (see <see cref="FalVideo.Catalog.VideoModel.Features"/>).
/// </summary>
public sealed class FeatureCompleter : IArgumentCompleter
{
    /// <summary>Every feature some catalog model offers, with how many models offer it.</summary>
    internal static IReadOnlyDictionary<string, int> Known(FalVideo.Catalog.ModelCatalog catalog) =>
        catalog.Models.SelectMany(m => m.Features.Distinct(StringComparer.OrdinalIgnoreCase))
            .GroupBy(f => f, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var catalog = FalVideo.Catalog.ModelCatalog.Default;
        var total = catalog.Models.Count;
        var filtering = Known(catalog).Where(kv => kv.Value < total).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal);
        return CompletionText.Match(filtering.Select(kv => (kv.Key, $"{kv.Key}: {kv.Value} of {total} catalog models")), wordToComplete);
    }
}
