using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.Jobs;
using FalVideo.PowerShell.Engine;
using FalVideo.PowerShell.Settings;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Downloads the videos of finished fal jobs to disk.</para>
/// <para type="description">Streams each video to a temporary file beside the target (never the whole file in
/// memory), checks its size against fal's file_size, then moves it into place. Returns a report line per video
/// (FalVideo.Jobs.SavedVideo: RequestId, EndpointId, Model, Id, Prompt, Status, DurationSeconds, EstimatedCostUsd,
/// BilledCostUsd, Path, Size), so Export-Csv makes a report with one line per video; the FileInfo is its File property,
/// and its PSPath lets Get-Item and Remove-Item take it from the pipeline. Jobs rebuilt from such a report
/// (Import-Csv done.csv | Save-FalVideo -Force), from Start-Job output or from a bare request id take their Id, prompt,
/// endpoint, cost and save folder from the job store, so they are saved to the same files again.
/// Before a download it records in the job journal that the save was asked for, and where, so that
/// Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo finds a save a stop or a crash interrupted and finishes it in
/// the same folder. A file already at the target whose size is the video's size is taken as this video (recorded as
/// saved and returned); another existing file is not overwritten without -Force. Temporary files an interrupted save
/// of the same video left in the folder are removed. Up to -ThrottleLimit videos download at once; the files still
/// come out in the order the jobs came in.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "FalVideo", SupportsShouldProcess = true, DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FalVideo.Jobs.SavedVideo))]
public sealed class SaveFalVideoCommand : JobInputCommandBase
{
    /// <summary>Folder to save into (created if missing); default: the folder an earlier save of the job was asked for, else the current location.</summary>
    // First positional for piped jobs; after the request id and endpoint id when those are given by position.
    [Parameter(Position = 0, ParameterSetName = ByJobSet)]
    [Parameter(Position = 2, ParameterSetName = ByIdSet)]
    [Alias("Path", "OutputDirectory")]
    public string? Directory { get; set; }

    /// <summary>Overwrites an existing file of the same name.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How many videos download at once (default 4). The files are still output in the order the jobs came in.</summary>
    // Why 4: a video is one CDN stream that a home downlink fills by itself or nearly so; a few at once hide each
    // download's start-up (connection, first byte) without splitting the line into many slow transfers that each risk
    // the minimum-rate limit.
    [Parameter]
    [ValidateRange(1, 32)]
    public int ThrottleLimit { get; set; } = 4;

    // Download progress bars: one per download running, numbered from here.
    private const int ProgressActivityId = 7201;

    private string? _folder;
    private object? _intent;
    private VideoSaver? _saver;
    private SemaphoreSlim? _gate;
    private int _seq;
    private int _running;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        _folder = string.IsNullOrWhiteSpace(Directory) ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Directory);
        // A wait earlier in this statement records the save request with each job's completion (see SaveIntents).
        if (!MyInvocation.BoundParameters.ContainsKey("WhatIf")) _intent = Waiting.SaveIntents.Register(this, _folder);
        _gate = new SemaphoreSlim(ThrottleLimit);
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        // Settings belong to the pipeline thread's runspace: the client and store are resolved here.
        var saver = _saver ??= new VideoSaver(Client, ClientOptions.QueueBaseUrl, FalSettings.Current.Journal);
        foreach (var job in CurrentJobs())
        {
            var seq = ++_seq;
            var folder = _folder ?? (string.IsNullOrEmpty(job.SaveDirectory)
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(".")
                : job.SaveDirectory!);
            var plan = Run(ct => saver.PlanAsync(job, folder, Force, ct));
            var confirmed = plan.Action switch
            {
                SaveAction.AdoptExisting => ShouldProcess(plan.Path, $"Record the existing file as the video of request {job.RequestId}"),
                SaveAction.Download => ShouldProcess(plan.Path, $"Save video of request {job.RequestId}"),
                _ => true,
            };
            if (!confirmed)
            {
                Pump.PostInOrder(seq, []);
                continue;
            }
            // A free download slot, while earlier videos' files and progress keep being written.
            while (!_gate!.Wait(50, StopToken)) Pump.Drain();
            var item = new ItemSink(Pump, seq);
            var progressId = ProgressActivityId + (seq - 1) % (2 * ThrottleLimit);
            var stop = StopToken;
            Interlocked.Increment(ref _running);
            _ = Task.Run(async () =>
            {
                try { await saver.SaveAsync(plan, item, progressId, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (Exception ex) { item.Post(new EngineError(ex, plan.Job, $"Request {plan.Job.RequestId}")); }
                finally
                {
                    _gate.Release();
                    Interlocked.Decrement(ref _running);
                    item.Complete();
                }
            });
        }
        Pump.Drain();
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        Pump.WaitUntil(() => Pump.NextInOrder > _seq);
        base.EndProcessing();
    }

    /// <inheritdoc />
    protected override void OnDispose()
    {
        Waiting.SaveIntents.Leave(_intent);
        // A stop cancelled the downloads; they end within moments, leaving at most .part files the next save removes.
        // Waiting here keeps the client alive until they have.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _running) > 0 && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(10);
    }
}
