using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace FalVideo.PowerShell.Completion;

/// <summary>
/// Machine names (for -Machine) or user names (for -User) the job store knows cheaply: this process's own, and those of
/// the unfinished jobs (read through the store's index of unfinished jobs, never the whole history), most frequent
/// first. A name typed by hand still binds: the parameters take any wildcard pattern.
/// </summary>
public sealed class JobOwnerCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var machine = string.Equals(parameterName, "Machine", StringComparison.OrdinalIgnoreCase);
        var names = new List<string> { machine ? Environment.MachineName : Environment.UserName };
        // Completion must never throw at the user: an unreadable store just offers this process's own name.
        try
        {
            var jobs = Settings.FalSettings.Current.Journal.ReadUnfinished(out _);
            names.AddRange(jobs.Select(j => machine ? j.Machine : j.User).Where(n => !string.IsNullOrEmpty(n))
                .GroupBy(n => n!, StringComparer.OrdinalIgnoreCase).OrderByDescending(g => g.Count()).Select(g => g.Key));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        var candidates = names.Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(n => (n, machine ? $"jobs submitted from {n}" : $"jobs submitted by {n}"));
        return CompletionText.Match(candidates, wordToComplete);
    }
}
