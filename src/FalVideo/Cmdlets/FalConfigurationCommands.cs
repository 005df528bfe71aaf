using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Fal;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Sets FalVideo settings for the current session (runspace).</para>
/// <para type="description">Settings apply to this runspace only, so ThreadJobs and ForEach-Object -Parallel keep
/// their own. Precedence: cmdlet parameter, then this session's setting, then environment variables
/// (FAL_KEY, FAL_KEY_ID+FAL_KEY_SECRET, FALVIDEO_BASE_URL, FALVIDEO_QUEUE_URL, FALVIDEO_REST_URL, FALVIDEO_JOB_STORE, FALVIDEO_JOURNAL,
/// FALVIDEO_PRICE_OVERRIDES, FALVIDEO_DOWNLOAD_IDLE_TIMEOUT, FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND), then the saved configuration file (-Save), then fal's defaults. The API key is never saved.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "FalConfiguration", SupportsShouldProcess = false)]
[OutputType(typeof(FalConfigurationInfo))]
public sealed class SetFalConfigurationCommand : PSCmdlet
{
    /// <summary>fal API key for this session (SecureString or text). Never written anywhere.</summary>
    [Parameter]
    [ApiKeyTransformation]
    public object? ApiKey { get; set; }

    /// <summary>One base URL for queue and storage, e.g. the local emulator http://127.0.0.1:8787. http:// is allowed only for loopback.</summary>
    [Parameter]
    public Uri? BaseUrl { get; set; }

    /// <summary>Queue base URL (default https://queue.fal.run).</summary>
    [Parameter]
    public Uri? QueueUrl { get; set; }

    /// <summary>REST/storage base URL (default https://rest.fal.ai).</summary>
    [Parameter]
    public Uri? RestUrl { get; set; }

    /// <summary>Per-HTTP-attempt timeout in seconds (default 60).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public double? RequestTimeout { get; set; }

    /// <summary>Retries of retry-safe calls (status, result, download, cancel; default 4).</summary>
    [Parameter]
    [ValidateRange(0, 20)]
    public int? MaxRetries { get; set; }

    /// <summary>First retry back-off delay in seconds (default 1); later ones double, with jitter, up to 30 s. A server's Retry-After wins.</summary>
    [Parameter]
    [ValidateRange(0.0, 60.0)]
    public double? RetryBaseDelay { get; set; }

    /// <summary>
    /// Seconds a video download (Save-FalVideo) may receive no byte before it fails and is retried (default 60;
    /// environment variable FALVIDEO_DOWNLOAD_IDLE_TIMEOUT). 0 and negative values are refused.
    /// </summary>
    [Parameter]
    [ValidateRange(0.001, FalSettings.MaxDownloadIdleTimeoutSeconds)]
    public double? DownloadIdleTimeout { get; set; }

    /// <summary>
    /// Lowest average rate of a video download in bytes per second (default 8192, 8 KB/s; environment variable
    /// FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND), checked from the start of the download once DownloadIdleTimeout has
    /// passed: a server that sends a byte now and then, just often enough to beat the idle timeout, fails here
    /// instead of holding the download for ever. 0 and negative values are refused.
    /// </summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long? DownloadMinBytesPerSecond { get; set; }

    /// <summary>Job journal file for this session: a SQLite database, or JSON Lines when the path ends in .jsonl; default FALVIDEO_JOURNAL or FalVideo/jobs.db under local application data.</summary>
    [Parameter]
    public string? JournalPath { get; set; }

    /// <summary>
    /// The job store for this session: a file (as -JournalPath), or a PostgreSQL database a team shares, given as a
    /// connection string (Host=db.example.com;Username=falvideo;Password=...;Database=falvideo, or
    /// postgres://user:password@host:5432/database). Remote hosts use TLS (SSL Mode=Require) unless the string names an
    /// SSL mode. The password is never shown, and -Save keeps the connection string without it (give it through
    /// PGPASSWORD, a .pgpass file, FALVIDEO_JOB_STORE or each session). Default: FALVIDEO_JOB_STORE, FALVIDEO_JOURNAL,
    /// the saved file, FalVideo/jobs.db. PowerShell 7.4+ only for PostgreSQL.
    /// </summary>
    [Parameter]
    public string? JobStore { get; set; }

