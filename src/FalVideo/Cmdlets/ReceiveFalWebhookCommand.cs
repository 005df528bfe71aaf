using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Text.Json;
using FalVideo.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Verifies a webhook fal sent when a request finished, and returns the job it reports.</para>
/// <para type="description">Checks fal's Ed25519 signature of the delivery (over the request id, user id, timestamp
/// and the SHA-256 of the body, with fal's public keys from its JWKS, kept in memory for up to 24 hours) and that it
/// was signed within 300 seconds of now (-MaxAgeSeconds). A delivery that fails a check is a terminating FalWebhookInvalid error and
/// nothing of it is used. A verified success is recorded in the job store (completed, with its video URL) and output
/// as the FalJob, which Save-FalVideo downloads without asking fal again; a verified failure is recorded and reported
/// as a FalJobFailed error. Takes Azure Automation's $WebhookData as it is, or the body and headers of any
/// receiver.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "FalWebhook", DefaultParameterSetName = WebhookDataSet)]
[OutputType(typeof(FalJob))]
public sealed class ReceiveFalWebhookCommand : PSCmdlet, IDisposable
{
    private const string WebhookDataSet = "WebhookData";
    private const string PartsSet = "BodyAndHeader";

    /// <summary>Environment variable naming the JWKS URL (default: the REST base URL's /.well-known/jwks.json,
    /// https://rest.fal.ai/.well-known/jwks.json unless the module points at the emulator).</summary>
    public const string JwksUrlVariable = "FALVIDEO_JWKS_URL";

    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Azure Automation's $WebhookData (an object with RequestBody and RequestHeader, or its JSON text as
    /// PowerShell 7 runbooks receive it), or any object with Body and Header (or Headers) properties.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = WebhookDataSet)]
    public object? WebhookData { get; set; }

    /// <summary>The raw request body exactly as received (fal signed its bytes: do not re-serialize it).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PartsSet)]
    [Alias("RequestBody")]
    [AllowEmptyString]
    public string? Body { get; set; }

    /// <summary>The request headers: a hashtable or dictionary, an object whose properties are the headers (what
    /// ConvertFrom-Json gives), a NameValueCollection (HttpListenerRequest.Headers) or their JSON text. Names match
    /// in any case.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PartsSet)]
    [Alias("Headers", "RequestHeader")]
    public object? Header { get; set; }

    /// <summary>Where fal's public keys are (a JWKS).</summary>
    [Parameter]
    public Uri? JwksUrl { get; set; }

    /// <summary>How many seconds the delivery's signed timestamp may lie from this machine's clock, either way (default
    /// 300, fal's window). A runbook that starts minutes after fal's POST (Azure Automation queues jobs) needs more;
    /// a wider window lets a captured delivery be replayed for longer.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int MaxAgeSeconds { get; set; } = 300;

    /// <inheritdoc />
    protected override void StopProcessing() => _stopping.Cancel();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string body;
        FalWebhookHeaders headers;
        if (ParameterSetName == PartsSet)
        {
            body = Body ?? "";
            headers = FalWebhookHeaders.From(HeaderPairs(Header));
        }
        else
        {
            (body, headers) = FromWebhookData(WebhookData);
        }

        var jwks = JwksUrl ?? JwksUrlFromEnvironment() ?? FalWebhookVerifier.JwksUrlFor(FalSettings.Current.ToClientOptions(null).RestBaseUrl);
        WriteVerbose($"Verifying the webhook for request {headers.RequestId ?? "(none)"} with the keys at {jwks}.");
        FalWebhookEvent delivery;
        try
        {
            delivery = new FalWebhookVerifier(jwks) { Tolerance = TimeSpan.FromSeconds(MaxAgeSeconds) }.VerifyAsync(headers, body, _stopping.Token).GetAwaiter().GetResult();
        }
        catch (FalWebhookException ex)
        {
            ThrowTerminatingError(ErrorRecords.FromException(ex, headers.RequestId));
            return;
        }

        var store = FalSettings.Current.Journal;
        FalJob job;
        try
        {
            job = FindInStore(store, delivery.RequestId) ?? new FalJob { RequestId = delivery.RequestId, Status = FalJobStatus.Unknown };
        }
        catch (IOException ex)
        {
            WriteWarning($"Could not read the job store {store.FilePath}: {ex.Message}. The job is output from the webhook alone.");
            job = new FalJob { RequestId = delivery.RequestId, Status = FalJobStatus.Unknown };
        }
        // A request the store does not know is taken as one of the host this session is pointed at (the webhook names none).
        if (string.IsNullOrEmpty(job.QueueHost) && string.IsNullOrEmpty(job.EndpointId)) job.QueueHost = FalJob.HostOf(FalSettings.Current.ToClientOptions(null).QueueBaseUrl);
        if (string.IsNullOrEmpty(job.EndpointId))
            WriteVerbose($"Request {delivery.RequestId} is not in the job store; it is recorded from the webhook alone (no endpoint id, model or prompt).");
        delivery.ApplyTo(job);

        try { store.Append("status", job); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteWarning(JobLifecycle.StoreWarning(store, job, ex.Message));
        }

