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

    public static string Render(BenchmarkOptions options, string machine, DateTimeOffset started, IReadOnlyList<Measurement> results)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("# FalVideo benchmark");
        md.AppendLine();
        md.AppendLine(inv, $"- Command: `{Command(options)}`");
        md.AppendLine(inv, $"- Date: {started.ToString("yyyy-MM-dd HH:mm zzz", inv)}");
        md.AppendLine(inv, $"- Machine: {machine}");
        var warmUp = options.WarmUpJobs > 0 ? $"warmed up with {options.WarmUpJobs} jobs and reset before the contender starts" : "not warmed up";
        md.AppendLine(inv, $"- Emulator: a fresh `src/FalVideo.Emulator` process per run, `--concurrency {options.Concurrency}`, on 127.0.0.1, {warmUp}");
        if (options.Repeat > 1) md.AppendLine(inv, $"- Each row: the run with the median wall time of {options.Repeat} runs");

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

        md.AppendLine();
        md.AppendLine("Contenders:");
        md.AppendLine();
        foreach (var m in results.DistinctBy(r => r.Contender))
        {
            md.AppendLine(inv, $"- {m.Label}: {m.Description}");
        }

        md.AppendLine();
        md.AppendLine("Target checks (issue 5), from the numbers above:");
        md.AppendLine();
        foreach (var line in Checks(results)) md.AppendLine(inv, $"- {line}");

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