    /// <summary>JSON file of price overrides for this session (see about_FalVideo); default FALVIDEO_PRICE_OVERRIDES.</summary>
    [Parameter]
    public string? PriceOverridePath { get; set; }

    /// <summary>Clears every session setting first.</summary>
    [Parameter]
    public SwitchParameter Reset { get; set; }

    /// <summary>
    /// Also saves this session's settings (all but the API key) to the configuration file for later sessions:
    /// FALVIDEO_CONFIG, else FalVideo/config.json under the user's configuration folder.
    /// </summary>
    [Parameter]
    public SwitchParameter Save { get; set; }

    /// <summary>Emits the resulting configuration.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var s = FalSettings.Current;
        var before = Snapshot.Of(s);
        if (Reset)
        {
            s.ApiKey = null; s.QueueBaseUrl = null; s.RestBaseUrl = null; s.RequestTimeoutSeconds = null; s.MaxRetries = null; s.RetryBaseDelaySeconds = null; s.JournalPath = null; s.PriceOverridePath = null;
            s.DownloadIdleTimeoutSeconds = null; s.DownloadMinBytesPerSecond = null;
        }
        if (ApiKey is string key) s.ApiKey = key;
        if (BaseUrl is not null) { s.QueueBaseUrl = BaseUrl; s.RestBaseUrl = BaseUrl; }
        if (QueueUrl is not null) s.QueueBaseUrl = QueueUrl;
        if (RestUrl is not null) s.RestBaseUrl = RestUrl;
        if (RequestTimeout is { } t) s.RequestTimeoutSeconds = t;
        if (MaxRetries is { } m) s.MaxRetries = m;
        if (RetryBaseDelay is { } d) s.RetryBaseDelaySeconds = d;
        if (DownloadIdleTimeout is { } idle) s.DownloadIdleTimeoutSeconds = idle;
        if (DownloadMinBytesPerSecond is { } rate) s.DownloadMinBytesPerSecond = rate;
        if (!string.IsNullOrWhiteSpace(JournalPath)) s.JournalPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(JournalPath);
        if (!string.IsNullOrWhiteSpace(JobStore))
        {
            if (FalVideo.Journal.PostgresConnection.IsConnectionString(JobStore))
            {
                try { _ = FalVideo.Journal.JobStore.OpenShared(JobStore!); }
                catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                {
                    // Nothing of this call is kept; the message never holds the password.
                    before.RestoreTo(s);
                    WriteError(ErrorRecords.Create(FalErrorIds.Configuration, ex.Message + " The setting was not changed.", null, new FalConfigurationException(ex.Message)));
                    return;
                }
                s.JournalPath = JobStore!.Trim();
            }
            else s.JournalPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(JobStore);
            WriteVerbose($"Job store: {s.JobStoreDisplay}.");
        }
        if (!string.IsNullOrWhiteSpace(PriceOverridePath))
        {
            s.PriceOverridePath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(PriceOverridePath);
            try { _ = s.Catalog; }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or ArgumentException or IOException)
            {
                s.PriceOverridePath = null;
                WriteError(ErrorRecords.Create(FalErrorIds.PriceOverrideInvalid, ex.Message, PriceOverridePath, ex));
            }
        }
        var check = s.ToClientOptions(null);
        check.ApiKey ??= "not-needed-for-this-check";
        try { check.Validate(); }
        catch (FalConfigurationException ex)
        {
            // A refused value is not kept: the session goes on with what it had, so one typo does not make every
            // later call fail, and nothing is saved.
            before.RestoreTo(s);
            WriteError(ErrorRecords.Create(FalErrorIds.Configuration, ex.Message + " The setting was not changed.", null, ex));
            return;
        }
        if (Save) SaveSettings(s);
        if (PassThru) WriteObject(FalConfigurationInfo.Current());
    }

    // The session's settings as they were before this call, put back when the call's values are refused.
    private sealed record Snapshot(string? ApiKey, Uri? QueueBaseUrl, Uri? RestBaseUrl, double? RequestTimeoutSeconds, int? MaxRetries,
        double? RetryBaseDelaySeconds, string? JournalPath, string? PriceOverridePath, double? DownloadIdleTimeoutSeconds,
        long? DownloadMinBytesPerSecond)
    {
        public static Snapshot Of(FalSettings s) => new(s.ApiKey, s.QueueBaseUrl, s.RestBaseUrl, s.RequestTimeoutSeconds, s.MaxRetries,
            s.RetryBaseDelaySeconds, s.JournalPath, s.PriceOverridePath, s.DownloadIdleTimeoutSeconds, s.DownloadMinBytesPerSecond);

        public void RestoreTo(FalSettings s)
        {
            s.ApiKey = ApiKey; s.QueueBaseUrl = QueueBaseUrl; s.RestBaseUrl = RestBaseUrl; s.RequestTimeoutSeconds = RequestTimeoutSeconds;
            s.MaxRetries = MaxRetries; s.RetryBaseDelaySeconds = RetryBaseDelaySeconds; s.JournalPath = JournalPath;
            s.PriceOverridePath = PriceOverridePath; s.DownloadIdleTimeoutSeconds = DownloadIdleTimeoutSeconds;
            s.DownloadMinBytesPerSecond = DownloadMinBytesPerSecond;
        }
    }

    /// <summary>A connection string as saved: without its password (a warning says where to give it instead).</summary>
    private string? WithoutPassword(string? setting)
    {
        if (!FalVideo.Journal.PostgresConnection.IsConnectionString(setting) || FalVideo.Journal.PostgresConnection.PasswordOf(setting!) is not { Length: > 0 })
            return setting;
        WriteWarning("The job store's password is never saved to disk: the connection string is saved without it. Give the password " +
                     $"through PGPASSWORD or a .pgpass file, or the whole connection string through {FalSettings.JobStoreVariable} or Set-FalConfiguration -JobStore each session.");
        return FalVideo.Journal.PostgresConnection.WithoutPassword(setting!);
    }

    private void SaveSettings(FalSettings s)
    {
        // Saved values are merged: what this session sets wins, what it leaves unset keeps its saved value (none after -Reset).
        var saved = Reset ? new SavedConfiguration() : SavedConfiguration.Load(WriteWarning) ?? new SavedConfiguration();
        saved.QueueUrl = s.QueueBaseUrl ?? saved.QueueUrl;
        saved.RestUrl = s.RestBaseUrl ?? saved.RestUrl;
        saved.RequestTimeoutSeconds = s.RequestTimeoutSeconds ?? saved.RequestTimeoutSeconds;
        saved.MaxRetries = s.MaxRetries ?? saved.MaxRetries;
        saved.RetryBaseDelaySeconds = s.RetryBaseDelaySeconds ?? saved.RetryBaseDelaySeconds;
        saved.DownloadIdleTimeoutSeconds = s.DownloadIdleTimeoutSeconds ?? saved.DownloadIdleTimeoutSeconds;
        saved.DownloadMinBytesPerSecond = s.DownloadMinBytesPerSecond ?? saved.DownloadMinBytesPerSecond;
        saved.JournalPath = WithoutPassword(s.JournalPath) ?? saved.JournalPath;
        saved.PriceOverridePath = s.PriceOverridePath ?? saved.PriceOverridePath;
        try
        {
            var path = SavedConfiguration.Save(saved);
            WriteVerbose($"Saved FalVideo settings to {path}.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteError(ErrorRecords.Create(FalErrorIds.ConfigurationNotSaved, ex.Message, SavedConfiguration.FilePath, ex));
        }
        if (s.HasSessionKey)
            WriteWarning("The API key is never saved to disk. Give it each session (-ApiKey, Set-FalConfiguration -ApiKey) or through FAL_KEY.");
    }
}

