using System.Collections.Concurrent;
using System.Management.Automation;
using FalVideo.Engine;

namespace FalVideo.PowerShell.Engine;

/// <summary>
/// The one way work running on other threads reaches a cmdlet's output. Services and worker tasks post events (or
/// pipeline-thread callbacks) from any thread; only the pipeline thread writes them, in <see cref="Drain"/> and
/// <see cref="WaitUntil"/> (WriteObject, WriteProgress, WriteVerbose, WriteWarning, WriteError). Items posted with a
/// sequence number are written in that order whatever order they arrive in, so parallel work keeps its input order.
/// Ctrl+C (the cmdlet's stop token) ends a wait at once.
/// </summary>
internal sealed class EventPump : IEngineSink
{
    // Bounds how long output waits behind a burst of events before the burst's after-work (a journal write) runs.
    private const int MaxBurst = 256;

    private readonly Cmdlet _cmdlet;
    private readonly CancellationToken _stop;
    private readonly BlockingCollection<Item> _queue = new();
    private readonly SortedDictionary<int, Item> _held = new();
    private bool _writing;

    /// <summary>A pump writing to <paramref name="cmdlet"/>; <paramref name="stop"/> is the cmdlet's Ctrl+C token.</summary>
    public EventPump(Cmdlet cmdlet, CancellationToken stop)
    {
        _cmdlet = cmdlet;
        _stop = stop;
    }

    /// <summary>Write verbose lines as debug lines: set for a cmdlet run with -Debug and not -Verbose, where PowerShell
    /// (7.6 too) sets the verbose preference of a compiled cmdlet to Inquire, so every verbose line would stop to ask (and
    /// fail in a host that cannot prompt), while -Debug's own lines just show.</summary>
    public bool VerboseAsDebug { get; init; }

    /// <summary>The next sequence number to be written: every number below it has been written.</summary>
    public int NextInOrder { get; private set; } = 1;

    /// <summary>Queues an event to be written as soon as the pipeline thread drains. Any thread.</summary>
    public void Post(EngineEvent e) => Add(new Item(0, e, null, null));

    /// <summary>Queues a callback run on the pipeline thread (it may call Write*). Any thread.</summary>
    public void Post(Action write) => Add(new Item(0, null, write, null));

    /// <summary>Queues the whole outcome of item <paramref name="seq"/> (1, 2, ...): written after every lower number's.
    /// Post each number once. Any thread.</summary>
    public void PostInOrder(int seq, Action write) => Add(new Item(seq, null, write, null));

    /// <summary>Queues item <paramref name="seq"/>'s events, written in order after every lower number's. Any thread.</summary>
    public void PostInOrder(int seq, IReadOnlyList<EngineEvent> events) => Add(new Item(seq, null, null, events));

    /// <summary>Writes everything posted so far, without waiting. Pipeline thread only; does nothing when called from
    /// inside a callback the pump is running.</summary>
    public void Drain()
    {
        if (_writing) return;
        while (_queue.TryTake(out var item)) Accept(item);
    }

