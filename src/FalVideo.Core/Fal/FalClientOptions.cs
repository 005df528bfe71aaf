namespace FalVideo.Fal;

/// <summary>
/// Settings of a <see cref="FalQueueClient"/>. The client copies them when it is created, so later
/// changes do not affect a client already built.
/// </summary>
public sealed class FalClientOptions
{
    /// <summary>Base of the queue API (PROTOCOL.md "Hosts"); override for the emulator or a proxy.
    /// Default <c>https://queue.fal.run</c>.</summary>
    public Uri QueueBaseUrl { get; set; } = new("https://queue.fal.run");

    /// <summary>Base of the REST control plane used for storage uploads (PROTOCOL.md "Hosts").
    /// Default <c>https://rest.fal.ai</c>.</summary>
    public Uri RestBaseUrl { get; set; } = new("https://rest.fal.ai");

    /// <summary>Base of fal's platform APIs: pricing, billing events and the signing of private output URLs (<c>POST {api}/storage/files/sign</c>) (PROTOCOL.md "Hosts"). Default
    /// <c>https://api.fal.ai/v1</c>.</summary>
    public Uri PlatformBaseUrl { get; set; } = new("https://api.fal.ai/v1");

    /// <summary>The API key, already resolved (see <see cref="FalCredentials.Resolve"/>); sent as
    /// <c>Authorization: Key &lt;key&gt;</c> to the queue and storage-initiate calls only.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Time allowed for one HTTP attempt (until the whole JSON body, or the response headers of a
    /// stream/download, has arrived); also the idle limit while a stream or download receives no bytes.
    /// Distinct from the caller's cancellation token. Default 60 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a download may receive no byte before it fails. Default 60 seconds.</summary>
    public TimeSpan DownloadIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Lowest average rate of a download, in bytes per second, measured from its start once
    /// <see cref="DownloadIdleTimeout"/> has passed; a server that trickles bytes just often enough to beat the idle
    /// timeout fails here instead of holding the download for ever. 0 turns the check off. Default 8192 (8 KB/s).</summary>
    public long DownloadMinBytesPerSecond { get; set; } = 8192;

    /// <summary>Retries after the first attempt (0 disables retries). Default 4.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First back-off delay; later ones grow exponentially with jitter. Default 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of a back-off delay. A <c>Retry-After</c> longer than this is not waited for: the error is
    /// raised with <see cref="FalException.RetryAfter"/> set. Default 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First interval of the adaptive polling fallback; it doubles up to <see cref="MaxPollInterval"/>
    /// and drops back here when the status changes. Default 1 second.</summary>
    public TimeSpan MinPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the polling interval. Default 10 seconds.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether waiting uses the SSE status stream before falling back to polling. Default true.</summary>
    public bool UseStatusStream { get; set; } = true;

    /// <summary>The <c>User-Agent</c> sent on every call. Default <c>FalVideo/&lt;assembly version&gt;</c>.</summary>
    public string UserAgent { get; set; } = DefaultUserAgent;

    /// <summary>Receives one line per HTTP attempt (method, URL, status code or failure, elapsed ms) and one per
    /// retry. Lines never contain the key; signed upload/download URLs lose their query.</summary>
    public Action<string>? Log { get; set; }

    /// <summary>Receives, when set, each HTTP attempt's request (method, URL, headers, body) and its answer (status,
    /// headers, body) as one text each, for -Debug. The key is masked (<c>Authorization: Key ****</c>); signed URLs lose
    /// their query; bodies are shown up to <see cref="DebugBodyChars"/> characters, binary bodies (uploads, downloads) and
    /// streamed ones (SSE) by their size and type only.</summary>
    public Action<string>? Debug { get; set; }

    /// <summary>Characters of a body <see cref="Debug"/> shows before it cuts the rest (4,096: a submit's input or a
    /// result's JSON fits; a long body says how much was left out).</summary>
    public const int DebugBodyChars = 4096;

    /// <summary>The default user agent, <c>FalVideo/major.minor.patch</c>.</summary>
    public static string DefaultUserAgent { get; } =
        "FalVideo/" + (typeof(FalClientOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>Checks that the options can be used for keyed calls.</summary>
    /// <exception cref="FalConfigurationException">No key; a key with whitespace or control characters; a base URL
    /// that is relative, not http(s), or plain <c>http://</c> on a non-loopback host; an out-of-range timing or
    /// retry setting.</exception>
    public void Validate()
    {
        ValidateSettings();
        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            throw FalConfigurationException.MissingKey();
        }

        if (ApiKey.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new FalConfigurationException("The fal.ai API key contains whitespace or control characters; check how it was copied.");
        }
    }

    /// <summary>Everything <see cref="Validate"/> checks except the key, so a client that only downloads works without one.</summary>
    internal void ValidateSettings()
    {
        CheckBase(QueueBaseUrl, nameof(QueueBaseUrl));
        CheckBase(RestBaseUrl, nameof(RestBaseUrl));
        CheckBase(PlatformBaseUrl, nameof(PlatformBaseUrl));
        CheckPositive(RequestTimeout, nameof(RequestTimeout));
        CheckPositive(DownloadIdleTimeout, nameof(DownloadIdleTimeout));
        if (DownloadMinBytesPerSecond < 0)
        {
            throw new FalConfigurationException($"{nameof(DownloadMinBytesPerSecond)} must not be negative; it is {DownloadMinBytesPerSecond}.");
        }

        CheckPositive(MinPollInterval, nameof(MinPollInterval));
        CheckPositive(MaxPollInterval, nameof(MaxPollInterval));
        if (MinPollInterval > MaxPollInterval)
        {
            throw new FalConfigurationException($"{nameof(MinPollInterval)} ({MinPollInterval}) must not exceed {nameof(MaxPollInterval)} ({MaxPollInterval}).");
        }

        if (MaxRetries is < 0 or > 100)
        {
            throw new FalConfigurationException($"{nameof(MaxRetries)} must be between 0 and 100; it is {MaxRetries}.");
        }

        // Polly rejects delays above one day; anything that long is a mistake anyway.
        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromDays(1)
            || MaxRetryDelay < TimeSpan.Zero || MaxRetryDelay > TimeSpan.FromDays(1))
        {
            throw new FalConfigurationException($"{nameof(RetryBaseDelay)} and {nameof(MaxRetryDelay)} must be between zero and one day.");
        }

        if (string.IsNullOrWhiteSpace(UserAgent) || UserAgent.Any(char.IsControl))
        {
            throw new FalConfigurationException($"{nameof(UserAgent)} must be a non-empty single line.");
        }
    }

    internal FalClientOptions Clone() => (FalClientOptions)MemberwiseClone();

    private static void CheckBase(Uri? url, string name)
    {
        if (url is null || !url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new FalConfigurationException($"{name} must be an absolute http(s) URL; it is '{url}'.");
        }

        // The key travels in a header: plain HTTP is only acceptable when it never leaves the machine.
        if (!FalQueueUrls.IsAllowedScheme(url))
        {
            throw new FalConfigurationException(
                $"{name} '{url.GetLeftPart(UriPartial.Authority)}' uses plain http:// on a non-loopback host; use https:// (http:// is allowed only for 127.0.0.0/8, ::1 and localhost).");
        }
    }

    private static void CheckPositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
        {
            throw new FalConfigurationException($"{name} must be greater than zero and at most one day; it is {value}.");
        }
    }
}