/// <summary>
/// <para type="synopsis">Gets the FalVideo settings in effect for this session.</para>
/// <para type="description">Shows base URLs, where the API key comes from (never the key), timeouts, retries and
/// download limits.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "FalConfiguration")]
[OutputType(typeof(FalConfigurationInfo))]
public sealed class GetFalConfigurationCommand : PSCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord() => WriteObject(FalConfigurationInfo.Current());
}

/// <summary>The settings in effect: URLs, key source (never the key), timeouts in seconds, retries, download limits.</summary>
public sealed class FalConfigurationInfo
{
    /// <summary>Queue base URL in use.</summary>
    public Uri QueueUrl { get; init; } = null!;
    /// <summary>REST/storage base URL in use.</summary>
    public Uri RestUrl { get; init; } = null!;
    /// <summary>Where the key comes from: Session, FAL_KEY, FAL_KEY_ID+FAL_KEY_SECRET, or None.</summary>
    public string ApiKeySource { get; init; } = "";
    /// <summary>Per-HTTP-attempt timeout in seconds.</summary>
    public double RequestTimeoutSeconds { get; init; }
    /// <summary>Retries of retry-safe calls.</summary>
    public int MaxRetries { get; init; }
    /// <summary>First retry back-off delay in seconds.</summary>
    public double RetryBaseDelaySeconds { get; init; }
    /// <summary>Seconds a video download may receive no byte before it fails.</summary>
    public double DownloadIdleTimeoutSeconds { get; init; }
    /// <summary>Lowest average rate of a video download, bytes per second, checked once the idle timeout has passed.</summary>
    public long DownloadMinBytesPerSecond { get; init; }
    /// <summary>Job store in use: its file, or <c>postgresql://user@host:port/database</c> for a shared PostgreSQL store
    /// (never the password).</summary>
    public string JournalPath { get; init; } = "";
    /// <summary>Price override file in use, or null.</summary>
    public string? PriceOverridePath { get; init; }
    /// <summary>The saved configuration file (lowest precedence), and whether it exists.</summary>
    public string SavedConfigurationPath { get; init; } = "";

