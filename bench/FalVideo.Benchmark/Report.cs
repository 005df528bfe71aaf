using System.Globalization;
using System.Text;

namespace FalVideo.Benchmark;

/// <summary>The Markdown report: command, date, machine, one table per profile, the issue's target checks.</summary>
internal static class Report
{
    /// <summary>Instant-job throughput must stay within this factor of the floor's (issue 5).</summary>
    private const double FloorFactor = 1.3;

    /// <summary>Most status requests per completed job on long jobs (issue 5).</summary>
    private const double MaxStatusRequestsPerJob = 3;

    public static string Render(BenchmarkOptions options, string machine, DateTimeOffset started, IReadOnlyList<Measurement> results,
        IReadOnlyList<ResourceRun>? checks = null, IReadOnlyList<ResourceRun>? issue12 = null)
    {
        checks ??= [];
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("# FalVideo benchmark");
        md.AppendLine();
        md.AppendLine(inv, $"- Command: `{Command(options)}`");
        md.AppendLine(inv, $"- Date: {started.ToString("yyyy-MM-dd HH:mm zzz", inv)}");
        md.AppendLine(inv, $"- Machine: {machine}");
        md.AppendLine(inv, $"- Real pwsh (the FalVideo contender and every `pwsh -NoProfile -File` check): {PrecompiledPwsh.Description}");
        md.AppendLine(options.Engine == "il"
            ? "- PowerShell engine hosted by the checks' children: IL only, compiled by the JIT as it runs (`--engine il`)"
            : "- PowerShell engine hosted by the checks' children: precompiled (a ReadyToRun publish of this program, as an installed pwsh is built)");
        var warmUp = options.WarmUpJobs > 0 ? $"warmed up with 3 rounds of {options.WarmUpJobs} jobs (submit, status stream, status, result) and reset before the contender starts" : "not warmed up";
        md.AppendLine(inv, $"- Emulator: a fresh `src/FalVideo.Emulator` process per run, `--concurrency {options.Concurrency}`, on 127.0.0.1, {warmUp}");
        if (options.Repeat > 1 && options.Profiles.Count > 0) md.AppendLine(inv, $"- Each row of the job tables: the run with the median wall time of {options.Repeat} runs");

        foreach (var profile in options.Profiles)
        {
            md.AppendLine();
            md.AppendLine(inv, $"## {Title(profile)}");
            md.AppendLine();
            md.AppendLine("| contender | done | wall (s) | jobs/s | HTTP requests/job | status requests/job | peak memory (MB) | CPU (s) | incl. start-up (s) |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var m in results.Where(r => r.Profile == profile))
            {
                var label = m.Label.Replace("|", "\\|", StringComparison.Ordinal);
                if (m.Outcome.Report is null || m.Stats is null)
                {
                    md.AppendLine(inv, $"| {label} | failed: {m.Problem} | | | | | | | {m.Outcome.WallSeconds:0.0} |");
                    continue;
                }
                var done = m.Ok ? $"{m.Report.Completed}" : $"{m.Report.Completed}/{profile.Rows} ({m.Problem})";
                md.AppendLine(inv,
                    $"| {label} | {done} | {m.Report.WorkSeconds:0.00} | {m.JobsPerSecond:0.0} | {m.RequestsPerJob:0.00} | {m.StatusRequestsPerJob:0.00} | " +
                    $"{m.PeakMb:0} | {m.Report.CpuSeconds:0.00} | {m.Outcome.WallSeconds:0.0} |");
            }
        }

        if (results.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Contenders:");
            md.AppendLine();
            foreach (var m in results.DistinctBy(r => r.Contender))
            {
                md.AppendLine(inv, $"- {m.Label}: {m.Description}");
            }
        }

        ResourceSections(md, options, checks);
        if (options.RunIssue12 || results.Any(r => r.Profile.JobSeconds == 0)) Issue12.Render(md, options, results, issue12 ?? []);
        if (options.RunShared) SharedStore.Render(md, options, issue12 ?? []);

        md.AppendLine();
        md.AppendLine("Target checks (issue 5), from the numbers above:");
        md.AppendLine();
        if (results.Count > 0)
        {
            foreach (var line in Checks(results)) md.AppendLine(inv, $"- {line}");
        }
        foreach (var line in ResourceCheckLines(options, checks)) md.AppendLine(inv, $"- {line}");

        if (results.Count == 0) return md.ToString();
        md.AppendLine();
        md.AppendLine("""
            How to read it: *wall* is the work itself, timed inside each contender process from just before the first
            submit to the last result fetched; *incl. start-up* is the whole process as the driver saw it (for FalVideo
            that adds starting the PowerShell engine and importing the module, for the official client starting Node).
            *jobs/s* = rows / wall. Requests are counted by the emulator and divided by the rows; status requests (polls
            and status streams opened) are per completed job. *Peak memory* is the contender process's peak RSS
            (VmHWM), *CPU* its user + system time, start-up included; the emulator runs in its own process and is in neither.
            """);
        return md.ToString();
    }

    private static void ResourceSections(StringBuilder md, BenchmarkOptions options, IReadOnlyList<ResourceRun> checks)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(double v, string format) => double.IsNaN(v) ? "?" : v.ToString(format, inv);
        void Row(string what, string result) => md.AppendLine(inv, $"| {what} | {result} |");
        // The rows of one check, or one row saying it failed (nothing when it did not run).
        void CheckRows(string check, string what, Action<FigureReport> rows)
        {
            if (Find(check) is not { } run) return;
            if (run.Figures is { } f) rows(f);
            else Row(what, $"failed: {run.Problem}");
        }
        ResourceRun? Find(string check) => checks.FirstOrDefault(c => c.Check == check);

        if (options.RunMemory)
        {
            md.AppendLine();
            md.AppendLine("## Memory (`--profile memory`)");
            md.AppendLine();
            md.AppendLine("Each a child process with its own hosted PowerShell engine and the built module, against its own emulator.");
            md.AppendLine();
            md.AppendLine("| what | result |");
            md.AppendLine("|---|---|");
            var saveWhat = $"`$job \\| Save-FalVideo` of one {options.VideoMb} MB video (`[emulator:video-mb={options.VideoMb}]`)";
            CheckRows("save-video", saveWhat, f =>
                Row(saveWhat, $"{F(f["saved_mb"], "0")} MB saved in {F(f["seconds"], "0.0")} s; resident memory {F(f["rss_before_mb"], "0")} MB before, " +
                              $"peak {F(f["peak_mb"], "0")} MB during the download: **+{F(f["growth_mb"], "0.0")} MB**"));
            var pipeWhat = $"{options.PipelineRows:N0} instant jobs in one pipeline: `Import-Csv \\| New-KlingVideo \\| Wait-FalJob \\| Export-Csv`";
            CheckRows("pipeline", pipeWhat, f =>
                {
                    Row(pipeWhat, $"{F(f["completed"], "0")} completed in {F(f["seconds"], "0.0")} s; resident memory {F(f["rss_before_mb"], "0")} MB before " +
                              $"(engine alone {F(f["rss_engine_mb"], "0")} MB, then the module imported), **peak {F(f["peak_mb"], "0")} MB** (whole process)");
                    Row("what the peak was made of",
                        $"{F(f["peak_anon_mb"], "0")} MB anonymous memory, of which the GC's committed memory was at most {F(f["gc_committed_max_mb"], "0")} MB " +
                        $"while its heap after a collection was at most {F(f["gc_heap_max_mb"], "0")} MB ({F(f["allocated_mb"], "0")} MB allocated in all, " +
                        $"{F(f["gc_count_gen0"], "0")} collections); {F(f["peak_file_mb"], "0")} MB file-backed (assembly images, native libraries); " +
                        $"{F(f["peak_shmem_mb"], "0")} MB shared (the runtime's executable memory for compiled code and stubs)");
                });
            var smallWhat = $"the same with the GC's first-generation budget at 32 MB (`DOTNET_GCgen0size=0x2000000`; .NET sizes it from the L3 cache, which this VM reports as {MachineInfo.L3CacheMb()} MB)";
            CheckRows("pipeline-gen0-32mb", smallWhat, f =>
                Row(smallWhat, $"{F(f["completed"], "0")} completed in {F(f["seconds"], "0.0")} s; peak {F(f["peak_mb"], "0")} MB " +
                               $"(GC committed at most {F(f["gc_committed_max_mb"], "0")} MB, {F(f["gc_count_gen0"], "0")} collections)"));
            foreach (var note in checks.Where(c => c.Check is "save-video" or "pipeline").SelectMany(c => c.Figures?.Notes ?? []))
                md.AppendLine(inv, $"\nNote: {note}");
        }

        if (options.RunCmdlets)
        {
            md.AppendLine();
            md.AppendLine("## Cmdlets (`--profile cmdlets`)");
            md.AppendLine();
            md.AppendLine("| what | result |");
            md.AppendLine("|---|---|");
            CheckRows("cmdlets", "Import-Module and Measure-VideoCost", f =>
                {
                    Row("`Import-Module` cold: the first import in a new process", $"{F(f["import_cold_ms"], "0")} ms (opening the runspace before it: {F(f["runspace_open_ms"], "0")} ms)");
                    Row("`Import-Module` warm: a fresh runspace in a process that imported the module before", $"**{F(f["import_warm_ms"], "0")} ms** (median of 5; fastest {F(f["import_warm_min_ms"], "0")} ms)");
                    Row($"`$rows \\| Measure-VideoCost`, {F(f["cost_rows"], "N0")} CSV-shaped rows (Import-Csv objects), cold: the first call", $"{F(f["cost_cold_ms"], "0")} ms");
                    Row("the same, warm (median of the next 3 calls)", $"**{F(f["cost_warm_ms"], "0")} ms**");
                });
            // A table of wall, CPU and JIT times under an introducing sentence.
            void TimingTable(string intro, string firstColumn)
            {
                md.AppendLine();
                md.AppendLine(intro);
                md.AppendLine();
                md.AppendLine(inv, $"| {firstColumn} | wall (ms) | CPU (ms) | of which JIT (ms) |");
                md.AppendLine("|---|---:|---:|---:|");
            }
            if (Find("overhead") is { } o)
            {
                TimingTable(string.Create(inv, $"Where the time of {options.OverheadRows:N0} instant jobs goes, in one hosted engine (one process, its own emulator; warm = median of the 3 runs after the first):"), "what");
                if (o.Figures is { } f)
                {
                    md.AppendLine(inv, $"| `Import-Csv rows.csv \\| Out-Null`, warm | {F(f["import_csv_ms"], "0")} | | |");
                    md.AppendLine(inv, $"| `Import-Csv rows.csv \\| New-KlingVideo -WhatIf`: parameter binding and planning, no HTTP, no journal, warm | {F(f["bind_plan_ms"], "0")} | | |");
                    md.AppendLine(inv, $"| `Import-Csv rows.csv \\| New-KlingVideo \\| Wait-FalJob`, cold: the first pipeline in the process | {F(f["full_cold_ms"], "0")} | {F(f["full_cold_cpu_ms"], "0")} | {F(f["full_cold_jit_ms"], "0")} |");
                    md.AppendLine(inv, $"| the same, warm, journal on disk (`{Path.GetTempPath().TrimEnd('/')}`) | {F(f["full_warm_ms"], "0")} | {F(f["full_warm_cpu_ms"], "0")} | {F(f["full_warm_jit_ms"], "0")} |");
                    if (f.Figures.ContainsKey("full_steady_ms"))
                        md.AppendLine(inv, $"| the same, steady state: a later batch of the session (median of runs 10 to 14), journal on disk | {F(f["full_steady_ms"], "0")} | {F(f["full_steady_cpu_ms"], "0")} | {F(f["full_steady_jit_ms"], "0")} |");
                    if (f.Figures.ContainsKey("full_warm_memjournal_ms"))
                        md.AppendLine(inv, $"| the same, steady state, journal in memory (`/dev/shm`: its flushes to disk cost nothing; median of the next 3 runs) | {F(f["full_warm_memjournal_ms"], "0")} | | |");
                }
                else md.AppendLine(inv, $"| time breakdown | failed: {o.Problem} | | |");
                if (Find("first-job") is { } b)
                {
                    TimingTable("What a fresh process pays once, step by step (another process, its own emulator; each step the first of its kind in the process, in this order):", "step");
                    if (b.Figures is { } g)
                    {
                        void Step(string what, string key) =>
                            md.AppendLine(inv, $"| {what} | {F(g[key + "_ms"], "0")} | {F(g[key + "_cpu_ms"], "0")} | {F(g[key + "_jit_ms"], "0")} |");
                        Step($"`Import-Csv rows.csv \\| Out-Null` ({options.OverheadRows:N0} rows)", "import_csv_cold");
                        Step($"`Import-Csv rows.csv \\| New-KlingVideo -WhatIf`: binding and planning of {options.OverheadRows:N0} rows, the price catalog read at the first", "bind_plan_cold");
                        Step("one job: `New-KlingVideo \\| Wait-FalJob` of a one-row CSV (first journal write, connection, submit, status stream, result)", "first_job");
                        Step($"then the batch: `Import-Csv rows.csv \\| New-KlingVideo \\| Wait-FalJob`, {options.OverheadRows:N0} rows", "after_first_job");
                    }
                    else md.AppendLine(inv, $"| first job | failed: {b.Problem} | | |");
                }
            }
        }
    }

