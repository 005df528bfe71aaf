using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// What every FalVideo cmdlet shares: the <c>-ApiKey</c> parameter, a cancellation token that Ctrl+C
/// (StopProcessing) trips, one queue client per invocation, and error records with stable ids.
/// Worker tasks never call <c>Write*</c>: they post to <see cref="Pump"/>, which writes on the pipeline thread.
/// </summary>
public abstract class FalCmdletBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private EventPump? _events;
    private FalQueueClient? _client;
    private FalClientOptions? _options;

    /// <summary>
    /// fal API key (a SecureString or plain text). When omitted: the session's key
    /// (Set-FalConfiguration), then FAL_KEY, then FAL_KEY_ID and FAL_KEY_SECRET.
    /// </summary>
    [Parameter]
    [ApiKeyTransformation]
    public object? ApiKey { get; set; }

    /// <summary>Carries what background work produces (verbose lines of the client included) to the pipeline thread.</summary>
    internal EventPump Pump => _events ??= new EventPump(this, _stopping.Token)
    {
        VerboseAsDebug = MyInvocation.BoundParameters.TryGetValue("Debug", out var debug) && LanguagePrimitives.IsTrue(debug)
                         && !MyInvocation.BoundParameters.ContainsKey("Verbose"),
    };

    /// <summary>Writes a verbose line; under -Debug without -Verbose, as a debug line, as the pump does (see
    /// <see cref="EventPump.VerboseAsDebug"/>: PowerShell would otherwise stop to ask at each verbose line).</summary>
    /// <param name="text">The line.</param>
    public new void WriteVerbose(string text)
    {
        if (Pump.VerboseAsDebug) WriteDebug(text);
        else base.WriteVerbose(text);
    }

    /// <summary>Tripped by Ctrl+C.</summary>
    protected CancellationToken StopToken => _stopping.Token;

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    /// <inheritdoc />
    protected override void EndProcessing() => FlushVerbose();

    /// <summary>
    /// Runs a read of the job store; a store that can't be read (unreachable server, wrong password, a folder where the
    /// file should be, no permission) is one terminating error, FalJournalNotWritten filed as ReadError (as Copy-FalJob
    /// and the New-*Video cmdlets report a failed read), naming the store without its password.
    /// </summary>
    /// <param name="store">The store read.</param>
    /// <param name="read">The read.</param>
    protected T ReadStore<T>(FalVideo.Journal.IJobStore store, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Store errors name the store already (PostgreSQL's as a URL without the password); others get its path.
            var message = ex.Message.Contains(store.FilePath, StringComparison.Ordinal) ? ex.Message
                : $"The job store {store.FilePath} could not be read: {ex.Message}";
            ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, message, store.FilePath, ex, FalErrorCategory.ReadError));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>Client options resolved once per invocation; a missing key or a plain-http remote URL is a terminating error.</summary>
    protected FalClientOptions ClientOptions
    {
        get
        {
            if (_options is not null) return _options;
            var options = FalSettings.Current.ToClientOptions(ApiKey as string);
            var events = Pump;
            options.Log = line => events.Post(new VerboseReported(line));
            // -Debug: each request and answer in full (key masked), written on the pipeline thread like the verbose lines.
            if (DebugWanted()) options.Debug = text => events.Post(() => WriteDebug(text));
            try { options.Validate(); }
            catch (FalException ex) { ThrowTerminatingError(ToErrorRecord(ex, null)); }
            return _options = options;
        }
    }

    /// <summary>The queue base URL in effect, read without requiring a key: the host whose jobs the store's listings
    /// and spend totals show (<see cref="FalVideo.Jobs.FalJob.IsOnHost"/>) unless -AllHosts is given.</summary>
    protected Uri ScopeQueueBaseUrl => _options?.QueueBaseUrl ?? FalSettings.Current.ToClientOptions(ApiKey as string).QueueBaseUrl;

    /// <summary>Whether debug output is shown: -Debug, or $DebugPreference other than SilentlyContinue/Ignore.</summary>
    private bool DebugWanted()
    {
        var preference = MyInvocation.BoundParameters.TryGetValue("Debug", out var bound)
            ? (LanguagePrimitives.IsTrue(bound) ? ActionPreference.Continue : ActionPreference.SilentlyContinue)
            : LanguagePrimitives.TryConvertTo<ActionPreference>(GetVariableValue("DebugPreference"), out var p) ? p : ActionPreference.SilentlyContinue;
        return preference is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);
    }

    /// <summary>The queue client for this invocation (shares the process-wide HTTP connection pool).</summary>
    protected FalQueueClient Client => _client ??= new FalQueueClient(ClientOptions);

    /// <summary>Runs async work to completion on the pipeline thread, then writes the verbose lines it queued.</summary>
    protected T Run<T>(Func<CancellationToken, Task<T>> work)
    {
        try { return work(StopToken).GetAwaiter().GetResult(); }
        finally { FlushVerbose(); }
    }

    /// <summary>Writes what background work posted so far; call only on the pipeline thread.</summary>
    protected internal void FlushVerbose() => _events?.Drain();

    /// <summary>
    /// Writes <paramref name="job"/>'s state to the job journal. A journal that can't be written is a loud
    /// warning, never a lost job: the job object still reaches the pipeline.
    /// </summary>
    protected internal void Record(string entryKind, FalVideo.Jobs.FalJob job, string? savedPath = null)
    {
        var journal = FalSettings.Current.Journal;
        try { journal.Append(entryKind, job, savedPath); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteWarning(JournalWarning(journal, job, ex.Message));
        }
    }

    /// <summary>The warning for a journal that could not be written: the job itself still reaches the pipeline.</summary>
    protected internal static string JournalWarning(FalVideo.Journal.IJobStore journal, FalVideo.Jobs.FalJob job, string error) =>
        JobLifecycle.StoreWarning(journal, job, error);

    /// <summary>
    /// The terminating error for unusable values given on the command line (<c>-Duration abc</c>), or null. Call in
    /// BeginProcessing: such a value applies to every row, so it is refused once before any row, instead of failing
    /// the first row and letting the others go out at the default.
    /// </summary>
    /// <param name="invocation">The cmdlet's invocation, whose bound parameters are the command-line ones at BeginProcessing.</param>
    /// <param name="outcome">What did not happen, e.g. "Nothing was sent."</param>
    protected internal static ErrorRecord? CommandLineValueError(InvocationInfo invocation, string outcome)
    {
        var problems = BindingProblems.TakeCommandLine(invocation.BoundParameters);
        if (problems.Count == 0) return null;
        var message = $"{string.Join(" ", problems)} {outcome}";
        return ErrorRecords.Create(FalErrorIds.InvalidInput, message, null, new ArgumentException(message));
    }

    /// <summary>Problems recorded while binding this record's parameters (see <see cref="CsvValueAttribute"/>).</summary>
    protected static IReadOnlyList<string> TakeBindingProblems() => BindingProblems.Take();

    /// <summary>An ErrorRecord for a failure: the exception's stable id (see <see cref="FalVideo.Engine.FalErrorIds.For"/>) and its category.</summary>
    protected internal static ErrorRecord ToErrorRecord(Exception ex, object? target, string? context = null) =>
        ErrorRecords.FromException(ex, target, context);

    /// <summary>
    /// How messages name an input row: <c>Row 7 (lighthouse-sora)</c>. The number is the row's own <c>Row</c> property
    /// when it has one holding a whole number of 1 or more (a Row column of the CSV, or Measure-VideoCost's Row), else
    /// <paramref name="position"/>, the count of rows that reached the cmdlet, which is the CSV's data row only when
    /// nothing upstream filtered or reordered them (Import-Csv objects carry no line number). The row's Id follows in
    /// parentheses, when it has one, as the name that survives filtering. A cmdlet given no pipeline input says
    /// <c>Input</c> instead of a row number.
    /// </summary>
    /// <param name="expectingInput">Whether the cmdlet reads pipeline input (MyInvocation.ExpectingInput).</param>
    /// <param name="position">1-based count of the rows that reached the cmdlet so far.</param>
    /// <param name="input">The row as it came down the pipeline, or null.</param>
    /// <param name="id">The row's Id, or null.</param>
    internal static string RowLabel(bool expectingInput, int position, PSObject? input, string? id)
    {
        var name = expectingInput ? $"Row {RowNumberOf(input) ?? position}" : "Input";
        return string.IsNullOrWhiteSpace(id) ? name : $"{name} ({id!.Trim()})";
    }

    /// <summary>The whole number 1 or more in <paramref name="input"/>'s <c>Row</c> property, or null.</summary>
    internal static int? RowNumberOf(PSObject? input)
    {
        if (input?.BaseObject is not PSCustomObject and not VideoCostEstimate) return null;
        var value = input.Properties["Row"]?.Value;
        if (value is PSObject wrapped) value = wrapped.BaseObject;
        return value switch
        {
            int n when n > 0 => n,
            string s when int.TryParse(s.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 => n,
            _ => null,
        };
    }

    /// <summary>
    /// Resolves a local media path as every PowerShell path resolves: <c>~</c>, relative to the current location (not
    /// the process's working folder), PSDrives (<c>acc:/bowl.png</c>), literally (no wildcards). A path on another provider
    /// (<c>env:</c>, <c>variable:</c>) or an unknown drive is refused with the reason. Pipeline thread only.
    /// </summary>
    /// <param name="state">The cmdlet's session state.</param>
    /// <param name="text">The path as given (trimmed).</param>
    internal static FalVideo.Planning.MediaPathResult ResolveMediaPath(SessionState state, string text)
    {
        try
        {
            var path = state.Path.GetUnresolvedProviderPathFromPSPath(text, out var provider, out _);
            return provider.ImplementingType == typeof(Microsoft.PowerShell.Commands.FileSystemProvider)
                ? FalVideo.Planning.MediaPathResult.Found(path)
                : FalVideo.Planning.MediaPathResult.Refused($"is on the {provider.Name} provider; only files (FileSystem paths) can be uploaded.", otherProvider: true);
        }
        catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or ItemNotFoundException
                                       or NotSupportedException or ArgumentException or PSInvalidOperationException or IOException)
        {
            return FalVideo.Planning.MediaPathResult.Refused($"is neither an http(s) URL nor a file path PowerShell can resolve ({ex.Message}).");
        }
    }

    /// <summary>A non-terminating error about bad input: names the row and every bad field, nothing was sent.</summary>
    protected void WriteInputError(string rowLabel, IEnumerable<string> problems, object? target)
    {
        var message = $"{rowLabel}: {string.Join(" ", problems)} Nothing was sent for this row.";
        WriteError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, target, new ArgumentException(message)));
    }

    /// <summary>Releases what a derived cmdlet holds (background work first); runs before the client is released.</summary>
    protected virtual void OnDispose() { }

    /// <summary>Releases the client and the cancellation source; PowerShell calls this when the pipeline ends.</summary>
    public void Dispose()
    {
        OnDispose();
        _client?.Dispose();
        _client = null;
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
