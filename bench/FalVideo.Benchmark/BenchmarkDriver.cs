using FalVideo.Tools;
using System.Diagnostics;
using System.Globalization;

namespace FalVideo.Benchmark;

/// <summary>One contender's run in one profile, with the emulator's view of it.</summary>
internal sealed record Measurement(BenchmarkProfile Profile, Contender Contender, string Label, string Description, ProcessOutcome Outcome, EmulatorStats? Stats, string? Problem)
{
    /// <summary>The run did all its jobs and reported its numbers.</summary>
    public bool Ok => Problem is null;

    public ChildReport Report => Outcome.Report!;

    public double JobsPerSecond => Profile.Rows / Report.WorkSeconds;

    public double RequestsPerJob => Stats!.Requests / (double)Profile.Rows;

    /// <summary>Per completed job, as the issue's target is worded.</summary>
    public double StatusRequestsPerJob => Stats!.StatusRequests / (double)Math.Max(1, Stats.Completed);

    public double PeakMb => (Report.PeakRssKb > 0 ? Report.PeakRssKb : Outcome.PolledPeakRssKb ?? 0) / 1024.0;
}

/// <summary>One resource check's run (<see cref="ResourceChecks"/>): its figures, or what went wrong.</summary>
internal sealed record ResourceRun(string Check, ProcessOutcome Outcome, string? Problem)
{
    public FigureReport? Figures => Outcome.Figures;
}

/// <summary>
/// Runs every selected contender in every selected profile, one after another, each as its own process against
/// its own fresh emulator process, then the selected resource checks, then prints and saves the Markdown report.
/// </summary>
internal static class BenchmarkDriver
{
    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var officialScript = Path.Combine(BuildInfo.RepoRoot, "tests", "js", "bench-official.mjs");
        if (options.Profiles.Count > 0 && options.Contenders.Contains(Contender.Official) &&
            !Directory.Exists(Path.Combine(BuildInfo.RepoRoot, "tests", "js", "node_modules", "@fal-ai", "client")))
        {
            Console.Error.WriteLine("The official client is not installed: run `npm ci --prefix tests/js` (or leave it out with --contenders falvideo,floor).");
            return 2;
        }

        if (options.Engine == "precompiled")
        {
            s_childHost = await ChildHost.PrepareAsync();
            if (s_childHost is null) return 2;
        }

        if (Environment.GetEnvironmentVariable("FALVIDEO_PWSH") is { Length: > 0 } named)
        {
            PrecompiledPwsh.Description = $"`{named}` (`FALVIDEO_PWSH`)";
        }
        else if (options.PwshKind == "precompiled")
        {
            var pwsh = await PrecompiledPwsh.PrepareAsync();
            if (pwsh is null) return 2;
            Pwsh.Use(pwsh);
        }

        var started = DateTimeOffset.Now;
        var machine = MachineInfo.Describe();
        var results = new List<Measurement>();
        foreach (var profile in options.Profiles)
        {
            foreach (var contender in options.Contenders)
            {
                var runs = new List<Measurement>();
                for (var run = 1; run <= options.Repeat; run++)
                {
                    Console.Error.Write($"[{profile.Name}] {contender}: {profile.Rows} rows, jobs of {profile.JobSeconds.ToString(CultureInfo.InvariantCulture)} s" +
                                        (options.Repeat > 1 ? $", run {run} of {options.Repeat}" : "") + " ... ");
                    var m = await RunOneAsync(options, profile, contender, officialScript);
                    Console.Error.WriteLine(m.Ok
                        ? $"{m.Report.WorkSeconds:0.00} s, {m.Stats!.Requests} requests ({m.Stats.StatusRequests} status)"
                        : $"FAILED: {m.Problem}");
                    if (!m.Ok)
                    {
                        foreach (var line in m.Outcome.Tail) Console.Error.WriteLine($"    {line}");
                    }
                    runs.Add(m);
                }
                // A failed run is shown as the failure; otherwise the median run by wall time, with all its own numbers.
                results.Add(runs.FirstOrDefault(r => !r.Ok) ?? runs.OrderBy(r => r.Report.WorkSeconds).ElementAt(runs.Count / 2));
            }
        }

