using System.Management.Automation;
using FalVideo.Engine;
using FalVideo.PowerShell.Engine;
using FalVideo.Fal;
using FalVideo.Jobs;

namespace FalVideo.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Downloads the videos of finished fal jobs to disk.</para>
/// <para type="description">Streams each video to a temporary file beside the target (never the whole file in
/// memory), checks its size against fal's file_size, then moves it into place. Returns a FileInfo that also carries
/// the job's RequestId, EndpointId, Model, Id, Prompt and EstimatedCostUsd, so Export-Csv makes a useful report.
/// Before a download it records in the job journal that the save was asked for, and where, so that
/// Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo finds a save a stop or a crash interrupted and finishes it in
/// the same folder. A file already at the target whose size is the video's size is taken as this video (recorded as
/// saved and returned); another existing file is not overwritten without -Force. Temporary files an interrupted save
/// of the same video left in the folder are removed.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "FalVideo", SupportsShouldProcess = true, DefaultParameterSetName = ByJobSet)]
[OutputType(typeof(FileInfo))]
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

    private string? _folder;
    private object? _intent;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        _folder = string.IsNullOrWhiteSpace(Directory) ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Directory);
        // A wait earlier in this statement records the save request with each job's completion (see SaveIntents).
        if (!MyInvocation.BoundParameters.ContainsKey("WhatIf")) _intent = Waiting.SaveIntents.Register(this, _folder);
    }

    /// <inheritdoc />
    protected override void OnDispose() => Waiting.SaveIntents.Leave(_intent);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var job in CurrentJobs())
        {
            var folder = _folder ?? (string.IsNullOrEmpty(job.SaveDirectory)
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(".")
                : job.SaveDirectory!);
            if (string.IsNullOrEmpty(job.RequestId))
            {
                var message = $"This job has no request id (an ambiguous submission to {job.EndpointId}), so there is no video to fetch; look for it in fal's dashboard.";
                WriteError(ErrorRecords.Create(FalErrorIds.NoRequestId, message, job, new InvalidOperationException(message)));
                continue;
            }
            try { Save(job, folder); }
            catch (Exception ex) when (ex is FalException or IOException or UnauthorizedAccessException)
            {
                var record = ToErrorRecord(ex, job, $"Request {job.RequestId}");
                // The download failed, not the job: the journal keeps it, with the reason, for another try.
                job.LastError = record.ErrorDetails.Message;
                Record("error", job);
                WriteError(record);
            }
        }
    }

    private void Save(FalJob job, string folder)
    {
        if (job.VideoUrl is null)
        {
            var handle = job.ToHandle(ClientOptions.QueueBaseUrl);
            if (!job.IsFinished) job.Apply(Run(ct => Client.GetStatusAsync(handle, false, ct)));
            if (job.Status != FalJobStatus.Completed)
            {
                var message = job.Status == FalJobStatus.Failed
                    ? $"Request {job.RequestId} failed at fal ({job.ErrorType}: {job.Error}); there is no video to save."
                    : $"Request {job.RequestId} is {job.Status}; wait for it first: ... | Wait-FalJob | Save-FalVideo.";
                WriteError(ErrorRecords.Create(FalErrorIds.JobNotCompleted, message, job, new InvalidOperationException(message)));
                return;
            }
            job.Apply(Run(ct => Client.GetResultAsync(handle, ct)));
        }
        if (job.VideoUrl is null || !Uri.TryCreate(job.VideoUrl, UriKind.Absolute, out var url))
        {
            var message = $"Request {job.RequestId} completed but its result has no video URL.";
            WriteError(ErrorRecords.Create(FalErrorIds.NoVideo, message, job, new InvalidOperationException(message)));
            return;
        }

        var path = Path.Combine(folder, FileNames.For(job));
        if (File.Exists(path) && !Force)
        {
            if (IsThisVideo(job, path))
            {
                // A save that finished writing the file but was stopped before recording it: record it now.
                if (!ShouldProcess(path, $"Record the existing file as the video of request {job.RequestId}")) return;
                RemoveLeftovers(path);
                Saved(job, path);
                return;
            }
            var message = $"{path} already exists; use -Force to overwrite it.";
            WriteError(ErrorRecords.Create(FalErrorIds.FileExists, message, path, new IOException(message)));
            return;
        }
        if (!ShouldProcess(path, $"Save video of request {job.RequestId}")) return;
        if (!string.Equals(job.SaveDirectory, folder, StringComparison.Ordinal))
        {
            job.SaveDirectory = folder;
            Record(Journal.JobJournal.SaveRequestedEntry, job);
        }
        System.IO.Directory.CreateDirectory(folder);
        RemoveLeftovers(path);

        long done = 0, total = job.VideoSize ?? -1;
        var activity = $"Downloading {Path.GetFileName(path)}";
        var client = Client; // resolved here: session settings belong to the pipeline thread's runspace
        var download = Task.Run(() => client.DownloadFileAsync(url, path, job.VideoSize,
            (bytes, size) => { Interlocked.Exchange(ref done, bytes); if (size is { } s) Interlocked.Exchange(ref total, s); }, StopToken));
        // A wait handle, not Task.Wait: Wait throws an AggregateException for a failed download, which would escape the
        // per-job error handling and end the whole pipeline instead of reporting this one job.
        while (!((IAsyncResult)download).AsyncWaitHandle.WaitOne(200))
        {
            FlushVerbose();
            var t = Interlocked.Read(ref total);
            var d = Interlocked.Read(ref done);
            WriteProgress(new ProgressRecord(7201, activity, t > 0 ? $"{d:N0} of {t:N0} bytes" : $"{d:N0} bytes")
            { PercentComplete = t > 0 ? (int)Math.Min(100, d * 100 / t) : -1 });
        }
        WriteProgress(new ProgressRecord(7201, activity, "Done") { RecordType = ProgressRecordType.Completed });
        FlushVerbose();
        download.GetAwaiter().GetResult();
        Saved(job, path);
    }

    /// <summary>True when the file at <paramref name="path"/> has the size fal reported for the job's video (asked of
    /// fal when the job does not know it yet).</summary>
    private bool IsThisVideo(FalJob job, string path)
    {
        if (job.VideoSize is null) job.Apply(Run(ct => Client.GetResultAsync(job.ToHandle(ClientOptions.QueueBaseUrl), ct)));
        return job.VideoSize is { } size && new FileInfo(path).Length == size;
    }

    /// <summary>Removes the temporary files (".&lt;name&gt;.&lt;guid&gt;.part", FalQueueClient.DownloadFileAsync's pattern) that an
    /// interrupted save of this same file left beside it; no other file is touched.</summary>
    private void RemoveLeftovers(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        if (!System.IO.Directory.Exists(folder)) return;
        var prefix = "." + Path.GetFileName(path) + ".";
        foreach (var part in System.IO.Directory.EnumerateFiles(folder, prefix + "*.part"))
        {
            var guid = Path.GetFileName(part)[prefix.Length..^".part".Length];
            if (guid.Length != 32 || !Guid.TryParseExact(guid, "N", out _)) continue;
            try
            {
                File.Delete(part);
                WriteVerbose($"Removed {part}, left by an interrupted save of {Path.GetFileName(path)}.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WriteWarning($"Could not remove {part}, left by an interrupted save: {ex.Message}");
            }
        }
    }

    private void Saved(FalJob job, string path)
    {
        job.SavedPath = path;
        job.LastError = null;
        Record("saved", job, path);

        var output = new PSObject(new FileInfo(path));
        output.Properties.Add(new PSNoteProperty("RequestId", job.RequestId));
        output.Properties.Add(new PSNoteProperty("EndpointId", job.EndpointId));
        output.Properties.Add(new PSNoteProperty("Model", job.Model));
        output.Properties.Add(new PSNoteProperty("Id", job.Id));
        output.Properties.Add(new PSNoteProperty("Prompt", job.Prompt));
        output.Properties.Add(new PSNoteProperty("EstimatedCostUsd", job.EstimatedCostUsd));
        output.Properties.Add(new PSNoteProperty("VideoUrl", job.VideoUrl));
        WriteObject(output);
    }
}

