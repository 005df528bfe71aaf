using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// Base for cmdlets that act on existing fal requests: a piped FalJob, or a request id and endpoint id
/// (from a CSV report, or another session).
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

    /// <summary>fal request id (a UUID), as submit returned it.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByIdSet)]
    [Alias("request_id")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.RequestIdCompleter))]
    public string? RequestId { get; set; }

    /// <summary>fal endpoint id the request was submitted to, e.g. fal-ai/kling-video/v3/pro/text-to-video.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ByIdSet)]
    [Alias("endpoint_id")]
    [ArgumentCompleter(typeof(FalVideo.PowerShell.Completion.EndpointIdCompleter))]
    public string? EndpointId { get; set; }

    /// <summary>The jobs of the current record: the piped jobs, or one rebuilt from the ids.</summary>
    protected IEnumerable<FalJob> CurrentJobs()
    {
        if (ParameterSetName == ByJobSet) return (Job ?? []).Select(j => j.Clone());
        var model = ModelCatalog.Default.Find(EndpointId, out var mode);
        return [new FalJob
        {
            RequestId = RequestId!.Trim(),
            EndpointId = EndpointId!.Trim(),
            Model = model?.Name ?? "",
            Mode = mode ?? "",
            Status = FalJobStatus.Unknown,
        }];
    }
}
