using System.Runtime.CompilerServices;

namespace FalVideo.Tests.Reliability;

internal static class ThreadPoolWarmup
{
    /// <summary>
    /// Test classes run in parallel, and each blocks pool threads (hosted PowerShell pipelines wait synchronously) while
    /// in-process emulators need pool threads to answer. The pool adds threads only slowly, so without a higher floor an
    /// emulator can take longer than the fault tests' one- and two-second per-request timeouts to answer a plain request.
    /// </summary>
    [ModuleInitializer]
    internal static void RaiseMinimum()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
    }
}
