namespace FalVideo.Emulator;

/// <summary>
/// Settings of one emulator instance. Times are in seconds.
/// </summary>
public sealed class EmulatorOptions
{
    /// <summary>
    /// Address Kestrel binds, e.g. <c>http://127.0.0.1:8787</c>. <c>http://127.0.0.1:0</c> picks a free port;
    /// read the chosen one from <see cref="RunningEmulator.BaseUrl"/>.
    /// </summary>
    public string Urls { get; set; } = "http://127.0.0.1:8787";

    /// <summary>
    /// Run time in seconds of each job once it leaves the queue (0 = completes the moment it starts).
    /// A prompt marker <c>[emulator:seconds=N]</c> overrides it per job.
    /// </summary>
    public double JobSeconds { get; set; }

    /// <summary>
    /// Jobs allowed IN_PROGRESS at once; the rest wait IN_QUEUE with a <c>queue_position</c>.
    /// 2 is fal's limit for a new account (PROTOCOL.md, "Concurrency").
    /// </summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>
    /// The only key accepted in <c>Authorization: Key &lt;key&gt;</c>; null accepts any non-empty key.
    /// </summary>
    public string? RequiredApiKey { get; set; }

    /// <summary>
    /// The only key the platform's billing events route (<c>GET /v1/models/billing-events</c>) takes as an admin key;
    /// other keys get 403 there. Null takes any non-empty key as an admin key.
    /// </summary>
    public string? AdminApiKey { get; set; }

    /// <summary>Largest accepted upload in bytes; a bigger <c>PUT</c> gets 413. Default 100 MB.</summary>
    public long MaxUploadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// Size in bytes of the video every successful job serves from the CDN route (the embedded sample padded with zero
    /// bytes, streamed without being held in memory); null serves the sample as it is (about 24 KB). A prompt marker
    /// <c>[emulator:video-mb=N]</c> overrides it per job.
    /// </summary>
    public long? VideoBytes { get; set; }

    /// <summary>
    /// The most bytes per second the CDN route (<c>/cdn/</c>) sends on one connection, as a CDN edge caps a single
    /// connection; null (the default) sends as fast as the connection takes it. Each response is paced on its own:
    /// over HTTP/1.1, which is what clients speak to this plain-HTTP listener, a connection carries one response at a
    /// time, so that is the cap per connection. Several connections get the rate each.
    /// </summary>
    public long? CdnBytesPerSecondPerConnection { get; set; }

    /// <summary>Starts with private outputs: unsigned CDN GETs are refused with 403 and the storage sign API signs them
    /// (<see cref="Routes.PrivateOutputs"/>; switchable later with <c>POST /_emulator/private-outputs</c>).</summary>
    public bool PrivateOutputs { get; set; }

    /// <summary>Logs one Information line per request (otherwise only warnings are logged).</summary>
    public bool Verbose { get; set; }

    /// <summary>
    /// Clock that decides job progress. Tests can pass their own to step time without sleeping;
    /// it does not slow down the status stream's own pacing.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The <c>X-Fal-Webhook-User-Id</c> of the webhooks the emulator sends (fal sends the account's user id).</summary>
    public string WebhookUserId { get; set; } = "emulator-user";

    /// <summary>
    /// Seconds between attempts to deliver a webhook that its receiver did not answer with 2xx (up to 10 retries, as
    /// fal makes; fal spreads them over 2 hours). Real seconds, not the <see cref="TimeProvider"/>'s.
    /// </summary>
    public double WebhookRetrySeconds { get; set; } = 5;

    /// <summary>Seconds a webhook receiver has to answer one delivery before it counts as failed.</summary>
    public double WebhookTimeoutSeconds { get; set; } = 10;
}
