using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.Fal;

namespace FalVideo.PowerShell.Engine;

/// <summary>
/// The one place the module builds ErrorRecords, from the ids in <see cref="FalErrorIds"/>: the id becomes the
/// FullyQualifiedErrorId, the id's category the record's category, and the message its ErrorDetails.
/// </summary>
internal static class ErrorRecords
{
    /// <summary>An error with <paramref name="id"/>; the exception defaults to an InvalidOperationException carrying the message.</summary>
    /// <param name="id">The error id (and its category).</param>
    /// <param name="message">What the user reads.</param>
    /// <param name="target">The object the error is about (a job, a row's Id or prompt, a path).</param>
    /// <param name="exception">The failure, when there is one; else an exception is made from the message.</param>
    /// <param name="category">Only when this use of the id is better filed elsewhere (a store read failing for FalJournalNotWritten).</param>
    public static ErrorRecord Create(FalErrorId id, string message, object? target, Exception? exception = null, FalErrorCategory? category = null) =>
        new(exception ?? new InvalidOperationException(message), id.Id, ToCategory(category ?? id.Category), target)
        {
            ErrorDetails = new ErrorDetails(message),
        };

    /// <summary>An error for an engine event.</summary>
    public static ErrorRecord From(EngineError error) => Create(error.Id, error.Text, error.Target, error.Exception);

    /// <summary>An error for a failure: the id the exception carries (or its type's), with fal's validation details.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object the error is about.</param>
    /// <param name="context">Put before the message, e.g. "Row 3" or "Request &lt;id&gt;".</param>
    public static ErrorRecord FromException(Exception exception, object? target, string? context = null) =>
        Create(FalErrorIds.For(exception), FalErrorIds.Describe(exception, context), target, exception);

    /// <summary>The PowerShell category of a Core category (the same member name and number).</summary>
    public static ErrorCategory ToCategory(FalErrorCategory category) =>
        Enum.TryParse<ErrorCategory>(category.ToString(), out var c) ? c : ErrorCategory.NotSpecified;
}