    /// <summary>
    /// Writes posted items as they arrive until <paramref name="done"/> is true, <paramref name="cancel"/> or Ctrl+C.
    /// After each burst of items (and at least every <paramref name="tickMilliseconds"/>) <paramref name="afterBurst"/>
    /// runs, e.g. to write progress. Pipeline thread only.
    /// </summary>
    /// <returns>False when Ctrl+C or <paramref name="cancel"/> ended the wait.</returns>
    public bool WaitUntil(Func<bool> done, Action? afterBurst = null, int tickMilliseconds = 200, CancellationToken cancel = default)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop, cancel);
        while (true)
        {
            Drain();
            afterBurst?.Invoke();
            if (done()) return true;
            if (both.IsCancellationRequested) return false;
            try
            {
                if (!_queue.TryTake(out var item, tickMilliseconds, both.Token)) continue;
                Accept(item);
                for (var n = 1; n < MaxBurst && _queue.TryTake(out item); n++) Accept(item);
            }
            catch (OperationCanceledException) { return false; }
        }
    }

    /// <summary>Writes one event on the pipeline thread.</summary>
    public void Write(EngineEvent e)
    {
        switch (e)
        {
            case JobEmitted j: _cmdlet.WriteObject(j.Job); break;
            case JobSaved s: _cmdlet.WriteObject(SavedFile(s)); break;
            case VerboseReported v when VerboseAsDebug: _cmdlet.WriteDebug(v.Text); break;
            case VerboseReported v: _cmdlet.WriteVerbose(v.Text); break;
            case WarningReported w: _cmdlet.WriteWarning(w.Text); break;
            case EngineError x: _cmdlet.WriteError(ErrorRecords.From(x)); break;
            case ProgressReported p:
                _cmdlet.WriteProgress(new ProgressRecord(p.ActivityId, p.Activity, p.Status)
                {
                    PercentComplete = p.PercentComplete,
                    ParentActivityId = p.ParentActivityId,
                    RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                });
                break;
            default: throw new ArgumentException($"No writer for {e.GetType().Name}.", nameof(e));
        }
    }

    /// <summary>Save-FalVideo's output: a report line for the video (<see cref="FalVideo.Jobs.SavedVideo"/>), the file one
    /// property away. Built on the pipeline thread: the billed cost prices with this runspace's catalog.</summary>
    private static FalVideo.Jobs.SavedVideo SavedFile(JobSaved saved)
    {
        var job = saved.Job;
        var file = new FileInfo(saved.Path);
        decimal? billed = null;
        // A price override file that can't be read only loses the billed column; the save itself succeeded.
        try
        {
            var charge = FalVideo.Billing.JobBilling.Charge(job, Settings.FalSettings.Current.Catalog);
            if (charge.Basis == "billable units") billed = charge.CostUsd;
        }
        catch (Exception ex) when (ex is FalVideo.Fal.FalException or IOException or InvalidDataException) { }
        return new FalVideo.Jobs.SavedVideo
        {
            RequestId = job.RequestId, EndpointId = job.EndpointId, Model = job.Model, Id = job.Id, Prompt = job.Prompt,
            Status = job.Status, DurationSeconds = job.DurationSeconds, EstimatedCostUsd = job.EstimatedCostUsd,
            BilledCostUsd = billed,
            Path = file.FullName, Size = file.Exists ? file.Length : 0, File = file,
            PSPath = @"Microsoft.PowerShell.Core\FileSystem::" + file.FullName, VideoUrl = job.VideoUrl,
        };
    }

    private void Add(Item item)
    {
        // After the cmdlet ends nobody drains: a late post from a worker is dropped.
        try { _queue.Add(item); } catch (InvalidOperationException) { }
    }

    private void Accept(Item item)
    {
        if (item.Seq == 0)
        {
            Run(item);
            return;
        }
        _held[item.Seq] = item;
        while (_held.TryGetValue(NextInOrder, out var next))
        {
            _held.Remove(NextInOrder);
            NextInOrder++;
            Run(next);
        }
    }

    private void Run(Item item)
    {
        _writing = true;
        try
        {
            if (item.Event is not null) Write(item.Event);
            item.Write?.Invoke();
            if (item.Events is not null)
                foreach (var e in item.Events) Write(e);
        }
        finally { _writing = false; }
    }

    private sealed record Item(int Seq, EngineEvent? Event, Action? Write, IReadOnlyList<EngineEvent>? Events);
}

/// <summary>
/// One item's sink for a service working in the background: progress and verbose lines go to the pump at once, the
/// rest (the output, warnings, errors) is kept and handed over in the item's place in the order by <see cref="Complete"/>.
/// </summary>
internal sealed class ItemSink(EventPump pump, int seq) : IEngineSink
{
    private readonly List<EngineEvent> _kept = new();

    /// <inheritdoc />
    public void Post(EngineEvent e)
    {
        if (e is ProgressReported or VerboseReported)
        {
            pump.Post(e);
            return;
        }
        lock (_kept) _kept.Add(e);
    }

    /// <summary>The item is done: its kept events are written after every earlier item's. Call once.</summary>
    public void Complete()
    {
        lock (_kept) pump.PostInOrder(seq, _kept.ToArray());
    }
}
