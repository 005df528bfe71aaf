using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using FalVideo.Catalog;

namespace FalVideo.PowerShell.Completion;

/// <summary>Shared matching for completers: case-insensitive prefix, quoted when needed.</summary>
internal static class CompletionText
{
    public static IEnumerable<CompletionResult> Match(IEnumerable<(string Value, string Tip)> candidates, string word)
    {
        var prefix = (word ?? "").Trim('\'', '"');
        foreach (var (value, tip) in candidates)
        {
            if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
            var text = value.IndexOfAny([' ', ':', '/']) >= 0 ? $"'{value}'" : value;
            yield return new CompletionResult(text, value, CompletionResultType.ParameterValue, tip);
        }
    }

    /// <summary>The catalog model named by -Model on the command line, if any; the cmdlet's default otherwise.</summary>
    public static VideoModel? ModelFromCommand(string commandName, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters["Model"] is string name && ModelCatalog.Default.Find(name) is { } m) return m;
        return commandName.Contains("Hailuo", StringComparison.OrdinalIgnoreCase)
            ? ModelCatalog.Default.Find("hailuo-2.3-pro")
            : ModelCatalog.Default.Find("kling-v3-pro");
    }
}

/// <summary>Completes -Model with catalog names (and endpoint ids) of the command's family. Completion, not ValidateSet: fal adds models often.</summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var family = commandName.Contains("Kling", StringComparison.OrdinalIgnoreCase) ? "Kling"
            : commandName.Contains("Hailuo", StringComparison.OrdinalIgnoreCase) ? "Hailuo" : null;
        var models = ModelCatalog.Default.Models.Where(m => family is null || m.Family == family).Where(m => !m.IsRetired || family is null);
        var names = models.Select(m => (m.Name, $"{m.Name}: {string.Join(", ", m.Endpoints.Values)}"));
        var ids = models.SelectMany(m => m.Endpoints.Values.Select(id => (id, $"{m.Name} endpoint")));
        return CompletionText.Match(names.Concat(ids), wordToComplete);
    }
}

/// <summary>Completes -Duration with the durations of the model on the command line.</summary>
public sealed class DurationCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var model = CompletionText.ModelFromCommand(commandName, fakeBoundParameters);
        if (model is null) return [];
        return CompletionText.Match(model.Durations.Select(d => (d.ToString(), $"{d} seconds on {model.Name}")), wordToComplete);
    }
}

/// <summary>Completes -AspectRatio with the ratios of the model on the command line.</summary>
public sealed class AspectRatioCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var model = CompletionText.ModelFromCommand(commandName, fakeBoundParameters);
        if (model is null) return [];
        return CompletionText.Match(model.AspectRatios.Select(a => (a, $"{a} on {model.Name}")), wordToComplete);
    }
}
