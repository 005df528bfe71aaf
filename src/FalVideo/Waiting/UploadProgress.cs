using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;

namespace FalVideo.PowerShell.Waiting;

/// <summary>
/// Write-Progress for the local files the New-*Video cmdlets upload in the background: one bar for all files being
/// uploaded (bytes sent of bytes in total) and one per file. Upload tasks report bytes from any thread through
/// <see cref="Start"/>'s handle; only the pipeline thread writes, in <see cref="Write"/>, at most every 200 ms and
/// whenever a file finishes (so even a quick upload shows its size once).
/// </summary>
internal sealed class UploadProgress(Cmdlet cmdlet)
{
    private const int ParentActivityId = 7301;
    private static readonly long Interval = Stopwatch.Frequency / 5;

    private readonly ConcurrentDictionary<int, Upload> _active = new();
    private int _next;
    private long _lastWrite;
    private bool _shown;

    /// <summary>One file's upload: pass <see cref="Report"/> to the client, set <see cref="Done"/> when it ends.</summary>
    public sealed class Upload
    {
        internal required string Name { get; init; }
        internal required int Id { get; init; }
        internal long Sent;
        internal long Total;

        /// <summary>The upload ended (sent, failed or stopped).</summary>
        public volatile bool Done;

        /// <summary>The client's progress callback: (bytes sent so far, file size in bytes).</summary>
        public void Report(long sent, long total)
        {
            Interlocked.Exchange(ref Total, total);
            Interlocked.Exchange(ref Sent, sent);
        }
    }

    /// <summary>Starts tracking the upload of <paramref name="path"/>; any thread.</summary>
    public Upload Start(string path)
    {
        var upload = new Upload { Name = Path.GetFileName(path), Id = Interlocked.Increment(ref _next) };
        _active[upload.Id] = upload;
        return upload;
    }

    /// <summary>Writes the bars when 200 ms have passed, a file finished, or <paramref name="force"/>. Pipeline thread only.</summary>
    public void Write(bool force = false)
    {
        // Called for every row: a batch without local files ends here.
        if (_active.IsEmpty && !_shown) return;
        var now = Stopwatch.GetTimestamp();
        var anyDone = false;
        foreach (var (_, u) in _active) anyDone |= u.Done;
        if (!force && !anyDone && now - _lastWrite < Interval) return;
        _lastWrite = now;
        if (_active.IsEmpty)
        {
            if (_shown) cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Uploading local files to fal", "Done") { RecordType = ProgressRecordType.Completed });
            _shown = false;
            return;
        }

        long sent = 0, total = 0;
        var running = 0;
        foreach (var (_, u) in _active)
        {
            sent += Interlocked.Read(ref u.Sent);
            total += Interlocked.Read(ref u.Total);
            if (!u.Done) running++;
        }
        cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, "Uploading local files to fal",
            $"{running} file(s) uploading: {sent:N0} of {total:N0} bytes")
        { PercentComplete = Percent(sent, total) });
        _shown = true;

        foreach (var u in _active.Values.OrderBy(u => u.Id))
        {
            var id = ParentActivityId + 1 + u.Id % 64;
            var t = Interlocked.Read(ref u.Total);
            var s = Interlocked.Read(ref u.Sent);
            cmdlet.WriteProgress(new ProgressRecord(id, $"Uploading {u.Name}", $"{s:N0} of {t:N0} bytes")
            { ParentActivityId = ParentActivityId, PercentComplete = Percent(s, t) });
            if (!u.Done) continue;
            cmdlet.WriteProgress(new ProgressRecord(id, $"Uploading {u.Name}", "Done")
            { ParentActivityId = ParentActivityId, RecordType = ProgressRecordType.Completed });
            _active.TryRemove(u.Id, out _);
        }
    }

    /// <summary>Percent of <paramref name="total"/> bytes sent, or -1 (no percentage) while the size is unknown.</summary>
    private static int Percent(long sent, long total) => total > 0 ? (int)Math.Min(100, sent * 100 / total) : -1;
}
