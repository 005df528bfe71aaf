using System.Diagnostics;

namespace FalVideo.Benchmark;

/// <summary>How a contender process ended and what it reported.</summary>
/// <param name="ExitCode">The exit code, or null when it was killed at the time limit.</param>
/// <param name="WallSeconds">From start to exit, start-up included, measured by the driver.</param>
/// <param name="Report">Its result line, or null when it printed none.</param>
/// <param name="PolledPeakRssKb">The highest VmHWM the driver saw while polling, a fallback for a missing report.</param>
/// <param name="Tail">The last lines of its stdout and stderr, for failures.</param>
/// <param name="Figures">Its figures line, for a resource check.</param>
internal sealed record ProcessOutcome(int? ExitCode, double WallSeconds, ChildReport? Report, long? PolledPeakRssKb, IReadOnlyList<string> Tail, FigureReport? Figures = null);

/// <summary>Runs one contender process to the end, keeping its result line and polling its peak memory.</summary>
internal static class MonitoredProcess
{
    private const int TailLines = 20;

    public static async Task<ProcessOutcome> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var tail = new Queue<string>();
        ChildReport? report = null;
        FigureReport? figures = null;
        void Keep(string? line)
        {
            if (line is null) return;
            lock (tail)
            {
                if (ChildReport.TryParse(line) is { } r) { report = r; return; }
                if (FigureReport.TryParse(line) is { } f) { figures = f; return; }
                tail.Enqueue(line);
                if (tail.Count > TailLines) tail.Dequeue();
            }
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Polled as a fallback only: the process's own end-of-run reading is exact, this one can miss the last 100 ms.
        long? polledPeak = null;
        using var deadline = new CancellationTokenSource(timeout);
        var exited = process.WaitForExitAsync(deadline.Token);
        while (!exited.IsCompleted)
        {
            if (ProcStatus.PeakRssKb(process.Id) is { } kb) polledPeak = Math.Max(polledPeak ?? 0, kb);
            await Task.WhenAny(exited, Task.Delay(100));
        }
        int? exitCode;
        try
        {
            await exited;
            await process.WaitForExitAsync(); // drains the redirected streams
            exitCode = process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            exitCode = null;
        }
        clock.Stop();
        lock (tail) return new ProcessOutcome(exitCode, clock.Elapsed.TotalSeconds, report, polledPeak, tail.ToList(), figures);
    }
}
