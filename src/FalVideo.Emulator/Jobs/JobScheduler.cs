using FalVideo.Emulator.Media;

namespace FalVideo.Emulator.Jobs;

/// <summary>Outcome of a cancel call, mapped to fal's cancel responses (PROTOCOL.md, "Cancel").</summary>
internal enum CancelOutcome { NotFound, AlreadyCompleted, Requested }

/// <summary>
/// FIFO queue with a fixed number of runner slots, evaluated lazily: every read first replays,
/// in time order, the starts and ends that the clock has passed since the last read. No timer runs,
/// so thousands of jobs cost a heap operation each, and a fake clock gives exact, repeatable states.
/// </summary>
internal sealed class JobScheduler(EmulatorOptions options)
{
    private readonly object gate = new();
    private readonly TimeProvider clock = options.TimeProvider;
    private readonly int slots = options.Concurrency;
    private readonly Dictionary<string, JobEntry> byId = new(StringComparer.Ordinal);
    private readonly List<JobEntry> inSubmitOrder = [];
    private readonly Queue<JobEntry> waiting = new();
    private readonly PriorityQueue<JobEntry, (DateTimeOffset EndsAt, long Ticket)> running = new();

    // Jobs cancelled while queued stay in `waiting` until dequeued; their tickets are kept here
    // so queue positions can skip them without scanning the queue.
    private readonly SortedSet<long> cancelledWaiting = [];
    private long nextTicket;
    private long dequeued;

    public int Count
    {
        get { lock (gate) return inSubmitOrder.Count; }
    }

    public EmulatedJob Submit(string endpointId, string appId, string input, double runSeconds, string? plannedFailure, long? videoBytes = null)
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            Advance(now);
            var job = new JobEntry(Guid.NewGuid().ToString(), endpointId, appId, input,
                runSeconds, plannedFailure, now, nextTicket++) { VideoBytes = videoBytes };
            byId.Add(job.RequestId, job);
            inSubmitOrder.Add(job);
            waiting.Enqueue(job);
            StartWaiting(now);
            return Snapshot(job, now);
        }
    }

    /// <summary>The job as of now, or null when the id is unknown or belongs to another app than <paramref name="appId"/>.</summary>
    public EmulatedJob? Find(string requestId, string appId)
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            Advance(now);
            return Lookup(requestId, appId) is { } job ? Snapshot(job, now) : null;
        }
    }

    /// <summary>The job as of now, whatever app it belongs to (CDN URLs carry no app).</summary>
    public EmulatedJob? FindAnyApp(string requestId)
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            Advance(now);
            return byId.TryGetValue(requestId, out var job) ? Snapshot(job, now) : null;
        }
    }

    public CancelOutcome Cancel(string requestId, string appId)
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            Advance(now);
            if (Lookup(requestId, appId) is not { } job) return CancelOutcome.NotFound;
            if (job.Completed) return CancelOutcome.AlreadyCompleted;
            if (job.StartedAt is null)
            {
                // fal removes a queued request; the emulator keeps it visible as a completed error so clients can see what happened.
                job.CancelledInQueue = true;
                job.Completed = true;
                job.EndsAt = now;
                job.ErrorType = Failures.CancelledType;
                job.Error = Failures.Message(Failures.CancelledType);
                cancelledWaiting.Add(job.Ticket);
            }
            else
            {
                job.CancelRequested = true;
            }
            return CancelOutcome.Requested;
        }
    }

    public IReadOnlyList<EmulatedJob> All()
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            Advance(now);
            return inSubmitOrder.Select(job => Snapshot(job, now)).ToArray();
        }
    }

    public void Reset()
    {
        lock (gate)
        {
            byId.Clear();
            inSubmitOrder.Clear();
            waiting.Clear();
            running.Clear();
            cancelledWaiting.Clear();
            nextTicket = 0;
            dequeued = 0;
        }
    }

    private JobEntry? Lookup(string requestId, string appId) =>
        byId.TryGetValue(requestId, out var job) && string.Equals(job.AppId, appId, StringComparison.Ordinal) ? job : null;

    private void Advance(DateTimeOffset now)
    {
        while (running.TryPeek(out var job, out var key) && key.EndsAt <= now)
        {
            running.Dequeue();
            job.Completed = true;
            if (job.PlannedFailure is { } failure)
            {
                job.ErrorType = failure;
                job.Error = Failures.Message(failure);
            }
            StartWaiting(key.EndsAt);
        }
    }

    private void StartWaiting(DateTimeOffset slotFreeAt)
    {
        while (running.Count < slots && waiting.TryDequeue(out var next))
        {
            dequeued++;
            if (next.CancelledInQueue)
            {
                cancelledWaiting.Remove(next.Ticket);
                continue;
            }
            var start = slotFreeAt > next.SubmittedAt ? slotFreeAt : next.SubmittedAt;
            next.StartedAt = start;
            next.EndsAt = start + TimeSpan.FromSeconds(next.RunSeconds);
            running.Enqueue(next, (next.EndsAt.Value, next.Ticket));
        }
    }

    private int QueuePosition(JobEntry job)
    {
        var ahead = job.Ticket - dequeued;
        if (cancelledWaiting.Count > 0 && ahead > 0)
            ahead -= cancelledWaiting.GetViewBetween(dequeued, job.Ticket - 1).Count;
        return (int)ahead;
    }

    private EmulatedJob Snapshot(JobEntry job, DateTimeOffset now)
    {
        var status = job.Completed ? JobStatus.Completed
            : job.StartedAt is null ? JobStatus.InQueue
            : JobStatus.InProgress;
        return new EmulatedJob(
            job.RequestId, job.EndpointId, job.AppId, job.Input, status,
            status == JobStatus.InQueue ? QueuePosition(job) : null,
            job.SubmittedAt, job.StartedAt, job.Completed ? job.EndsAt : null, job.RunSeconds,
            job.Error, job.ErrorType, job.CancelRequested, now)
        {
            VideoBytes = job.VideoBytes ?? SampleVideo.Bytes.Length,
        };
    }
}