        if (job.Status == FalJobStatus.Completed)
        {
            var output = PSObject.AsPSObject(job);
            output.Properties.Add(new PSNoteProperty("Webhook", delivery));
            WriteObject(output);
            return;
        }
        var message = $"Request {job.RequestId}{(string.IsNullOrEmpty(job.Model) ? "" : $" ({job.Model})")} failed at fal: {job.Error}";
        WriteError(ErrorRecords.Create(FalErrorIds.JobFailed, message, job, new InvalidOperationException(message)));
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private static Uri? JwksUrlFromEnvironment() =>
        Environment.GetEnvironmentVariable(JwksUrlVariable) is { Length: > 0 } v && Uri.TryCreate(v.Trim(), UriKind.Absolute, out var u) ? u : null;

    // The store keeps one latest state per request; an open job is the usual case (found through the status index),
    // a repeated delivery of a finished one the rare case that reads everything.
    private static FalJob? FindInStore(FalVideo.Journal.IJobStore store, string requestId)
    {
        FalJob? Match(IEnumerable<FalJob> jobs) => jobs.LastOrDefault(j => string.Equals(j.RequestId, requestId, StringComparison.Ordinal));
        return Match(store.ReadJobsByStatus([FalJobStatus.InQueue, FalJobStatus.InProgress, FalJobStatus.Unknown]))
            ?? Match(store.ReadJobs());
    }

    private (string Body, FalWebhookHeaders Headers) FromWebhookData(object? data)
    {
        var value = data is PSObject ps ? ps.BaseObject : data;
        if (value is string text)
        {
            // PowerShell 7 runbooks in Azure Automation receive $WebhookData as its JSON text.
            try
            {
                using var document = JsonDocument.Parse(text);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("RequestBody", out var b))
                {
                    var headers = root.TryGetProperty("RequestHeader", out var h) && h.ValueKind == JsonValueKind.Object
                        ? h.EnumerateObject().Select(p => new KeyValuePair<string, string?>(p.Name, JsonText(p.Value))).ToList()
                        : [];
                    return (b.ValueKind == JsonValueKind.String ? b.GetString() ?? "" : b.GetRawText(), FalWebhookHeaders.From(headers));
                }
            }
            catch (JsonException) { }
            ThrowNotWebhookData("a JSON text without RequestBody");
        }

        // Azure Automation's names, or Body and Header(s) (a spool a receiver wrote, read back with Import-Csv).
        var wrapped = PSObject.AsPSObject(data!);
        var bodyProperty = wrapped.Properties["RequestBody"] ?? wrapped.Properties["Body"];
        if (bodyProperty is null) ThrowNotWebhookData($"an object of type {value?.GetType().Name} without a RequestBody or Body property");
        var headerProperty = wrapped.Properties["RequestHeader"] ?? wrapped.Properties["Header"] ?? wrapped.Properties["Headers"];
        return (bodyProperty!.Value is { } v ? (v is PSObject p ? p.BaseObject : v).ToString() ?? "" : "",
            FalWebhookHeaders.From(HeaderPairs(headerProperty?.Value)));
    }

    private void ThrowNotWebhookData(string what)
    {
        var message = $"-WebhookData is {what}: pass Azure Automation's $WebhookData, or -Body and -Header.";
        ThrowTerminatingError(ErrorRecords.Create(FalErrorIds.InvalidInput, message, WebhookData, new ArgumentException(message)));
    }

    private static string? JsonText(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Array => e.EnumerateArray().Select(JsonText).FirstOrDefault(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => e.GetRawText(),
    };

    /// <summary>Header names and values from whatever form the receiver has them in.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> HeaderPairs(object? headers)
    {
        var value = headers is PSObject ps ? ps.BaseObject : headers;
        switch (value)
        {
            case null:
                yield break;
            case string json:
                List<KeyValuePair<string, string?>> parsed = [];
                try
                {
                    using var document = JsonDocument.Parse(json);
                    if (document.RootElement.ValueKind == JsonValueKind.Object)
                        parsed.AddRange(document.RootElement.EnumerateObject().Select(p => new KeyValuePair<string, string?>(p.Name, JsonText(p.Value))));
                }
                catch (JsonException) { }
                foreach (var pair in parsed) yield return pair;
                yield break;
            case NameValueCollection collection:
                foreach (string? name in collection.AllKeys)
                {
                    if (name is not null) yield return new(name, collection.GetValues(name)?.FirstOrDefault());
                }
                yield break;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (entry.Key?.ToString() is { } name) yield return new(name, One(entry.Value));
                }
                yield break;
            default:
                foreach (var property in PSObject.AsPSObject(headers!).Properties)
                {
                    if (property.IsGettable) yield return new(property.Name, One(property.Value));
                }
                yield break;
        }
    }

    private static string? One(object? value)
    {
        var v = value is PSObject ps ? ps.BaseObject : value;
        return v switch
        {
            null => null,
            string s => s,
            IEnumerable many => many.Cast<object?>().Select(One).FirstOrDefault(),
            _ => v.ToString(),
        };
    }
}