    private static IEnumerable<string> ResourceCheckLines(BenchmarkOptions options, IReadOnlyList<ResourceRun> checks)
    {
        string Line(string? check, string name, Func<FigureReport, (bool Pass, string Detail)> test)
        {
            var run = checks.FirstOrDefault(c => c.Check == check);
            if (run is null) return $"SKIP {name} (not measured in this run)";
            if (run.Figures is not { } f) return $"FAIL {name} (the run failed: {run.Problem})";
            var (pass, detail) = test(f);
            return $"{(pass ? "PASS" : "FAIL")} {name}: {detail}" + (run.Problem is null ? "" : $" (but: {run.Problem})");
        }

        var inv = CultureInfo.InvariantCulture;
        if (options.RunMemory)
        {
            yield return Line("save-video", $"memory: saving a {options.VideoMb} MB video grows the working set by < {ResourceChecks.MaxDownloadGrowthMb} MB",
                f => (f["growth_mb"] < ResourceChecks.MaxDownloadGrowthMb && Math.Abs(f["saved_mb"] - options.VideoMb) < 0.01,
                      string.Create(inv, $"+{f["growth_mb"]:0.0} MB ({f["saved_mb"]:0} MB saved)")));
            yield return Line("pipeline", $"memory: {options.PipelineRows:N0} jobs in one pipeline stay under {ResourceChecks.MaxPipelinePeakMb} MB peak",
                f => (f["peak_mb"] < ResourceChecks.MaxPipelinePeakMb && f["completed"] == options.PipelineRows,
                      string.Create(inv, $"{f["peak_mb"]:0} MB peak, {f["completed"]:0} of {options.PipelineRows} completed")));
        }
        if (options.RunCmdlets)
        {
            yield return Line("cmdlets", $"cmdlets: Measure-VideoCost on {options.CostRows:N0} rows under {ResourceChecks.MaxCostMs / 1000} s warm",
                f => (f["cost_warm_ms"] < ResourceChecks.MaxCostMs, string.Create(inv, $"{f["cost_warm_ms"]:0} ms warm ({f["cost_cold_ms"]:0} ms cold)")));
            yield return Line("cmdlets", $"cmdlets: Import-Module under {ResourceChecks.MaxImportMs} ms warm",
                f => (f["import_warm_ms"] < ResourceChecks.MaxImportMs, string.Create(inv, $"{f["import_warm_ms"]:0} ms warm ({f["import_cold_ms"]:0} ms cold)")));
        }
    }

