using System.Text.Json.Nodes;
using FalVideo.Emulator.Faults;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Media;
using FalVideo.Emulator.Webhooks;

namespace FalVideo.Emulator;

/// <summary>
/// Counters and jobs of one emulator, for tests and <c>GET /_emulator/stats</c>. Thread-safe; every read is current.
/// </summary>
public sealed class EmulatorState
{
    private readonly JobScheduler jobs;
    private readonly UploadStore uploads;
    private int requests;
    private int statusRequests;
    private int jwksRequests;

    internal EmulatorState(JobScheduler jobs, UploadStore uploads, EmulatorOptions? options = null)
    {
        this.jobs = jobs;
        this.uploads = uploads;
        PrivateOutputs = new Routes.PrivateOutputs(options?.PrivateOutputs ?? false, options?.TimeProvider ?? TimeProvider.System);
    }

    /// <summary>Private outputs: whether unsigned CDN GETs are refused, and the storage sign API's counts.</summary>
    public Routes.PrivateOutputs PrivateOutputs { get; }

    /// <summary>The jobs, kept across <see cref="RunningEmulator.RestartAsync"/>.</summary>
    internal JobScheduler Scheduler => jobs;

    /// <summary>The uploads, kept across <see cref="RunningEmulator.RestartAsync"/>.</summary>
    internal UploadStore UploadStore => uploads;

    /// <summary>Scripted faults and per-route request counts (<c>/_emulator/faults</c>); <see cref="Reset"/> leaves them alone.</summary>
    public FaultInjector Faults { get; } = new();

    /// <summary>The query and <c>x-fal-*</c> headers of every submit received (<c>GET /_emulator/submissions</c>).</summary>
    public Routes.SubmitLog Submissions { get; } = new();

    /// <summary>Jobs created by <c>POST /{endpoint id}</c>; refused submissions (401/404/422) create none.</summary>
    public int AcceptedSubmissions => jobs.Count;

    /// <summary>Every HTTP request received, whatever its route or outcome.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>Requests to <c>.../status</c> and <c>.../status/stream</c>; a stream counts once however long it stays open.</summary>
    public int StatusRequests => Volatile.Read(ref statusRequests);

    /// <summary>The key pair the emulator signs webhooks with; its public key is served at <c>/.well-known/jwks.json</c>.</summary>
    public WebhookSigner WebhookKeys { get; } = new();

    /// <summary>Requests to <c>/.well-known/jwks.json</c>.</summary>
    public int JwksRequests => Volatile.Read(ref jwksRequests);

    /// <summary>Every webhook POST made so far (first deliveries and retries), oldest first.</summary>
    public IReadOnlyList<WebhookAttempt> WebhookAttempts => Webhooks.Attempts;

    /// <summary>Webhooks waiting for their job or their next retry, and the attempts made.</summary>
    internal WebhookOutbox Webhooks { get; } = new();

    /// <summary>All jobs in submission order, as of now.</summary>
    public IReadOnlyCollection<EmulatedJob> Jobs => jobs.All();

    /// <summary>Upload tokens whose <c>PUT</c> completed.</summary>
    public int Uploads => uploads.CompletedCount;

    /// <summary>Forgets all jobs and uploads and zeroes the counters (<c>POST /_emulator/reset</c>).</summary>
    public void Reset()
    {
        jobs.Reset();
        uploads.Clear();
        Submissions.Clear();
        Webhooks.Clear();
        Volatile.Write(ref jwksRequests, 0);
        Volatile.Write(ref requests, 0);
        Volatile.Write(ref statusRequests, 0);
    }

    internal void CountRequest() => Interlocked.Increment(ref requests);

    internal void CountStatusRequest() => Interlocked.Increment(ref statusRequests);

    internal void CountJwksRequest() => Interlocked.Increment(ref jwksRequests);

    internal JsonObject ToJson()
    {
        var all = jobs.All();
        return new JsonObject
        {
            ["accepted_submissions"] = all.Count,
            ["requests"] = Requests,
            ["status_requests"] = StatusRequests,
            ["uploads"] = Uploads,
            ["jwks_requests"] = JwksRequests,
            ["webhook_attempts"] = Webhooks.Attempts.Count,
            ["webhooks_pending"] = Webhooks.PendingCount,
            ["in_queue"] = all.Count(j => j.Status == JobStatus.InQueue),
            ["in_progress"] = all.Count(j => j.Status == JobStatus.InProgress),
            ["completed"] = all.Count(j => j.Status == JobStatus.Completed),
            ["failed"] = all.Count(j => j.Error is not null),
        };
    }
}
