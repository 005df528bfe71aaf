using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Engine;

/// <summary>The stages of a job's life, in the order they happen.</summary>
public enum JobState
{
    /// <summary>A row turned into a request; nothing recorded, nothing sent.</summary>
    Planned,
    /// <summary>The write-ahead record is durable: the request may now be sent.</summary>
    WriteAhead,
    /// <summary>fal accepted the request and gave its request id.</summary>
    Submitted,
    /// <summary>fal refused the request, or it provably never left: nothing billed.</summary>
    Rejected,
    /// <summary>The answer to the submission is unknown: fal may have accepted (and will bill) it.</summary>
    Ambiguous,
    /// <summary>fal <c>IN_QUEUE</c>.</summary>
    Queued,
    /// <summary>fal <c>IN_PROGRESS</c>.</summary>
    Running,
    /// <summary>fal <c>COMPLETED</c> with a result.</summary>
    Completed,
    /// <summary>fal <c>COMPLETED</c> with an error: no video.</summary>
    Failed,
    /// <summary>Cancelled at fal.</summary>
    Cancelled,
    /// <summary>The video is on disk under its final name, and recorded so.</summary>
    Saved,
}

/// <summary>
/// One job's state machine: planned → write-ahead → submitted | rejected | ambiguous → queued → running → completed |
/// failed | cancelled → saved. <see cref="MoveToAsync"/> is the one place that checks a transition and records it in
/// the job store; it returns only once the record is written (durable for every entry kind but <c>status</c>, see
/// <see cref="JobJournal.MustReachDisk"/>), so a caller that performs the next effect (sending, downloading) after
/// it never acts on a state the store does not have. A store that fails leaves the state where it was and throws.
/// </summary>
/// <remarks>Not thread-safe: one job's transitions happen one after another.</remarks>
public sealed class JobLifecycle
{
    private static readonly Dictionary<JobState, JobState[]> s_next = new()
    {
        [JobState.Planned] = [JobState.WriteAhead],
        [JobState.WriteAhead] = [JobState.Submitted, JobState.Rejected, JobState.Ambiguous],
        // fal can answer a status call with any stage, a finished one included, for a job seen only when it was sent.
        [JobState.Submitted] = [JobState.Queued, JobState.Running, JobState.Completed, JobState.Failed, JobState.Cancelled],
        [JobState.Queued] = [JobState.Running, JobState.Completed, JobState.Failed, JobState.Cancelled],
        [JobState.Running] = [JobState.Completed, JobState.Failed, JobState.Cancelled],
        [JobState.Completed] = [JobState.Saved],
        // -Force saves a saved video again, possibly elsewhere.
        [JobState.Saved] = [JobState.Saved],
        [JobState.Rejected] = [],
        [JobState.Ambiguous] = [],
        [JobState.Failed] = [],
        [JobState.Cancelled] = [],
    };

    private readonly IJobStore _store;

    /// <summary>Follows <paramref name="job"/> from <paramref name="state"/>, recording in <paramref name="store"/>.</summary>
    /// <param name="store">Where each transition is recorded.</param>
    /// <param name="job">The job; its <see cref="FalJob.Status"/> is kept in step with the state.</param>
    /// <param name="state">Where the job is now (see <see cref="StateOf"/> for a job read from the store).</param>
    public JobLifecycle(IJobStore store, FalJob job, JobState state = JobState.Planned)
    {
        _store = store;
        Job = job;
        State = state;
    }

    /// <summary>The job.</summary>
    public FalJob Job { get; }

    /// <summary>The last state recorded (or the one given at the start).</summary>
    public JobState State { get; private set; }

    /// <summary>Whether <paramref name="to"/> may follow <paramref name="from"/>.</summary>
    public static bool IsLegal(JobState from, JobState to) => s_next[from].Contains(to);

    /// <summary>The states that may follow <paramref name="state"/>.</summary>
    public static IReadOnlyList<JobState> Next(JobState state) => s_next[state];

    /// <summary>The state a job is in, from what the store or fal says of it.</summary>
    /// <param name="job">A job read from the store, or emitted by a cmdlet.</param>
    public static JobState StateOf(FalJob job) => job.Status switch
    {
        _ when !string.IsNullOrEmpty(job.SavedPath) && job.Status == FalJobStatus.Completed => JobState.Saved,
        FalJobStatus.Completed => JobState.Completed,
        FalJobStatus.Failed => JobState.Failed,
        FalJobStatus.Cancelled => JobState.Cancelled,
        FalJobStatus.Rejected => JobState.Rejected,
        FalJobStatus.InQueue => JobState.Queued,
        FalJobStatus.InProgress => JobState.Running,
        _ when string.IsNullOrEmpty(job.RequestId) => JobState.Ambiguous,
        _ => JobState.Submitted,
    };

