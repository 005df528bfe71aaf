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

/// <summary>
/// Catalog model names and their endpoint ids, of the command's family (Kling or Hailuo) where it has one. Completion,
/// not ValidateSet, because fal adds models often and an endpoint id outside the catalog must still bind.
/// </summary>
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

/// <summary>The durations, in seconds, of the model given with -Model on the command line (else the cmdlet's default model).</summary>
public sealed class DurationCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var model = CompletionText.ModelFromCommand(commandName, fakeBoundParameters);
        if (model is null) return [];
        if (model.Durations.Length > 0)
            return CompletionText.Match(model.Durations.Select(d => (d.ToString(), $"{d} seconds on {model.Name}")), wordToComplete);
        // A model that sets its own length (hailuo-2.3-pro) takes no -Duration: offer its family's lengths, each naming
        // the models that take it, so the tooltip says to pick one of those with -Model.
        var family = ModelCatalog.Default.Models.Where(m => m.Family == model.Family && !m.IsRetired && m.Durations.Length > 0);
        var offered = family.SelectMany(m => m.Durations.Select(d => (Seconds: d, Model: m.Name)))
            .GroupBy(x => x.Seconds).OrderBy(g => g.Key)
            .Select(g => (g.Key.ToString(), $"{g.Key} seconds on {string.Join(", ", g.Select(x => x.Model))} ({model.Name} sets its own length)"));
        return CompletionText.Match(offered, wordToComplete);
    }
}

/// <summary>The aspect ratios of the model given with -Model on the command line (else the cmdlet's default model).</summary>
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

/// <summary>
/// Request ids from the job journal, newest first, with the model, status and start of the prompt as tooltip;
/// narrowed to one endpoint when -EndpointId is already on the command line.
/// </summary>
public sealed class RequestIdCompleter : IArgumentCompleter
{
    private const int PromptChars = 50;
    private const int ListPromptChars = 30;

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<FalVideo.Jobs.FalJob> jobs;
        // Completion must never throw at the user: an unreadable journal just offers nothing.
        try { jobs = Settings.FalSettings.Current.Journal.ReadJobs(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
        // Only the requests of the queue this session talks to, as Get-FalJob lists them: a rehearsal's request ids
        // against the emulator mean nothing to fal, and fal's mean nothing to the emulator.
        Uri? queue;
        try { queue = Settings.FalSettings.Current.ToClientOptions(null).QueueBaseUrl; }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or UriFormatException) { queue = null; }
        var endpoint = fakeBoundParameters["EndpointId"] as string;
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        // The list shows the row's Id and prompt (a GUID alone names nothing the user knows); typing the start of an Id
        // finds its request id too.
        return jobs
            .Where(j => j.RequestId.Length > 0) // an ambiguous submission has no id to offer
            .Where(j => queue is null || j.IsOnHost(queue))
            .Where(j => string.IsNullOrEmpty(endpoint) || string.Equals(j.EndpointId, endpoint, StringComparison.OrdinalIgnoreCase))
            .Where(j => j.RequestId.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                        || (j.Id is { Length: > 0 } id && id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            .OrderByDescending(j => j.SubmittedAt)
            .Select(j => new CompletionResult(j.RequestId, string.IsNullOrEmpty(j.Id) ? j.Label(ListPromptChars) : $"{j.Label(ListPromptChars)} {j.RequestId}",
                CompletionResultType.ParameterValue, Tip(j)));
    }

    private static string Tip(FalVideo.Jobs.FalJob job)
    {
        var prompt = job.Prompt.Length > PromptChars ? job.Prompt[..(PromptChars - 1)] + "…" : job.Prompt;
        var model = job.Model is { Length: > 0 } m ? m : job.EndpointId;
        var id = string.IsNullOrEmpty(job.Id) ? "" : $" [{job.Id}]";
        return $"{model}, {job.Status}{id}: {prompt}";
    }
}