    private static string Title(BenchmarkProfile p) =>
        p.JobSeconds == 0
            ? $"{Capitalize(p.Name)} jobs (`--job-seconds 0`, pure overhead): {p.Rows} rows"
            : $"{Capitalize(p.Name)} jobs (`--job-seconds {p.JobSeconds.ToString(CultureInfo.InvariantCulture)}`, polling cost): {p.Rows} rows";

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static IEnumerable<string> Checks(IReadOnlyList<Measurement> results)
    {
        Measurement? Find(Func<BenchmarkProfile, bool> profile, Contender c) =>
            results.FirstOrDefault(r => profile(r.Profile) && r.Contender == c);

        var instantFal = Find(p => p.JobSeconds == 0, Contender.FalVideo);
        var instantOfficial = Find(p => p.JobSeconds == 0, Contender.Official);
        var instantFloor = Find(p => p.JobSeconds == 0, Contender.Floor);
        var longFal = Find(p => p.JobSeconds > 0, Contender.FalVideo);

        yield return Compare("instant jobs: FalVideo throughput ≥ the official client's", instantFal, instantOfficial,
            (fal, other) => (fal.JobsPerSecond >= other.JobsPerSecond,
                $"{fal.JobsPerSecond:0.0} vs {other.JobsPerSecond:0.0} jobs/s"));

        yield return Compare($"instant jobs: FalVideo throughput within {FloorFactor}× of the floor", instantFal, instantFloor,
            (fal, floor) => (fal.Report.WorkSeconds <= FloorFactor * floor.Report.WorkSeconds,
                $"{fal.JobsPerSecond:0.0} vs floor {floor.JobsPerSecond:0.0} jobs/s: {fal.Report.WorkSeconds / floor.Report.WorkSeconds:0.00}× the floor's time, needs ≤ {FloorFactor}×"));

        const string statusCheck = "long jobs: FalVideo status requests per completed job ≤ 3";
        if (longFal is null) yield return $"SKIP {statusCheck} (the long profile was not run)";
        else if (!longFal.Ok || longFal.Stats is null) yield return $"FAIL {statusCheck} (the FalVideo run failed: {longFal.Problem})";
        else
        {
            var perJob = longFal.StatusRequestsPerJob;
            yield return $"{(perJob <= MaxStatusRequestsPerJob ? "PASS" : "FAIL")} {statusCheck}: " +
                         string.Create(CultureInfo.InvariantCulture, $"{perJob:0.00} ({longFal.Stats.StatusRequests} status requests / {longFal.Stats.Completed} jobs)");
        }
    }

    private static string Compare(string name, Measurement? fal, Measurement? other, Func<Measurement, Measurement, (bool Pass, string Detail)> check)
    {
        if (fal is null || other is null) return $"SKIP {name} (not measured in this run)";
        if (!fal.Ok) return $"FAIL {name} (the FalVideo run failed: {fal.Problem})";
        if (!other.Ok) return $"SKIP {name} (the {other.Contender} run failed: {other.Problem})";
        var (pass, detail) = check(fal, other);
        return $"{(pass ? "PASS" : "FAIL")} {name}: " + string.Create(CultureInfo.InvariantCulture, $"{detail}");
    }

    private static string Command(BenchmarkOptions options)
    {
        var command = new StringBuilder("dotnet run");
        if (BuildInfo.Configuration != "Debug") command.Append(" -c ").Append(BuildInfo.Configuration);
        command.Append(" --project bench/FalVideo.Benchmark");
        if (options.RawArgs.Count > 0)
        {
            command.Append(" --");
            foreach (var a in options.RawArgs) command.Append(' ').Append(a.Contains(' ') ? $"'{a}'" : a);
        }
        return command.ToString();
    }
}
