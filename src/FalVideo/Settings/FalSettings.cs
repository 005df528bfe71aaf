using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using FalVideo.Fal;

namespace FalVideo.PowerShell.Settings;

/// <summary>
/// Settings of one runspace (so ThreadJobs and <c>ForEach-Object -Parallel</c> don't share them), set by
/// <c>Set-FalConfiguration</c>. Unset values fall back to environment variables, then to fal's defaults.
/// Precedence: cmdlet parameter &gt; session setting &gt; environment variable &gt; saved file (<see cref="SavedConfiguration"/>) &gt; default.
/// </summary>
public sealed class FalSettings
{
    private static readonly ConditionalWeakTable<Runspace, FalSettings> s_byRunspace = new();
    private static readonly FalSettings s_noRunspace = new();

    /// <summary>Environment variable that points queue and storage at one base URL (the local emulator).</summary>
    public const string BaseUrlVariable = "FALVIDEO_BASE_URL";
    /// <summary>Environment variable for the queue base URL alone (default https://queue.fal.run).</summary>
    public const string QueueUrlVariable = "FALVIDEO_QUEUE_URL";
    /// <summary>Environment variable for the REST/storage base URL alone (default https://rest.fal.ai).</summary>
    public const string RestUrlVariable = "FALVIDEO_REST_URL";

    /// <summary>Environment variable for the base of fal's platform APIs (pricing, billing events; default
    /// https://api.fal.ai/v1). Unset, a queue base URL other than fal's own (the emulator, a proxy) serves them under
    /// its <c>/v1</c>.</summary>
    public const string PlatformUrlVariable = "FALVIDEO_PLATFORM_URL";
    /// <summary>Environment variable holding an admin-scoped fal key for billing events (<c>Get-FalJobCost</c>); unset,
    /// the ordinary key is tried.</summary>
    public const string AdminKeyVariable = "FAL_ADMIN_KEY";

    /// <summary>API key for this session, or null to use FAL_KEY / FAL_KEY_ID+FAL_KEY_SECRET.</summary>
    internal string? ApiKey { get; set; }
    /// <summary>Queue base URL for this session, or null.</summary>
    public Uri? QueueBaseUrl { get; set; }
    /// <summary>REST (storage) base URL for this session, or null.</summary>
    public Uri? RestBaseUrl { get; set; }
    /// <summary>Per-HTTP-attempt timeout in seconds, or null for the default (60).</summary>
    public double? RequestTimeoutSeconds { get; set; }
    /// <summary>Retries of retry-safe calls, or null for the default (4).</summary>
    public int? MaxRetries { get; set; }
    /// <summary>First retry back-off delay in seconds (later ones grow exponentially with jitter; a server's
    /// Retry-After wins), or null for the default (1).</summary>
    public double? RetryBaseDelaySeconds { get; set; }

    /// <summary>Environment variable for <see cref="DownloadIdleTimeoutSeconds"/>: seconds, a number greater than zero.</summary>
    public const string DownloadIdleTimeoutVariable = "FALVIDEO_DOWNLOAD_IDLE_TIMEOUT";
    /// <summary>Environment variable for <see cref="DownloadMinBytesPerSecond"/>: bytes per second, a whole number of at least 1.</summary>
    public const string DownloadMinRateVariable = "FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND";

    /// <summary>Seconds a video download may receive no byte before it fails, or null for the environment variable,
    /// the saved file or the default (60; <see cref="FalClientOptions.DownloadIdleTimeout"/>).</summary>
    public double? DownloadIdleTimeoutSeconds { get; set; }
    /// <summary>Lowest average rate of a video download in bytes per second, checked once the idle timeout has passed,
    /// or null for the environment variable, the saved file or the default (8192;
    /// <see cref="FalClientOptions.DownloadMinBytesPerSecond"/>).</summary>
    public long? DownloadMinBytesPerSecond { get; set; }

    /// <summary>Job store for this session (a file, or a PostgreSQL connection string), or null for FALVIDEO_JOB_STORE /
    /// FALVIDEO_JOURNAL / the saved file / the default under local application data.</summary>
    public string? JournalPath { get; set; }

    /// <summary>Environment variable naming a JSON file of price overrides (an account's discounts).</summary>
    public const string PriceOverridesVariable = "FALVIDEO_PRICE_OVERRIDES";

    /// <summary>Price override file for this session, or null for FALVIDEO_PRICE_OVERRIDES / none.</summary>
    public string? PriceOverridePath { get; set; }

    private static (string Path, DateTime Stamp, FalVideo.Catalog.ModelCatalog Catalog)? s_overridden;

    /// <summary>
    /// The price catalog in effect: the shipped one, with prices from the override file when one is set.
    /// </summary>
    /// <exception cref="System.Text.Json.JsonException">The override file is not valid (the message names the file and line).</exception>
    /// <exception cref="ArgumentException">The override file names an unknown model (the message names the file and line).</exception>
    public FalVideo.Catalog.ModelCatalog Catalog
    {
        get
        {
            var path = PriceOverridePath ?? NonEmpty(Environment.GetEnvironmentVariable(PriceOverridesVariable)) ?? SavedConfiguration.Load()?.PriceOverridePath;
            if (string.IsNullOrWhiteSpace(path)) return FalVideo.Catalog.ModelCatalog.Default;
            var stamp = File.GetLastWriteTimeUtc(path);
            var cached = s_overridden;
            if (cached is { } c && c.Path == path && c.Stamp == stamp) return c.Catalog;
            var catalog = FalVideo.Catalog.PriceOverrideFile.Apply(FalVideo.Catalog.ModelCatalog.Default, path);
            s_overridden = (path, stamp, catalog);
            return catalog;
        }
    }

