using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// Where the module records every paid job before and after it is sent, so a job is never lost and never paid for
/// twice: each append is a state transition of one job, keyed by its request id (or, for a submission without one,
/// by its <see cref="FalJob.JournalId"/>), and <see cref="ReadJobs(Action{string})"/> gives back the latest known state
/// of every job. Two implementations: <see cref="SqliteJobStore"/> (the default) and <see cref="JobJournal"/> (a JSON
/// Lines file, chosen by a path ending in <c>.jsonl</c>); <see cref="JobStore.Open"/> picks one from a path.
/// Entry kinds and which of them must reach the disk are <see cref="JobJournal"/>'s constants and
/// <see cref="JobJournal.MustReachDisk"/>; entries to append together are captured by <see cref="JobJournal.Capture"/>.
/// </summary>
public interface IJobStore
{
    /// <summary>Full path of the store's file: what a message names when the store cannot be written.</summary>
    string FilePath { get; }

    /// <summary>
    /// Records a state of <paramref name="job"/>; returns once it is written, and for every kind but <c>status</c> and
    /// <c>error</c> once it is on the disk. A job without a request id gets a <see cref="FalJob.JournalId"/> here when
    /// it has none. Appends from several threads at once share one commit.
    /// </summary>
    /// <param name="entryKind">What happened (<c>submitted</c>, <c>status</c>, <see cref="JobJournal.SubmittingEntry"/>...).</param>
    /// <param name="job">The job as it is now.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    /// <exception cref="IOException">The store cannot be written, or another process held it too long.</exception>
    /// <exception cref="UnauthorizedAccessException">The store or its folder is not writable.</exception>
    void Append(string entryKind, FalJob job, string? savedPath = null);

    /// <summary>The same as <see cref="Append"/> without blocking the calling thread while another thread's commit
    /// is on its way to the disk; the job's state is captured before this method returns.</summary>
    /// <param name="entryKind">What happened.</param>
    /// <param name="job">The job as it is now.</param>
    /// <param name="savedPath">The file a video was saved to, for <c>saved</c>.</param>
    Task AppendAsync(string entryKind, FalJob job, string? savedPath = null);

    /// <summary>
    /// Records <paramref name="job"/>'s write-ahead record (<see cref="JobJournal.SubmittingEntry"/>) only if
    /// <paramref name="claim"/> holds, checked and written in one transaction (the SQLite store's <c>BEGIN IMMEDIATE</c>,
    /// the PostgreSQL store's per-key advisory lock), so processes racing on the same row send it once: the store reads
    /// the key's blocking jobs inside the transaction and lets the claim decide (<see cref="IdempotencyClaim.Decide"/>),
    /// then, once committed, tells it (won or lost). Returns null
    /// when the claim held and the record is durable; else nothing is written and the job that holds the key is
    /// returned. The JSON Lines journal writes the record and returns null (it keeps its lookup-then-write behaviour).
    /// </summary>
    /// <param name="job">The job about to be sent (status Unknown, no request id).</param>
    /// <param name="claim">The row's claim on its idempotency key.</param>
    /// <exception cref="IOException">The store cannot be written, or another process held it too long.</exception>
    /// <exception cref="UnauthorizedAccessException">The store or its folder is not writable.</exception>
    Task<FalJob?> ClaimAheadAsync(FalJob job, IdempotencyClaim claim);

    /// <summary>Appends entries captured by <see cref="JobJournal.Capture"/>, in order, in one commit.</summary>
    /// <param name="records">The entries.</param>
    void AppendMany(IReadOnlyCollection<JournalRecord> records);

    /// <summary>Appends entries captured by <see cref="JobJournal.Capture"/>, in order, in one commit, without writing
    /// on the caller's thread: the task completes once they are committed, or fails with an <see cref="IOException"/>
    /// or <see cref="UnauthorizedAccessException"/> as <see cref="AppendMany"/> throws. For PowerShell's pipeline
    /// thread, which every row of a batch waits on: a commit of the PostgreSQL store there (a few round trips and the
    /// server's flush) held up every row behind it.</summary>
    /// <param name="records">The entries.</param>
    Task AppendManyAsync(IReadOnlyCollection<JournalRecord> records);

    /// <summary>The latest known state of every job, in the order first recorded.</summary>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> ReadJobs(Action<string>? warn = null);

    /// <summary>The latest known state of the jobs whose last known status is one of <paramref name="statuses"/>, in the
    /// order first recorded.</summary>
    /// <param name="statuses">The statuses wanted.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    IReadOnlyList<FalJob> ReadJobsByStatus(IReadOnlyCollection<FalJobStatus> statuses, Action<string>? warn = null);

