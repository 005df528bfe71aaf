using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Engine;
using FalVideo.Jobs;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// Base for cmdlets that act on existing fal requests: a piped FalJob, or a request id (from a CSV report, a
/// deserialized job of Start-Job, or another session), with its endpoint id when the job store does not know it.
/// </summary>
public abstract class JobInputCommandBase : FalCmdletBase
{
    /// <summary>Parameter set: a FalJob object.</summary>
    protected const string ByJobSet = "ByJob";
    /// <summary>Parameter set: ids.</summary>
    protected const string ByIdSet = "ById";

    /// <summary>A job from New-KlingVideo, New-HailuoVideo, Get-FalJob or Wait-FalJob.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByJobSet)]
    public FalJob[]? Job { get; set; }

    /// <summary>fal request id (a UUID), as submit returned it. Enough alone for a request the job store knows: its
    /// endpoint, Id, prompt and cost come from the store.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByIdSet)]
    [Alias("request_id")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.RequestIdCompleter))]
    public string? RequestId { get; set; }

    /// <summary>fal endpoint id the request was submitted to, e.g. fal-ai/kling-video/v3/pro/text-to-video. Needed only
    /// for a request the job store does not know (one submitted elsewhere).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ByIdSet)]
    [Alias("endpoint_id")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.EndpointIdCompleter))]
    public string? EndpointId { get; set; }

    /// <summary>
    /// The jobs of the current record: the piped jobs, or for a request id the job store's record of it (so a job rebuilt
    /// from a report keeps its Id, prompt, endpoint, cost and save folder), else one rebuilt from the ids and scoped to the
    /// current queue host. A request id the store does not know, given without an endpoint id, is a non-terminating
    /// error (FalRequestNotInStore) and yields nothing.
    /// </summary>
    protected IEnumerable<FalJob> CurrentJobs()
    {
        if (ParameterSetName == ByJobSet) return (Job ?? []).Select(j => j.Clone());
        var requestId = RequestId!.Trim();
        var endpointId = EndpointId?.Trim();
        var store = FalSettings.Current.Journal;
        FalJob? known = null;
        try { known = store.FindByRequestIds([requestId], WriteWarning).LastOrDefault(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (string.IsNullOrEmpty(endpointId))
            {
                var unreadable = $"Request {requestId}: the job store {store.FilePath} could not be read ({ex.Message}), and without it the endpoint id is not known; give -EndpointId too.";
                WriteError(ErrorRecords.Create(FalErrorIds.JournalNotWritten, unreadable, requestId, ex));
                return [];
            }
            WriteWarning($"Request {requestId}: the job store {store.FilePath} could not be read ({ex.Message}); the job is rebuilt from its ids alone.");
        }
        if (known is not null)
        {
            // An endpoint id given by the caller (a report's column) names the same request; the store's record is kept whole.
            if (!string.IsNullOrEmpty(endpointId) && !string.Equals(endpointId, known.EndpointId, StringComparison.Ordinal))
                WriteWarning($"Request {requestId}: -EndpointId {endpointId} differs from the job store's {known.EndpointId}; the store's is used.");
            return [known];
        }
        if (string.IsNullOrEmpty(endpointId))
        {
            var message = $"Request {requestId} is not in the job store {store.FilePath}, so its endpoint is not known; give -EndpointId too " +
                          "(e.g. -EndpointId fal-ai/kling-video/v3/pro/text-to-video).";
            WriteError(ErrorRecords.Create(FalErrorIds.RequestNotInStore, message, requestId, new ItemNotFoundException(message)));
            return [];
        }
        var model = ModelCatalog.Default.Find(endpointId, out var mode);
        return [new FalJob
        {
            RequestId = requestId,
            EndpointId = endpointId!,
            Model = model?.Name ?? "",
            Mode = mode ?? "",
            Status = FalJobStatus.Unknown,
            QueueHost = FalJob.HostOf(ScopeQueueBaseUrl),
        }];
    }
}