    internal static FalConfigurationInfo Current()
    {
        var s = FalSettings.Current;
        var o = s.ToClientOptions(null);
        var source = s.HasSessionKey ? "Session"
            : !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FAL_KEY")) ? "FAL_KEY"
            : o.ApiKey is not null ? "FAL_KEY_ID+FAL_KEY_SECRET" : "None";
        return new FalConfigurationInfo
        {
            QueueUrl = o.QueueBaseUrl, RestUrl = o.RestBaseUrl, ApiKeySource = source,
            RequestTimeoutSeconds = o.RequestTimeout.TotalSeconds, MaxRetries = o.MaxRetries, RetryBaseDelaySeconds = o.RetryBaseDelay.TotalSeconds,
            DownloadIdleTimeoutSeconds = o.DownloadIdleTimeout.TotalSeconds, DownloadMinBytesPerSecond = o.DownloadMinBytesPerSecond,
            JournalPath = s.JobStoreDisplay,
            PriceOverridePath = s.PriceOverridePath ?? (Environment.GetEnvironmentVariable(FalSettings.PriceOverridesVariable) is { Length: > 0 } env ? env
                : SavedConfiguration.Load()?.PriceOverridePath),
            SavedConfigurationPath = SavedConfiguration.FilePath + (File.Exists(SavedConfiguration.FilePath) ? "" : " (none saved)"),
        };
    }
}
