using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace FalVideo.Benchmark;

/// <summary>
/// What a resource-check child process measured, printed as one line <c>BENCH-FIGURES {json}</c>: named numbers
/// (milliseconds, megabytes, counts) and notes for the report.
/// </summary>
/// <param name="Check">Which check ran (<c>save-video</c>, <c>pipeline</c>, <c>cmdlets</c>, <c>overhead</c>).</param>
/// <param name="Figures">The measurements, by name.</param>
/// <param name="Notes">Anything the report should say about the run (errors, fallbacks).</param>
public sealed record FigureReport(string Check, Dictionary<string, double> Figures, List<string> Notes)
{
    /// <summary>The marker that starts the figures line.</summary>
    public const string Marker = "BENCH-FIGURES ";

    /// <summary>Prints the figures line.</summary>
    public void Print() => MarkedLine.Print(Marker, this);

    /// <summary>Reads a figures line, or null when <paramref name="line"/> is not one.</summary>
    public static FigureReport? TryParse(string line) => MarkedLine.TryParse<FigureReport>(Marker, line);

    /// <summary>A figure, or NaN when the child did not report it.</summary>
    public double this[string name] => Figures.TryGetValue(name, out var v) ? v : double.NaN;
}

/// <summary>
/// The memory and cmdlet checks of issue 5, each run by this program in a child process (its own PowerShell engine,
/// its own memory figures) against its own emulator where one is needed:
/// <list type="bullet">
/// <item><c>save-video</c>: Save-FalVideo of one 500 MB video (the emulator's <c>[emulator:video-mb=N]</c>); the
/// process's peak resident memory during the download minus its resident memory just before.</item>
/// <item><c>pipeline</c>: <c>Import-Csv | New-KlingVideo | Wait-FalJob | Export-Csv</c> of 10,000 instant jobs; the
/// process's peak resident memory.</item>
/// <item><c>cmdlets</c>: Import-Module cold (the first in the process) and warm (a fresh runspace in a process that
/// imported it before); Measure-VideoCost over 100,000 CSV-shaped rows, cold and warm.</item>
/// <item><c>overhead</c>: where the time of 1,000 instant jobs goes in the hosted engine: Import-Csv alone, binding
/// and planning alone (<c>-WhatIf</c>), the whole pipeline cold and warm, with the journal on disk and in memory.</item>
/// <item><c>first-job</c>: what a fresh process pays once, step by step: reading the CSV, binding and planning
/// (<c>-WhatIf</c>), one job, then the batch.</item>
/// </list>
/// </summary>
internal static class ResourceChecks
{
    /// <summary>Peak memory growth allowed while saving the large video (issue 5).</summary>
    public const double MaxDownloadGrowthMb = 64;

    /// <summary>Peak memory allowed for the 10,000-job pipeline (issue 5).</summary>
    public const double MaxPipelinePeakMb = 200;

    /// <summary>Longest warm Measure-VideoCost run over the cost rows (issue 5).</summary>
    public const double MaxCostMs = 2000;

    /// <summary>Longest warm Import-Module (issue 5).</summary>
    public const double MaxImportMs = 300;

    // ---- child side -------------------------------------------------------------------------------------------

    /// <summary>Runs one check in this (child) process and returns its figures.</summary>
    public static FigureReport RunChild(string check, Uri? baseUrl, int rows, int videoMb)
    {
        if (baseUrl is not null) Environment.SetEnvironmentVariable("FALVIDEO_BASE_URL", baseUrl.ToString().TrimEnd('/'));
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FAL_KEY"))) Environment.SetEnvironmentVariable("FAL_KEY", "bench-key");
        var report = new FigureReport(check, new Dictionary<string, double>(), new List<string>());
        switch (check)
        {
            case "save-video": SaveVideo(report, videoMb); break;
            case "pipeline": Pipeline(report, rows); break;
            case "cmdlets": Cmdlets(report, rows); break;
            case "overhead": Overhead(report, rows); break;
            case "first-job": FirstJob(report, rows); break;
            default: throw new ArgumentException($"Unknown check {check}.");
        }
        return report;
    }

    private static string Manifest()
    {
        var manifest = Path.Combine(BuildInfo.RepoRoot, "artifacts", "module", "FalVideo", "FalVideo.psd1");
        return File.Exists(manifest) ? manifest : throw new FileNotFoundException($"The built module is missing: {manifest}");
    }

    private static Runspace OpenRunspace()
    {
        var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        return runspace;
    }

    /// <summary>Imports the built module (<paramref name="manifest"/>, or the one under <c>artifacts/module</c>) into the runspace.</summary>
    private static void ImportModule(Runspace runspace, FigureReport report, string? manifest = null) =>
        Invoke(runspace, "param($Manifest) Import-Module $Manifest -ErrorAction Stop", report, ("Manifest", manifest ?? Manifest()));

