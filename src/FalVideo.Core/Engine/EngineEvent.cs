using FalVideo.Jobs;

namespace FalVideo.Engine;

/// <summary>
/// What the engine's services report while they work, from any thread. A PowerShell cmdlet writes each one on its
/// pipeline thread (the module's EventPump); a test collects them.
/// </summary>
public abstract class EngineEvent
{
    private protected EngineEvent() { }
}

/// <summary>Receives a service's events; <see cref="Post"/> may be called from any thread and must not block long.</summary>
public interface IEngineSink
{
    /// <summary>Takes one event.</summary>
    /// <param name="e">The event.</param>
    void Post(EngineEvent e);
}

/// <summary>A job for the output: submitted, found earlier, or finished.</summary>
public sealed class JobEmitted(FalJob job) : EngineEvent
{
    /// <summary>The job, owned by the receiver from now on.</summary>
    public FalJob Job { get; } = job;
}

/// <summary>A job's video was saved (and recorded as saved) at <see cref="Path"/>.</summary>
public sealed class JobSaved(FalJob job, string path) : EngineEvent
{
    /// <summary>The job, with <see cref="FalJob.SavedPath"/> set.</summary>
    public FalJob Job { get; } = job;

    /// <summary>Full path of the saved file.</summary>
    public string Path { get; } = path;
}

/// <summary>Progress of an activity (a download, a wait); the same <see cref="ActivityId"/> updates one bar.</summary>
public sealed class ProgressReported : EngineEvent
{
    /// <summary>Identifies the bar.</summary>
    public required int ActivityId { get; init; }

    /// <summary>The bar's title.</summary>
    public required string Activity { get; init; }

    /// <summary>The line under the title.</summary>
    public required string Status { get; init; }

    /// <summary>0..100, or -1 when the total is unknown.</summary>
    public int PercentComplete { get; init; } = -1;

    /// <summary>The bar this one belongs under, or -1.</summary>
    public int ParentActivityId { get; init; } = -1;

    /// <summary>The activity ended: the bar goes away.</summary>
    public bool Completed { get; init; }
}

/// <summary>A line for -Verbose.</summary>
public sealed class VerboseReported(string text) : EngineEvent
{
    /// <summary>The line (already masked for the key).</summary>
    public string Text { get; } = text;
}

/// <summary>A warning: something the user must know although the work went on.</summary>
public sealed class WarningReported(string text) : EngineEvent
{
    /// <summary>The warning's text.</summary>
    public string Text { get; } = text;
}

/// <summary>A non-terminating error about one job, row or file.</summary>
public sealed class EngineError : EngineEvent
{
    /// <summary>An error with its own message.</summary>
    /// <param name="id">The id (and category) from <see cref="FalErrorIds"/>.</param>
    /// <param name="message">What the user reads.</param>
    /// <param name="target">The object the error is about.</param>
    /// <param name="exception">The failure behind it, if any.</param>
    public EngineError(FalErrorId id, string message, object? target, Exception? exception = null)
    {
        Id = id;
        Message = message;
        Target = target;
        Exception = exception;
    }

    /// <summary>An error for a failure: its id comes from <see cref="FalErrorIds.For"/>, its text from the exception.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object the error is about.</param>
    /// <param name="context">Put before the message, e.g. "Request &lt;id&gt;".</param>
    public EngineError(Exception exception, object? target, string? context)
    {
        Id = FalErrorIds.For(exception);
        Exception = exception;
        Target = target;
        Context = context;
    }

    /// <summary>The error id.</summary>
    public FalErrorId Id { get; }

    /// <summary>The message, or null to use the exception's (see <see cref="Text"/>).</summary>
    public string? Message { get; }

    /// <summary>Put before the message.</summary>
    public string? Context { get; }

    /// <summary>The object the error is about.</summary>
    public object? Target { get; }

    /// <summary>The failure behind it, if any.</summary>
    public Exception? Exception { get; }

    /// <summary>The full text the user reads.</summary>
    public string Text => Message is null
        ? FalErrorIds.Describe(Exception!, Context)
        : Context is null ? Message : $"{Context}: {Message}";
}
