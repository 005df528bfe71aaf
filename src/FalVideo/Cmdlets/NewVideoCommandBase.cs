using System.Management.Automation;
using FalVideo.Catalog;
using FalVideo.Fal;
using FalVideo.Jobs;
using FalVideo.PowerShell.Binding;
using FalVideo.PowerShell.Completion;
using FalVideo.PowerShell.Requests;
using FalVideo.PowerShell.Waiting;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// The submit flow shared by <c>New-KlingVideo</c> and <c>New-HailuoVideo</c>: check the row, say what it
/// costs (-WhatIf), upload local images, submit one fal queue request, emit the job at once.
/// With -Wait the jobs are submitted first and waited for together at the end.
/// </summary>
public abstract class NewVideoCommandBase : FalCmdletBase
{
    private readonly List<FalJob> _toWait = new();
    private int _row;

    /// <summary>
    /// Text prompt describing the video. Required for text-to-video. Binds from a <c>Prompt</c> column.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Prompt { get; set; }

    /// <summary>
    /// Catalog model name or a full fal endpoint id. An empty cell means the default model.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>Your own identifier for the row (an <c>Id</c> column), carried onto the job for reports and file names.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Id { get; set; }

    /// <summary>Waits for every submitted job to finish and emits them as they complete (see Wait-FalJob).</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: the longest time to wait for all jobs, in seconds (default: no limit).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>Model family this cmdlet submits to (<c>Kling</c>, <c>Hailuo</c>).</summary>
    protected abstract string Family { get; }

    /// <summary>Catalog name used when -Model is not given.</summary>
    protected abstract string DefaultModel { get; }

    /// <summary>The bound parameters of the current record as a row.</summary>
    internal abstract VideoRow CurrentRow();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        _row++;
        var label = MyInvocation.ExpectingInput ? $"Row {_row}" : "Input";
        var problems = TakeBindingProblems().ToList();
        var row = CurrentRow();
        var plan = VideoRequestPlanner.Plan(row, Family, DefaultModel, ModelCatalog.Default,
            SessionState.Path.CurrentFileSystemLocation.ProviderPath, problems);
        if (problems.Count > 0 || plan is null)
        {
            WriteInputError(label, problems, row.Id ?? row.Prompt);
            return;
        }
        if (!ShouldProcess(plan.Describe(label), "Submit to fal")) return;

        try
        {
            foreach (var upload in plan.Uploads)
            {
                var url = Run(ct => Client.UploadFileAsync(upload.Path, null, ct));
                plan.Input[upload.Field] = url.ToString();
                WriteVerbose($"{label}: uploaded {upload.Path} to {url}");
            }
            var submitted = Run(ct => Client.SubmitAsync(plan.EndpointId, plan.Input, null, ct));
            var job = new FalJob
            {
                RequestId = submitted.RequestId,
                EndpointId = plan.EndpointId,
                Model = plan.Model.Name,
                Mode = plan.Mode,
                Id = row.Id,
                Status = FalJobStatus.InQueue,
                QueuePosition = submitted.QueuePosition,
                Prompt = plan.Prompt,
                DurationSeconds = plan.DurationSeconds,
                EstimatedCostUsd = plan.Cost?.TotalUsd,
                SubmittedAt = DateTimeOffset.UtcNow,
                StatusUrl = submitted.StatusUrl.ToString(),
                ResponseUrl = submitted.ResponseUrl.ToString(),
                CancelUrl = submitted.CancelUrl.ToString(),
                Input = plan.Input.ToJsonString(),
            };
            Record("submitted", job);
            if (Wait) _toWait.Add(job);
            else WriteObject(job);
        }
        catch (FalException ex)
        {
            WriteError(ToErrorRecord(ex, row.Id ?? (object?)row.Prompt, label));
        }
        catch (IOException ex)
        {
            WriteError(ToErrorRecord(ex, row.Id ?? (object?)row.Prompt, label));
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_toWait.Count > 0)
            new JobWaiter(this, Client, ClientOptions.QueueBaseUrl).WaitAll(_toWait, Timeout, StopToken);
        base.EndProcessing();
    }
}