    /// <summary>Points the runspace's module at a journal file of the check's own.</summary>
    private static void UseJournal(Runspace runspace, FigureReport report, string journal) =>
        Invoke(runspace, "param($Journal) Set-FalConfiguration -JournalPath $Journal", report, ("Journal", journal));

    /// <summary>Runs a script in the runspace; throws on a terminating error, adds non-terminating ones to the notes.</summary>
    private static List<PSObject> Invoke(Runspace runspace, string script, FigureReport report, params (string Name, object Value)[] parameters)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var (name, value) in parameters) ps.AddParameter(name, value);
        var output = ps.Invoke().ToList();
        foreach (var error in ps.Streams.Error.Take(3)) report.Notes.Add($"error: {error}");
        if (ps.Streams.Error.Count > 3) report.Notes.Add($"… {ps.Streams.Error.Count - 3} more errors");
        report.Figures["errors"] = (report.Figures.TryGetValue("errors", out var e) ? e : 0) + ps.Streams.Error.Count;
        return output;
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static void SaveVideo(FigureReport report, int videoMb)
    {
        var dir = Directory.CreateTempSubdirectory("falvideo-bench-save-").FullName;
        try
        {
            using var runspace = OpenRunspace();
            ImportModule(runspace, report);
            var job = Invoke(runspace,
                "param($Prompt) New-KlingVideo -Prompt $Prompt -Duration 5 -GenerateAudio $false -Wait", report,
                ("Prompt", $"[emulator:video-mb={videoMb}] a long take of a lighthouse at dusk")).Single();

            // The baseline: what the process holds just before the download, after a full collection.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Thread.Sleep(100);
            var before = Proc.RssKb();
            var resetPeak = Proc.ResetPeak();
            using var sampler = new RssSampler();
            var ms = Time(() => Invoke(runspace, "param($Job, $Dir) $Job | Save-FalVideo -Directory $Dir | Out-Null", report, ("Job", job), ("Dir", dir)));
            var sampled = sampler.Stop();
            var peak = resetPeak ? Math.Max(Proc.PeakRssKb(), sampled) : sampled;
            var saved = Directory.GetFiles(dir).Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max();

            report.Figures["video_mb"] = videoMb;
            report.Figures["saved_mb"] = saved / 1048576.0;
            report.Figures["seconds"] = ms / 1000;
            report.Figures["rss_before_mb"] = before / 1024.0;
            report.Figures["peak_mb"] = peak / 1024.0;
            report.Figures["growth_mb"] = (peak - before) / 1024.0;
            if (!resetPeak) report.Notes.Add("peak RSS could not be reset (/proc/self/clear_refs); the peak is from polling every 5 ms");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Pipeline(FigureReport report, int rows)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-pipeline.csv");
        var done = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-done.csv");
        Workload.WriteCsv(csv, rows);
        try
        {
            using var runspace = OpenRunspace();
            var engineOnly = Proc.RssKb();
            ImportModule(runspace, report);
            var before = Proc.RssKb();
            double ms;
            // The realistic end of a batch: every finished job becomes a line of a report, nothing is kept in memory.
            using (var peak = new RssSampler())
            {
                ms = Time(() => Invoke(runspace,
                    "param($Csv, $Done) Import-Csv $Csv | New-KlingVideo | Wait-FalJob | Export-Csv $Done -NoTypeInformation", report,
                    ("Csv", csv), ("Done", done)));
                peak.Stop();
                report.Figures["peak_anon_mb"] = peak.AnonKb / 1024.0;
                report.Figures["peak_file_mb"] = peak.FileKb / 1024.0;
                report.Figures["peak_shmem_mb"] = peak.ShmemKb / 1024.0;
                report.Figures["gc_committed_max_mb"] = peak.GcCommittedMaxBytes / 1048576.0;
                report.Figures["gc_heap_max_mb"] = peak.GcHeapMaxBytes / 1048576.0;
            }
            report.Figures["gc_count_gen0"] = GC.CollectionCount(0);
            report.Figures["allocated_mb"] = GC.GetTotalAllocatedBytes() / 1048576.0;
            report.Figures["rss_engine_mb"] = engineOnly / 1024.0;
            var completed = File.Exists(done) ? File.ReadLines(done).Count() - 1 : 0;
            report.Figures["rows"] = rows;
            report.Figures["completed"] = completed;
            report.Figures["seconds"] = ms / 1000;
            report.Figures["rss_before_mb"] = before / 1024.0;
            report.Figures["peak_mb"] = Proc.PeakRssKb() / 1024.0;
        }
        finally
        {
            File.Delete(csv);
            File.Delete(done);
        }
    }

    private static void Cmdlets(FigureReport report, int rows)
    {
        var manifest = Manifest();
        var csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-cost.csv");
        Workload.WriteCsv(csv, rows);
        try
        {
            double openMs = 0;
            Runspace? first = null;
            openMs = Time(() => first = OpenRunspace());
            using var runspace = first!;
            report.Figures["runspace_open_ms"] = openMs;
            report.Figures["import_cold_ms"] = Time(() => ImportModule(runspace, report, manifest));

            var warm = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                using var fresh = OpenRunspace();
                warm.Add(Time(() => ImportModule(fresh, report, manifest)));
            }
            report.Figures["import_warm_ms"] = Median(warm);
            report.Figures["import_warm_min_ms"] = warm.Min();

            // CSV-shaped rows: what Import-Csv makes, pscustomobjects whose every property is a string. Not timed.
            Invoke(runspace, "param($Csv) $global:BenchRows = Import-Csv $Csv", report, ("Csv", csv));
            var count = Invoke(runspace, "$global:BenchRows.Count", report).Single();
            report.Figures["cost_rows"] = Convert.ToDouble(count.BaseObject, CultureInfo.InvariantCulture);
            const string cost = "$null = $global:BenchRows | Measure-VideoCost";
            report.Figures["cost_cold_ms"] = Time(() => Invoke(runspace, cost, report));
            var costWarm = new List<double>();
            for (var i = 0; i < 3; i++) costWarm.Add(Time(() => Invoke(runspace, cost, report)));
            report.Figures["cost_warm_ms"] = Median(costWarm);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    /// <summary>Whole-pipeline runs after the 3 warm ones; the steady-state figure is the median of the last 5.</summary>
    private const int SteadyRuns = 10;

    private static void Overhead(FigureReport report, int rows)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-overhead.csv");
        Workload.WriteCsv(csv, rows);
        var diskJournal = Environment.GetEnvironmentVariable("FALVIDEO_JOURNAL")
                          ?? Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-journal.jsonl");
        // /dev/shm is memory: a flush to "disk" there costs nothing, which shows what the journal's flushes cost.
        var memoryJournal = Directory.Exists("/dev/shm") ? $"/dev/shm/falvideo-bench-{Environment.ProcessId}-journal.jsonl" : null;
        try
        {
            using var runspace = OpenRunspace();
            ImportModule(runspace, report);
            UseJournal(runspace, report, diskJournal);
            const string full = Workload.FalVideoBatch;

            Measure(report, "full_cold", runspace, full, csv);
            var warm = new List<(double Ms, double Cpu, double Jit)>();
            for (var i = 0; i < 3; i++) warm.Add(Measure(report, null, runspace, full, csv));
            var median = warm.OrderBy(w => w.Ms).ElementAt(warm.Count / 2);
            report.Figures["full_warm_ms"] = median.Ms;
            report.Figures["full_warm_cpu_ms"] = median.Cpu;
            report.Figures["full_warm_jit_ms"] = median.Jit;

            // A session's later batches: the runtime promotes hot code to its final tier only after it has been called
            // often and the process has gone a moment without compiling anything new, which a sub-second batch in a
            // fresh process never reaches. Runs 5 to 14 let that happen; the median of the last 5 is reported.
            var later = new List<(double Ms, double Cpu, double Jit)>();
            for (var i = 0; i < SteadyRuns; i++) later.Add(Measure(report, null, runspace, full, csv));
            var steady = later.Skip(SteadyRuns - 5).OrderBy(w => w.Ms).ElementAt(2);
            report.Figures["full_steady_ms"] = steady.Ms;
            report.Figures["full_steady_cpu_ms"] = steady.Cpu;
            report.Figures["full_steady_jit_ms"] = steady.Jit;

            if (memoryJournal is not null)
            {
                UseJournal(runspace, report, memoryJournal);
                var mem = new List<double>();
                for (var i = 0; i < 3; i++) mem.Add(Measure(report, null, runspace, full, csv).Ms);
                report.Figures["full_warm_memjournal_ms"] = Median(mem);
            }

            var import = new List<double>();
            var plan = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                import.Add(Measure(report, null, runspace, "param($Csv) Import-Csv $Csv | Out-Null", csv).Ms);
                plan.Add(Measure(report, null, runspace, "param($Csv) Import-Csv $Csv | New-KlingVideo -WhatIf", csv).Ms);
            }
            report.Figures["import_csv_ms"] = Median(import);
            report.Figures["bind_plan_ms"] = Median(plan);
            report.Figures["rows"] = rows;
        }
        finally
        {
            File.Delete(csv);
            foreach (var j in new[] { diskJournal, memoryJournal })
            {
                if (j is null) continue;
                File.Delete(j);
                File.Delete(j + ".lock");
            }
        }
    }

    /// <summary>
    /// What a fresh process pays once, step by step, before a batch runs at its usual pace: <c>Import-Csv | Out-Null</c>
    /// (reading the CSV, first time), <c>Import-Csv | New-KlingVideo -WhatIf</c> over all rows (parameter binding, the
    /// module's validation and planning with the price catalog read on the first row; no HTTP, no journal), one
    /// job through <c>New-KlingVideo | Wait-FalJob</c> (the first journal write, HTTP connection, submit, status
    /// stream and result), then the whole batch.
    /// </summary>
    private static void FirstJob(FigureReport report, int rows)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-first.csv");
        var one = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-first-one.csv");
        var journal = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}-first-journal.jsonl");
        Workload.WriteCsv(csv, rows);
        Workload.WriteCsv(one, 1);
        try
        {
            using var runspace = OpenRunspace();
            ImportModule(runspace, report);
            UseJournal(runspace, report, journal);
            const string full = Workload.FalVideoBatch;
            Measure(report, "import_csv_cold", runspace, "param($Csv) Import-Csv $Csv | Out-Null", csv);
            Measure(report, "bind_plan_cold", runspace, "param($Csv) Import-Csv $Csv | New-KlingVideo -WhatIf", csv);
            Measure(report, "first_job", runspace, full, one);
            Measure(report, "after_first_job", runspace, full, csv);
            report.Figures["rows"] = rows;
        }
        finally
        {
            foreach (var f in new[] { csv, one, journal, journal + ".lock" }) File.Delete(f);
        }
    }

    /// <summary>Runs a script once and records wall, CPU and JIT time under <paramref name="name"/> when given.</summary>
    private static (double Ms, double Cpu, double Jit) Measure(FigureReport report, string? name, Runspace runspace, string script, string csv)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var jit = System.Runtime.JitInfo.GetCompilationTime();
        var ms = Time(() => Invoke(runspace, script, report, ("Csv", csv)));
        process.Refresh();
        var cpuMs = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        var jitMs = (System.Runtime.JitInfo.GetCompilationTime() - jit).TotalMilliseconds;
        if (name is not null)
        {
            report.Figures[name + "_ms"] = ms;
            report.Figures[name + "_cpu_ms"] = cpuMs;
            report.Figures[name + "_jit_ms"] = jitMs;
        }
        return (ms, cpuMs, jitMs);
    }

    private static double Median(List<double> values) => values.OrderBy(v => v).ElementAt(values.Count / 2);

    /// <summary>
    /// Follows the process's resident memory every 5 ms on a thread of its own while a check runs, and keeps the
    /// highest reading (VmRSS, KiB) with what made it up: anonymous, file-backed and shared memory
    /// (<c>/proc/self/status</c> RssAnon, RssFile, RssShmem, KiB), and the largest GC heap and GC commit seen (the
    /// GC's figures of its latest collection, <see cref="GC.GetGCMemoryInfo()"/>, bytes).
    /// </summary>
    private sealed class RssSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public RssSampler()
        {
            Sample();
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    Thread.Sleep(5);
                    Sample();
                }
            }) { IsBackground = true, Name = "rss sampler" };
            _thread.Start();
        }

        /// <summary>The highest VmRSS seen, KiB.</summary>
        public long PeakKb { get; private set; }
        public long AnonKb { get; private set; }
        public long FileKb { get; private set; }
        public long ShmemKb { get; private set; }
        public long GcCommittedMaxBytes { get; private set; }
        public long GcHeapMaxBytes { get; private set; }

        /// <summary>Stops sampling after one last reading and returns the highest VmRSS seen (KiB); the properties are final after it.</summary>
        public long Stop()
        {
            _stop = true;
            _thread.Join();
            Sample();
            return PeakKb;
        }

        public void Dispose() => _stop = true;

        private void Sample()
        {
            var gc = GC.GetGCMemoryInfo();
            GcCommittedMaxBytes = Math.Max(GcCommittedMaxBytes, gc.TotalCommittedBytes);
            GcHeapMaxBytes = Math.Max(GcHeapMaxBytes, gc.HeapSizeBytes);
            var (anon, file, shmem) = Proc.RssParts();
            if (anon + file + shmem > PeakKb)
            {
                PeakKb = anon + file + shmem;
                (AnonKb, FileKb, ShmemKb) = (anon, file, shmem);
            }
        }
    }

    private static class Proc
    {
        /// <summary>RssAnon, RssFile and RssShmem in KiB (their sum is VmRSS).</summary>
        public static (long Anon, long File, long Shmem) RssParts() => (Field("RssAnon:"), Field("RssFile:"), Field("RssShmem:"));

        public static long RssKb() => Field("VmRSS:");

        public static long PeakRssKb() => Field("VmHWM:");

        /// <summary>Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs); false where that is not possible.</summary>
        public static bool ResetPeak()
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                return PeakRssKb() <= RssKb() + 1024;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        }

        private static long Field(string name)
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(name.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
            return 0;
        }
    }
}