    /// <summary>The latest known state of the jobs submitted from the machines by the users <paramref name="owners"/>
    /// names (and, when <paramref name="statuses"/> is given, whose last known status is one of them), in the order first
    /// recorded: <c>Get-FalJob -Machine/-User</c>. The SQLite and PostgreSQL stores filter in their query (the
    /// PostgreSQL store on its <c>machine</c> and <c>user_name</c> columns); the JSON Lines journal reads its file once.</summary>
    /// <param name="owners">Whose jobs (an empty filter takes everyone's).</param>
    /// <param name="statuses">The statuses wanted, or null for any.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> ReadJobsOf(JobOwnerFilter owners, IReadOnlyCollection<FalJobStatus>? statuses, Action<string>? warn = null);

    /// <summary>The latest known state of the jobs submitted with one of <paramref name="keys"/> as their
    /// <see cref="FalJob.IdempotencyKey"/>, in the order first recorded: what a re-run of the same rows finds instead of
    /// paying again. The SQLite store looks the keys up in an index; the JSON Lines journal reads its file once.</summary>
    /// <param name="keys">The keys wanted.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> FindByIdempotencyKeys(IReadOnlyCollection<string> keys, Action<string>? warn = null);

    /// <summary>The latest known state of the jobs with one of <paramref name="requestIds"/> as their request id, in the
    /// order first recorded (none for ids the store does not know): what a job rebuilt from a bare request id (a report's
    /// row, a deserialized job) takes its Id, prompt, endpoint and cost from. The SQLite store looks the ids up in its key
    /// index; the JSON Lines journal reads its file once.</summary>
    /// <param name="requestIds">The request ids wanted.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> FindByRequestIds(IReadOnlyCollection<string> requestIds, Action<string>? warn = null);

    /// <summary>
    /// The jobs not finished for the user (<see cref="UnfinishedJobs"/>): open jobs with a request id first, then
    /// completed jobs whose save was asked for and never recorded, each in the order first recorded. The SQLite store
    /// reads them through a partial index holding only those rows; the JSON Lines journal reads its file once.
    /// </summary>
    /// <param name="ambiguous">The number of open submissions without a request id (ambiguous), which are left out.</param>
    /// <param name="warn">Receives one message per entry that could not be read.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> ReadUnfinished(out int ambiguous, Action<string>? warn = null);

    /// <summary>The number of jobs <paramref name="filter"/> matches (0 for an empty filter): what -WhatIf and -Confirm
    /// of a prune say.</summary>
    /// <param name="filter">Which jobs.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    long Count(JobFilter filter);

    /// <summary>
    /// Forgets the jobs <paramref name="filter"/> matches (every entry of each; nothing for an empty filter), in
    /// bounded memory and without holding other writers back for more than a moment: the SQLite store deletes a few
    /// hundred jobs per transaction, the JSON Lines journal streams its rewrite and holds its lock only to copy what was
    /// appended meanwhile and rename. Nothing is sent to fal.
    /// </summary>
    /// <param name="filter">Which jobs.</param>
    /// <param name="progress">Receives the number of jobs forgotten so far, after each step.</param>
    /// <returns>The number of jobs forgotten.</returns>
    /// <exception cref="IOException">The store cannot be written, or another process held it too long.</exception>
    /// <exception cref="UnauthorizedAccessException">The store or its folder is not writable.</exception>
    long Prune(JobFilter filter, Action<long>? progress = null);

    /// <summary>
    /// Appends many captured entries (<see cref="JobJournal.Capture"/>) fast, in order: the bulk path for seeding a
    /// store (a benchmark's million jobs, a migration). Unlike <see cref="AppendMany"/> the entries are committed in
    /// several steps, so a crash midway keeps a prefix of them; the store is on the disk when this returns.
    /// </summary>
    /// <param name="records">The entries, read once, as they come (a lazy sequence keeps memory bounded).</param>
    /// <returns>The number of entries written.</returns>
    /// <exception cref="IOException">The store cannot be written.</exception>
    long Import(IEnumerable<JournalRecord> records);

    /// <summary>Those of <paramref name="jobs"/> the store has no record of (matched by request id, or by journal id for
    /// a submission without one: <see cref="JobJournal.KeyOf(FalJob)"/>): what <c>Remove-FalJob</c> reports as an error instead of silently doing nothing.</summary>
    /// <param name="jobs">The jobs to look for.</param>
    /// <exception cref="IOException">The store exists but cannot be read.</exception>
    IReadOnlyList<FalJob> FindUnknown(IReadOnlyCollection<FalJob> jobs);

    /// <summary>Forgets <paramref name="jobs"/> (every entry of each) locally; nothing is sent to fal.</summary>
    /// <param name="jobs">The jobs to forget.</param>
    /// <returns>The number of entries removed.</returns>
    int Remove(IEnumerable<FalJob> jobs);
}
