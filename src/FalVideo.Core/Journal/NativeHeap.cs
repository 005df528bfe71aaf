using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FalVideo.Journal;

/// <summary>
/// Gives the process's free native heap back to the operating system while a batch runs, on Linux with glibc: at most
/// once a second, from the store's group commit (<see cref="GroupCommit{T}"/>), <c>malloc_trim(0)</c>.
/// </summary>
/// <remarks>
/// Why: a batch allocates and frees native memory on many threads (SQLite's statements and pages on whichever thread
/// commits, the runtime's own), and glibc keeps what is freed inside each thread's arena instead of returning it. In
/// one pwsh process of <c>Import-Csv | New-KlingVideo | Wait-FalJob</c> that free memory grew with the number of jobs:
/// 37 to 49 MB of arena memory over 100,000 jobs, and <c>malloc_trim(0)</c> after 10,000 jobs gave back 43 MB
/// (bench/README.md, "The memory of 100,000 jobs"). Trimming frees nothing in use; what it costs is the walk over the
/// arenas' free chunks and the page faults of memory used again later. Other systems and C libraries (macOS, Windows,
/// musl, which has no <c>malloc_trim</c>) are left alone.
/// </remarks>
internal static class NativeHeap
{
    private static readonly long s_interval = Stopwatch.Frequency; // one second
    private static long s_next;
    // 1 until a call fails (not glibc), then 0 for good.
    private static int s_enabled = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? 1 : 0;

    /// <summary>Times the heap was trimmed in this process (tests).</summary>
    internal static long Trims => Interlocked.Read(ref s_trims);
    private static long s_trims;

    /// <summary>Trims the native heap, on a thread-pool thread, when a second has passed since the last trim; cheap otherwise. Any thread.</summary>
    public static void TrimIfDue()
    {
        if (Volatile.Read(ref s_enabled) == 0) return;
        var now = Stopwatch.GetTimestamp();
        var next = Interlocked.Read(ref s_next);
        if (now < next || Interlocked.CompareExchange(ref s_next, now + s_interval, next) != next) return;
        // The walk over the arenas takes milliseconds: it runs on a thread-pool thread, so the committing thread (often a
        // row waiting to submit) goes on at once.
#if NET8_0_OR_GREATER
        ThreadPool.UnsafeQueueUserWorkItem(static _ => Trim(), (object?)null, preferLocal: false);
#else
        ThreadPool.UnsafeQueueUserWorkItem(static _ => Trim(), null);
#endif
    }

    private static void Trim()
    {
        try
        {
            malloc_trim(UIntPtr.Zero);
            Interlocked.Increment(ref s_trims);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            Volatile.Write(ref s_enabled, 0);
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(UIntPtr pad);
}