    /// <summary>Environment variable naming the job store: a file path, or a PostgreSQL connection string
    /// (<c>Host=...</c> or <c>postgres://...</c>). Wins over <see cref="FalVideo.Journal.JobJournal.PathVariable"/>.</summary>
    public const string JobStoreVariable = "FALVIDEO_JOB_STORE";

    /// <summary>The job store setting in effect (a path, a connection string, or null for the default): the session's,
    /// then FALVIDEO_JOB_STORE, then FALVIDEO_JOURNAL, then the saved file's. Holds a password when the connection string
    /// does: never show it (<see cref="FalVideo.Journal.PostgresConnection.Describe"/>).</summary>
    public string? JobStoreSetting => JournalPath
        ?? NonEmpty(Environment.GetEnvironmentVariable(JobStoreVariable))
        ?? NonEmpty(Environment.GetEnvironmentVariable(FalVideo.Journal.JobJournal.PathVariable))
        ?? SavedConfiguration.Load()?.JournalPath;

    /// <summary>The job store in effect: SQLite, the JSON Lines journal for a path ending in <c>.jsonl</c>, or the
    /// PostgreSQL store for a connection string (<see cref="FalVideo.Journal.JobStore.Open"/>).</summary>
    /// <exception cref="ArgumentException">A connection string that can't be read (the message never holds the password).</exception>
    /// <exception cref="NotSupportedException">A connection string in the net472 build (Windows PowerShell 5.1).</exception>
    public FalVideo.Journal.IJobStore Journal => FalVideo.Journal.JobStore.Open(JobStoreSetting);

    /// <summary>The job store in effect as shown to the user: its file, or <c>postgresql://user@host:port/database</c>
    /// without the password.</summary>
    public string JobStoreDisplay
    {
        get
        {
            var setting = JobStoreSetting;
            if (FalVideo.Journal.PostgresConnection.IsConnectionString(setting)) return FalVideo.Journal.PostgresConnection.Describe(setting!);
            return Journal.FilePath;
        }
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    /// <summary>The settings of the runspace running on this thread.</summary>
    public static FalSettings Current
    {
        get
        {
            var rs = Runspace.DefaultRunspace;
            return rs is null ? s_noRunspace : s_byRunspace.GetValue(rs, _ => new FalSettings());
        }
    }

    /// <summary>True when a session key is set (the key itself is never shown).</summary>
    public bool HasSessionKey => ApiKey is not null;

    /// <summary>
    /// The options the queue client should use now.
    /// </summary>
    /// <param name="apiKeyParameter">The cmdlet's -ApiKey, which wins over everything.</param>
    public FalClientOptions ToClientOptions(string? apiKeyParameter)
    {
        static Uri? Env(string name) =>
            Environment.GetEnvironmentVariable(name) is { Length: > 0 } v && Uri.TryCreate(v.Trim(), UriKind.Absolute, out var u) ? u : null;

        var common = Env(BaseUrlVariable);
        var options = new FalClientOptions
        {
            ApiKey = FalCredentials.Resolve(apiKeyParameter, ApiKey, Environment.GetEnvironmentVariable),
        };
        var saved = SavedConfiguration.Load();
        if ((QueueBaseUrl ?? Env(QueueUrlVariable) ?? common ?? saved?.QueueUrl) is { } q) options.QueueBaseUrl = q;
        if ((RestBaseUrl ?? Env(RestUrlVariable) ?? common ?? saved?.RestUrl) is { } r) options.RestBaseUrl = r;
        // A queue base URL other than fal's own (-BaseUrl, FALVIDEO_BASE_URL: the emulator or a proxy) serves fal's
        // platform API (pricing, billing events, signing private outputs) under its /v1 too, as api.fal.ai does.
        if (Env(PlatformUrlVariable) is { } platform) options.PlatformBaseUrl = platform;
        else if (options.QueueBaseUrl.Host != "queue.fal.run")
            options.PlatformBaseUrl = new Uri(new Uri(options.QueueBaseUrl.ToString().TrimEnd('/') + "/"), "v1");
        if ((RequestTimeoutSeconds ?? saved?.RequestTimeoutSeconds) is { } t) options.RequestTimeout = TimeSpan.FromSeconds(t);
        if ((MaxRetries ?? saved?.MaxRetries) is { } m) options.MaxRetries = m;
        if ((RetryBaseDelaySeconds ?? saved?.RetryBaseDelaySeconds) is { } d) options.RetryBaseDelay = TimeSpan.FromSeconds(d);
        if ((DownloadIdleTimeoutSeconds ?? PositiveEnv(DownloadIdleTimeoutVariable) ?? Positive(saved?.DownloadIdleTimeoutSeconds)) is { } idle)
            options.DownloadIdleTimeout = TimeSpan.FromSeconds(idle);
        if ((DownloadMinBytesPerSecond ?? (long?)WholeEnv(DownloadMinRateVariable) ?? (saved?.DownloadMinBytesPerSecond is > 0 ? saved.DownloadMinBytesPerSecond : null)) is { } rate)
            options.DownloadMinBytesPerSecond = rate;
        return options;
    }

    /// <summary>Seconds at most this long are accepted: <see cref="FalClientOptions"/> refuses timeouts over one day.</summary>
    internal const double MaxDownloadIdleTimeoutSeconds = 86400;

    // A value that is not a positive number is ignored, as an unparsable URL variable is: the setting keeps its
    // default rather than failing every download of the session.
    private static double? Positive(double? value) => value is > 0 and <= MaxDownloadIdleTimeoutSeconds ? value : null;

    private static double? PositiveEnv(string name) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? Positive(v) : null;

    private static long? WholeEnv(string name) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : null;
}