        var checks = new List<ResourceRun>();
        if (options.RunMemory)
        {
            checks.Add(await RunCheckAsync(options, "save-video", emulator: true, options.VideoMb, "--video-mb", options.VideoMb.ToString(CultureInfo.InvariantCulture)));
            checks.Add(await RunCheckAsync(options, "pipeline", emulator: true, options.PipelineRows));
            // The same pipeline with the GC's first-generation budget a desktop CPU would give it: .NET sizes that
            // budget from the L3 cache, and a VM that reports a very large L3 gets a budget that dominates the peak.
            checks.Add(await RunCheckAsync(options, "pipeline", emulator: true, options.PipelineRows, [],
                new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x2000000" }) with { Check = "pipeline-gen0-32mb" });
        }
        if (options.RunCmdlets)
        {
            checks.Add(await RunCheckAsync(options, "cmdlets", emulator: false, options.CostRows));
            checks.Add(await RunCheckAsync(options, "overhead", emulator: true, options.OverheadRows));
            checks.Add(await RunCheckAsync(options, "first-job", emulator: true, options.OverheadRows));
        }

        var issue12 = await Issue12.RunAsync(options);
        var markdown = Report.Render(options, machine, started, results, checks, issue12);
        Console.WriteLine(markdown);
        if (options.OutputPath is { } path)
        {
            var full = Path.IsPathRooted(path) ? path : Path.Combine(BuildInfo.RepoRoot, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, markdown);
            Console.Error.WriteLine($"Report written to {full}");
        }
        return results.All(r => r.Ok) && checks.All(c => c.Problem is null) && issue12.All(c => c.Problem is null) ? 0 : 1;
    }

    /// <summary>Runs one resource check in a child process, against a fresh, warmed-up emulator when it needs one.</summary>
    private static Task<ResourceRun> RunCheckAsync(BenchmarkOptions options, string check, bool emulator, int rows, params string[] extra) =>
        RunCheckAsync(options, check, emulator, rows, extra, null);

    private static async Task<ResourceRun> RunCheckAsync(BenchmarkOptions options, string check, bool emulator, int rows, string[] extra,
        Dictionary<string, string>? environment)
    {
        Console.Error.Write($"[{check}] {rows} ... ");
        await using var emu = emulator ? await StartEmulatorAsync(options, jobSeconds: 0) : null;
        var baseUrl = emu?.BaseUrl.ToString().TrimEnd('/');
        var args = new List<string> { check, "--rows", rows.ToString(CultureInfo.InvariantCulture) };
        if (baseUrl is not null) args.AddRange(["--base-url", baseUrl]);
        args.AddRange(extra);
        var start = SelfAsChild([.. args]);
        foreach (var (name, value) in environment ?? []) start.Environment[name] = value;
        var outcome = await RunChildAsync(start, baseUrl, options);
        var problem =
            outcome.ExitCode is null ? $"killed after {options.Timeout.TotalSeconds:0} s" :
            outcome.Figures is null ? $"exit code {outcome.ExitCode}, no figures line" :
            outcome.ExitCode != 0 ? $"exit code {outcome.ExitCode}: {string.Join("; ", outcome.Figures.Notes)}" :
            null;
        Console.Error.WriteLine(problem is null ? $"done in {outcome.WallSeconds:0.0} s" : $"FAILED: {problem}");
        if (problem is not null)
        {
            foreach (var line in outcome.Tail) Console.Error.WriteLine($"    {line}");
        }
        return new ResourceRun(check, outcome, problem);
    }

    /// <summary>A fresh emulator process, warmed up (<see cref="EmulatorProcess.WarmUpAsync"/>) unless told not to.</summary>
    internal static async Task<EmulatorProcess> StartEmulatorAsync(BenchmarkOptions options, double jobSeconds, params string[] extraArgs)
    {
        var emulator = await EmulatorProcess.StartAsync(jobSeconds, options.Concurrency, extraArgs);
        if (options.WarmUpJobs > 0) await emulator.WarmUpAsync(options.WarmUpJobs);
        return emulator;
    }

    /// <summary>
    /// Runs a child from the repository's root, pointed at the emulator (when <paramref name="baseUrl"/> is given) with
    /// a job store of its own, deleted afterwards: the module records every job, and a benchmark must not fill the
    /// user's own store. The store is the kind users get by default (SQLite). With <paramref name="keepJournal"/>, the
    /// child uses that store instead and it is left in place (a re-run's second process needs the first one's jobs).
    /// </summary>
    internal static async Task<ProcessOutcome> RunChildAsync(ProcessStartInfo start, string? baseUrl, BenchmarkOptions options, string? keepJournal = null)
    {
        var journal = keepJournal ?? Path.Combine(Path.GetTempPath(), $"falvideo-bench-jobs-{Guid.NewGuid():N}.db");
        start.WorkingDirectory = BuildInfo.RepoRoot;
        if (baseUrl is not null) start.Environment["FALVIDEO_BASE_URL"] = baseUrl;
        start.Environment["FAL_KEY"] = "bench-key";
        start.Environment["FALVIDEO_JOURNAL"] = journal;
        try
        {
            return await MonitoredProcess.RunAsync(start, options.Timeout);
        }
        finally
        {
            if (keepJournal is null)
            {
                foreach (var file in new[] { journal, journal + "-wal", journal + "-shm" }) File.Delete(file);
            }
        }
    }

    /// <summary>One contender's run in a fresh emulator; <paramref name="environment"/> adds variables to the child (the
    /// shared profile's <c>FALVIDEO_JOB_STORE</c>).</summary>
    internal static async Task<Measurement> RunOneAsync(BenchmarkOptions options, BenchmarkProfile profile, Contender contender, string officialScript,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var emulator = await StartEmulatorAsync(options, profile.JobSeconds);
        var baseUrl = emulator.BaseUrl.ToString().TrimEnd('/');
        var rows = profile.Rows.ToString(CultureInfo.InvariantCulture);

        ProcessStartInfo start;
        string label, how;
        string? csv = null;
        switch (contender)
        {
            case Contender.FalVideo:
                csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Guid.NewGuid():N}.csv");
                start = FalVideoContender.Prepare(profile.Rows, csv);
                label = "FalVideo";
                how = $"`Import-Csv rows.csv | New-KlingVideo | Wait-FalJob` in `pwsh -NoProfile -File` ({start.FileName})";
                break;
            case Contender.Official:
                start = new ProcessStartInfo("node") { ArgumentList = { officialScript, "--base-url", baseUrl, "--rows", rows, "--mode", options.OfficialMode } };
                if (options.OfficialPollMs is { } poll)
                {
                    start.ArgumentList.Add("--poll-ms");
                    start.ArgumentList.Add(poll.ToString(CultureInfo.InvariantCulture));
                }
                label = "official `@fal-ai/client`";
                how = $"`tests/js/bench-official.mjs`: `fal.queue.submit` for all rows at once, then `subscribeToStatus` ({options.OfficialMode}) and `result` for each";
                break;
            default:
                start = SelfAsChild("floor", "--base-url", baseUrl, "--rows", rows,
                    "--parallel", options.FloorParallel.ToString(CultureInfo.InvariantCulture),
                    "--poll-ms", options.FloorPollMs.ToString(CultureInfo.InvariantCulture));
                label = "floor: bare `HttpClient`";
                how = "submit all, then poll `status_url` until COMPLETED and GET `response_url` once per job";
                break;
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        ProcessOutcome outcome;
        try
        {
            outcome = await RunChildAsync(start, baseUrl, options);
        }
        finally
        {
            if (csv is not null) File.Delete(csv);
        }
        EmulatorStats? stats = null;
        try { stats = await emulator.GetStatsAsync(); }
        catch (HttpRequestException) { }

        string? problem =
            outcome.ExitCode is null ? $"killed after {options.Timeout.TotalSeconds:0} s" :
            outcome.Report is null ? $"exit code {outcome.ExitCode}, no result line" :
            outcome.Report.Completed != profile.Rows ? $"{outcome.Report.Completed} of {profile.Rows} jobs completed, {outcome.Report.Errors} errors" :
            stats is null ? "the emulator's counters could not be read" :
            stats.AcceptedSubmissions != profile.Rows ? $"the emulator accepted {stats.AcceptedSubmissions} submissions, not {profile.Rows}" :
            null;
        return new Measurement(profile, contender, label, outcome.Report is { } r ? $"{how}; {r.Client}" : how, outcome, stats, problem);
    }

    // The precompiled publish of this program the floor and the checks run from (--engine precompiled), or null for this build.
    private static string? s_childHost;

    /// <summary>This program again, in a child mode: the precompiled publish of it, or this build with <c>--engine il</c>.</summary>
    internal static ProcessStartInfo SelfAsChild(params string[] args)
    {
        ProcessStartInfo start;
        if (s_childHost is not null)
        {
            start = new ProcessStartInfo(ChildHost.Dotnet);
            start.ArgumentList.Add(s_childHost);
        }
        else
        {
            var host = Environment.ProcessPath ?? "dotnet";
            start = new ProcessStartInfo(host);
            // Started as `dotnet FalVideo.Benchmark.dll`: the child needs the dll too.
            if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(typeof(BenchmarkDriver).Assembly.Location);
        }
        start.ArgumentList.Add(ChildMode.Flag);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }
}
