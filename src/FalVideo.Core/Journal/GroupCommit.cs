namespace FalVideo.Journal;

/// <summary>
/// The group commit of one store file in this process, shared by both stores: the caller that finds nobody writing
/// becomes the writer. It takes every item queued so far, commits them with one call of the store's commit (one write
/// and flush of the JSON Lines journal, one SQLite transaction), completes their tasks, and repeats while more arrived
/// meanwhile; once its own item is committed it hands the rest to a thread-pool thread, so its caller (a row waiting
/// to submit) is never held up by other rows' entries.
/// </summary>
/// <typeparam name="T">What is queued: a store's entries and the store object that queued them (any store object of
/// the same file can commit the batch).</typeparam>
internal sealed class GroupCommit<T>(Action<List<T>> commit)
{
    private readonly object _sync = new();
    private List<(T Item, TaskCompletionSource<bool> Done)> _queue = new();
    private bool _writing;
    private long _commits;

    /// <summary>Batches committed by this process.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Queues <paramref name="item"/>; the task completes once it is committed, or fails with what the
    /// commit threw (every item of that batch fails with it).</summary>
    /// <param name="item">What to commit.</param>
    /// <param name="writeHere">Whether this caller may become the writer when nobody is writing (it then commits on its
    /// own thread before this returns). False hands that commit to a thread-pool thread, for a caller whose thread
    /// others wait on, such as PowerShell's pipeline thread.</param>
    public Task Enqueue(T item, bool writeHere = true)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            _queue.Add((item, done));
            if (_writing) return done.Task;
            _writing = true;
        }
        if (writeHere) WriteQueued(stopAfter: done);
        else QueueWriter();
        return done.Task;
    }

    private void QueueWriter()
    {
#if NET8_0_OR_GREATER
        ThreadPool.UnsafeQueueUserWorkItem(static w => w.WriteQueued(null), this, preferLocal: false);
#else
        ThreadPool.UnsafeQueueUserWorkItem(static w => ((GroupCommit<T>)w!).WriteQueued(null), this);
#endif
    }

    /// <summary>Commits batches until the queue is empty, or, given <paramref name="stopAfter"/>, until that item is
    /// committed and then leaves the rest to a thread-pool thread.</summary>
    private void WriteQueued(TaskCompletionSource<bool>? stopAfter)
    {
        while (true)
        {
            List<(T Item, TaskCompletionSource<bool> Done)> batch;
            lock (_sync)
            {
                if (_queue.Count == 0)
                {
                    _writing = false;
                    return;
                }
                if (stopAfter is not null && stopAfter.Task.IsCompleted)
                {
                    QueueWriter();
                    return;
                }
                batch = _queue;
                _queue = new();
            }
            try
            {
                commit(batch.ConvertAll(p => p.Item));
                Interlocked.Increment(ref _commits);
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Done.TrySetException(ex);
                continue;
            }
            foreach (var p in batch) p.Done.TrySetResult(true);
            // A batch's freed native memory goes back to the system as it runs (see NativeHeap), once the committed
            // rows are on their way.
            NativeHeap.TrimIfDue();
        }
    }
}