/// <summary>Safe local file names for downloaded videos.</summary>
internal static class FileNames
{
    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>"&lt;Id&gt;-&lt;first 8 of request id&gt;.mp4" when the row had an Id, else "&lt;request id&gt;.mp4"; extension from fal's file name.</summary>
    public static string For(FalJob job)
    {
        var ext = Path.GetExtension(job.VideoFileName ?? "");
        if (string.IsNullOrEmpty(ext) || ext.Length > 6 || Sanitize(ext[1..]) != ext[1..]) ext = ".mp4";
        var stem = string.IsNullOrWhiteSpace(job.Id)
            ? Sanitize(job.RequestId)
            : $"{Sanitize(job.Id)}-{Sanitize(job.RequestId.Length > 8 ? job.RequestId[..8] : job.RequestId)}";
        return stem + ext.ToLowerInvariant();
    }

    /// <summary>Keeps letters, digits, '-', '_' and '.'; never a path separator, '..', or a reserved device name.</summary>
    public static string Sanitize(string text)
    {
        var chars = text.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var name = new string(chars).Trim('.', ' ');
        if (name.Length == 0) name = "video";
        if (name.Length > 100) name = name[..100];
        if (s_reserved.Contains(name.Split('.')[0])) name = "_" + name;
        return name;
    }
}
