using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using FalVideo.Fal;

namespace FalVideo.PowerShell.Completion;

/// <summary>fal's queue priorities: Normal (fal's default) and Low.</summary>
public sealed class PriorityCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Match([("Normal", "fal's default queue priority"), ("Low", "waits behind every normal-priority request of the endpoint")], wordToComplete);
}

/// <summary>The named media expiries of fal's JS client (immediate, 1h, 1d, 7d, 30d, 1y, never).</summary>
public sealed class OutputExpiryCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Match(FalSubmitOptions.NamedExpiries.Select(e => (e.Key,
            e.Value is { } s ? $"fal deletes the output media after {s.ToString(CultureInfo.InvariantCulture)} seconds" : "no expiry sent: the account's storage setting applies")), wordToComplete);
}
