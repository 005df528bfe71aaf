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