    /// <summary>The store entry kind that records a move to <paramref name="state"/>.</summary>
    public static string EntryKind(JobState state) => state switch
    {
        JobState.WriteAhead => JobJournal.SubmittingEntry,
        JobState.Submitted => "submitted",
        JobState.Rejected => JobJournal.RejectedEntry,
        JobState.Ambiguous => JobJournal.AmbiguousEntry,
        JobState.Saved => "saved",
        JobState.Planned => throw new ArgumentOutOfRangeException(nameof(state), "Nothing is recorded for a planned job."),
        _ => "status",
    };

    /// <summary>
    /// Moves to <paramref name="to"/>: sets the job's status to match, records the transition, and returns once the
    /// store has it. Only then may the caller perform the effect the new state allows.
    /// </summary>
    /// <param name="to">The next state.</param>
    /// <param name="savedPath">The file, for <see cref="JobState.Saved"/>.</param>
    /// <exception cref="InvalidOperationException">An illegal transition: a bug in the caller; nothing was recorded.</exception>
    /// <exception cref="IOException">The store could not be written; the state did not change.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is not writable; the state did not change.</exception>
    public async Task MoveToAsync(JobState to, string? savedPath = null)
    {
        if (!IsLegal(State, to))
            throw new InvalidOperationException($"A job cannot go from {State} to {to} (request {Job.RequestId}, {Job.EndpointId}).");
        if (to == JobState.Saved && string.IsNullOrEmpty(savedPath))
            throw new ArgumentException("A saved job needs the path it was saved to.", nameof(savedPath));
        var before = (Job.Status, Job.SavedPath);
        Job.Status = StatusOf(to, Job.Status);
        if (to == JobState.Saved) Job.SavedPath = savedPath;
        try { await _store.AppendAsync(EntryKind(to), Job, savedPath).ConfigureAwait(false); }
        catch
        {
            (Job.Status, Job.SavedPath) = before;
            throw;
        }
        State = to;
    }

    /// <summary>
    /// Moves a planned job to <see cref="JobState.WriteAhead"/> only if <paramref name="claim"/> holds
    /// (<see cref="IJobStore.ClaimAheadAsync"/>): returns null once the record is durable, else the job another run
    /// recorded for the same key, and the state stays <see cref="JobState.Planned"/> (nothing may be sent).
    /// </summary>
    /// <param name="claim">The row's claim on its idempotency key.</param>
    /// <exception cref="InvalidOperationException">The job is not planned.</exception>
    /// <exception cref="IOException">The store could not be written; the state did not change.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is not writable; the state did not change.</exception>
    public async Task<FalJob?> ClaimWriteAheadAsync(IdempotencyClaim claim)
    {
        if (!IsLegal(State, JobState.WriteAhead))
            throw new InvalidOperationException($"A job cannot go from {State} to {JobState.WriteAhead} ({Job.EndpointId}).");
        var before = Job.Status;
        Job.Status = StatusOf(JobState.WriteAhead, Job.Status);
        FalJob? winner;
        try { winner = await _store.ClaimAheadAsync(Job, claim).ConfigureAwait(false); }
        catch
        {
            Job.Status = before;
            throw;
        }
        if (winner is not null)
        {
            Job.Status = before;
            return winner;
        }
        State = JobState.WriteAhead;
        return null;
    }

    /// <summary>The warning for a store that could not be written: the job itself still reaches the output.</summary>
    /// <param name="store">The store.</param>
    /// <param name="job">The job whose record was lost.</param>
    /// <param name="error">The store's error message.</param>
    public static string StoreWarning(IJobStore store, FalJob job, string error) =>
        $"Could not write the job journal {store.FilePath}: {error}. Keep request id {job.RequestId} ({job.EndpointId}) yourself.";

    private static FalJobStatus StatusOf(JobState state, FalJobStatus current) => state switch
    {
        JobState.WriteAhead or JobState.Ambiguous => FalJobStatus.Unknown,
        JobState.Submitted or JobState.Queued => FalJobStatus.InQueue,
        JobState.Rejected => FalJobStatus.Rejected,
        JobState.Running => FalJobStatus.InProgress,
        JobState.Completed or JobState.Saved => FalJobStatus.Completed,
        JobState.Failed => FalJobStatus.Failed,
        JobState.Cancelled => FalJobStatus.Cancelled,
        _ => current,
    };
}
