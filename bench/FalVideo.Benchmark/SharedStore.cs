using System.Diagnostics;
using System.Globalization;
using System.Text;
using FalVideo.Journal;
using FalVideo.Tests.Postgres;

namespace FalVideo.Benchmark;

/// <summary>
/// Issue 15's performance targets for the shared (PostgreSQL) store (<c>--profile shared</c>), against a throw-away
/// cluster on loopback (<see cref="PostgresServer"/>, the tests' helper: <c>initdb</c> and <c>pg_ctl</c> from
/// <c>/usr/lib/postgresql/&lt;version&gt;/bin</c>, stopped and deleted at the end):
/// <list type="bullet">
/// <item><c>shared-batch</c>: the FalVideo contender's batch (<c>Import-Csv | New-KlingVideo | Wait-FalJob</c> in real
/// pwsh, a fresh emulator each run) with the embedded store (SQLite, a fresh temporary file) and with
/// <c>FALVIDEO_JOB_STORE</c> naming a fresh database of the cluster, alternating, <c>--repeat</c> times each; medians.</item>
/// <item><c>shared-query</c>: <c>Get-FalJob -Status InQueue,InProgress</c> in real pwsh (<c>Issue12Checks.ps1 -Check
/// store-query</c>) over <c>--store-jobs</c> completed jobs: the first 10,000 written through
/// <see cref="PostgresJobStore.Import"/>, the rest copies of them made inside the server.</item>
/// </list>
/// </summary>
internal static class SharedStore
{
    /// <summary>A batch with the shared store takes at most this many times the embedded store's time (issue 15).</summary>
    public const double MaxBatchRatio = 1.5;

    /// <summary>Longest <c>Get-FalJob -Status InQueue,InProgress</c> over 1,000,000 jobs in the shared store, in ms (issue 15).</summary>
    public const double MaxQueryMs = 200;

    /// <summary>Runs both checks; their figures go to <paramref name="runs"/> as <c>shared-batch</c> and <c>shared-query</c>.</summary>
    public static async Task RunAsync(BenchmarkOptions options, string temp, List<ResourceRun> runs)
    {
        Console.Error.Write("[shared] starting a throw-away PostgreSQL cluster ... ");
        PostgresServer server;
        try
        {
            server = new PostgresServer();
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"FAILED: {e.Message}");
            runs.Add(Figures("shared-batch", e.Message));
            runs.Add(Figures("shared-query", e.Message));
            return;
        }
        using (server)
        {
            var version = PostgresServer.Scalar(server.SuperConnectionString(), "SHOW server_version");
            Console.Error.WriteLine($"PostgreSQL {version} on 127.0.0.1:{server.Port}");
            runs.Add(await BatchesAsync(options, server) with { Check = "shared-batch" });
            runs.Add(await QueryAsync(options, server, options.StoreJobs) with { Check = "shared-query" });
            if (runs[^1].Figures is { } f) f.Notes.Add($"PostgreSQL {version}");
            // The same call over a small store: what the first call costs whatever the store's size (loading Npgsql,
            // connecting, checking the schema).
            runs.Add(await QueryAsync(options, server, options.StoreSmallJobs) with { Check = "shared-query-small" });
        }
        Console.Error.WriteLine("[shared] cluster stopped and deleted");
    }

    private static async Task<ResourceRun> BatchesAsync(BenchmarkOptions options, PostgresServer server)
    {
        var rows = options.SteadyRows;
        var profile = new BenchmarkProfile("instant", rows, 0);
        var embedded = new List<Measurement>();
        var shared = new List<Measurement>();
        for (var i = 1; i <= options.Repeat; i++)
        {
            // Alternating, so a drift of the machine touches both stores alike. Each shared run gets a database of its
            // own, as each embedded run gets a file of its own: the same rows would otherwise be found as done.
            foreach (var (name, list) in new[] { ("embedded", embedded), ("shared", shared) })
            {
                Console.Error.Write($"[shared-batch] {name} store: {rows} rows, run {i} of {options.Repeat} ... ");
                var environment = name == "shared"
                    ? new Dictionary<string, string> { ["FALVIDEO_JOB_STORE"] = server.NewDatabase() }
                    : null;
                var m = await BenchmarkDriver.RunOneAsync(options, profile, Contender.FalVideo, "", environment);
                Console.Error.WriteLine(m.Ok
                    ? $"batch {m.Report.WorkSeconds:0.00} s, process {m.Outcome.WallSeconds:0.00} s, {m.Stats!.Requests} requests"
                    : $"FAILED: {m.Problem}");
                if (!m.Ok)
                {
                    foreach (var line in m.Outcome.Tail) Console.Error.WriteLine($"    {line}");
                }
                list.Add(m);
            }
        }
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count == 0 ? double.NaN : sorted[(sorted.Count - 1) / 2];
        }
        var okE = embedded.Where(m => m.Ok).ToList();
        var okS = shared.Where(m => m.Ok).ToList();
        var problem = embedded.Concat(shared).FirstOrDefault(m => !m.Ok) is { } bad ? bad.Problem : null;
        return Figures("shared-batch", problem,
            ("rows", rows),
            ("embedded_ms", Median(okE.Select(m => m.Report.WorkSeconds * 1000))),
            ("shared_ms", Median(okS.Select(m => m.Report.WorkSeconds * 1000))),
            ("embedded_process_s", Median(okE.Select(m => m.Outcome.WallSeconds))),
            ("shared_process_s", Median(okS.Select(m => m.Outcome.WallSeconds))),
            ("embedded_runs", okE.Count),
            ("shared_runs", okS.Count));
    }

    /// <summary>Jobs written through <see cref="PostgresJobStore.Import"/>; the rest of <c>--store-jobs</c> are copies of
    /// them made inside the server (Import writes 2,000 entries per transaction in three round trips: 10,000 jobs took
    /// 4.6 s here while other builds ran, so 1,000,000 would take about 8 minutes).</summary>
    private const int ImportedJobs = 10_000;

    private static async Task<ResourceRun> QueryAsync(BenchmarkOptions options, PostgresServer server, int count)
    {
        var database = server.NewDatabase();
        var imported = Math.Min(count, ImportedJobs);
        Console.Error.Write($"[shared-query] seeding {imported:N0} jobs through PostgresJobStore.Import ... ");
        var clock = Stopwatch.StartNew();
        long written;
        try
        {
            written = new PostgresJobStore(database).Import(Issue12.PastJobs(imported));
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"FAILED: {e.Message}");
            return Figures("shared-query", $"seeding failed: {e.Message}");
        }
        var importSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"{written:N0} entries in {importSeconds:0.0} s");
        clock.Restart();
        if (count > imported)
        {
            Console.Error.Write($"[shared-query] copying them inside the server up to {count:N0} jobs ... ");
            CopyJobs(database, imported, count);
        }
        var copySeconds = clock.Elapsed.TotalSeconds;
        var jobs = Convert.ToDouble(PostgresServer.Scalar(database, "SELECT count(*) FROM falvideo_jobs"), CultureInfo.InvariantCulture);
        var bytes = Convert.ToDouble(PostgresServer.Scalar(database, "SELECT pg_database_size(current_database())"), CultureInfo.InvariantCulture);
        if (count > imported) Console.Error.WriteLine($"{copySeconds:0.0} s; {jobs:N0} jobs, database {bytes / 1048576:0} MB");
        var run = await Issue12.PwshAsync(options, "store-query", null, null, ["-Repeat", "5"],
            new Dictionary<string, string> { ["FALVIDEO_JOB_STORE"] = database });
        if (run.Figures is { } f)
        {
            f.Figures["jobs"] = jobs;
            f.Figures["imported"] = written;
            f.Figures["import_seconds"] = importSeconds;
            f.Figures["copy_seconds"] = copySeconds;
            f.Figures["database_mb"] = bytes / 1048576;
        }
        return run;
    }

    /// <summary>
    /// Fills the store up to <paramref name="count"/> jobs with copies of its first <paramref name="template"/> jobs (the
    /// rows Import wrote, in a fresh database numbered 1 to <paramref name="template"/>), each job row and its entries: copy
    /// <c>g</c> takes the request id with its first 8 hex digits replaced by <c>g</c>'s, in the key, the state, the
    /// idempotency key and the entry lines alike. 100,000 jobs per statement, each its own transaction.
    /// </summary>
    private static void CopyJobs(string database, int template, int count)
    {
        const string sql = """
            WITH src AS (
                SELECT j.*, overlay(j.job_key placing lpad(to_hex(g), 8, '0') from 1 for 8) AS new_key
                FROM falvideo_jobs j CROSS JOIN generate_series(@from, @to) g
                WHERE j.seq <= @template AND g * @template + j.seq <= @count),
            ins AS (
                INSERT INTO falvideo_jobs (job_key, journal_id, status, first_time, updated_time, state, idem_key, submitted_time, unfinished, machine, user_name)
                SELECT new_key, journal_id, status, first_time, updated_time, replace(state, job_key, new_key), replace(idem_key, job_key, new_key),
                       submitted_time, unfinished, machine, user_name
                FROM src ORDER BY new_key
                RETURNING seq, job_key)
            INSERT INTO falvideo_entries (job_seq, kind, time, line)
            SELECT ins.seq, e.kind, e.time, replace(e.line, s.job_key, s.new_key)
            FROM ins JOIN src s ON s.new_key = ins.job_key JOIN falvideo_entries e ON e.job_seq = s.seq
            """;
        var copies = (count - 1) / template;
        var perStatement = Math.Max(1, 100_000 / template);
        using var connection = new Npgsql.NpgsqlConnection(database);
        connection.Open();
        for (var from = 1; from <= copies; from += perStatement)
        {
            using var command = new Npgsql.NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            command.Parameters.AddWithValue("from", from);
            command.Parameters.AddWithValue("to", Math.Min(copies, from + perStatement - 1));
            command.Parameters.AddWithValue("template", (long)template);
            command.Parameters.AddWithValue("count", (long)count);
            command.ExecuteNonQuery();
        }
    }

    private static ResourceRun Figures(string check, string? problem, params (string Name, double Value)[] figures)
    {
        var report = new FigureReport(check, figures.ToDictionary(f => f.Name, f => f.Value), []);
        return new ResourceRun(check, new ProcessOutcome(0, 0, null, null, [], report), problem);
    }

    /// <summary>The issue 15 section of the report: its table, then its PASS/FAIL lines.</summary>
    public static void Render(StringBuilder md, BenchmarkOptions options, IReadOnlyList<ResourceRun> runs)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(double v, string format) => double.IsNaN(v) ? "?" : v.ToString(format, inv);
        FigureReport? Get(string check) => runs.FirstOrDefault(r => r.Check == check)?.Figures;
        string Failed(string check) => runs.FirstOrDefault(r => r.Check == check) is { Problem: { } p } ? $" (failed: {p})" : "";
        string Verdict(bool pass) => pass ? "PASS" : "FAIL";
        var lines = new List<string>();

        md.AppendLine();
        md.AppendLine("## Issue 15 targets: the shared (PostgreSQL) store");
        md.AppendLine();
        md.AppendLine("A throw-away PostgreSQL cluster on 127.0.0.1 (`initdb` and `pg_ctl` as the tests start it), a database and a login role of its own for each use, named to the module by `FALVIDEO_JOB_STORE` (a connection string); the embedded store is SQLite in a temporary file. Each FalVideo figure is real `pwsh -NoProfile -File` with the built module.");
        md.AppendLine();
        md.AppendLine("| what | result |");
        md.AppendLine("|---|---|");

        var b = Get("shared-batch");
        var batchName = $"a {options.SteadyRows:N0}-row batch with the shared store on loopback within 1.5× of the embedded store's time";
        if (b is not null)
        {
            md.AppendLine(inv, $"| `Import-Csv \\| New-KlingVideo \\| Wait-FalJob`, {F(b["rows"], "N0")} instant jobs, a fresh emulator and a fresh store each run, the stores alternating (median of {F(b["embedded_runs"], "0")} and {F(b["shared_runs"], "0")} runs) | embedded (SQLite) **{F(b["embedded_ms"], "0")} ms** (whole process {F(b["embedded_process_s"], "0.00")} s); shared (PostgreSQL) **{F(b["shared_ms"], "0")} ms** (whole process {F(b["shared_process_s"], "0.00")} s): **{F(b["shared_ms"] / b["embedded_ms"], "0.00")}×**{Failed("shared-batch")} |");
            var ratio = b["shared_ms"] / b["embedded_ms"];
            lines.Add(double.IsNaN(ratio) ? $"FAIL {batchName}{Failed("shared-batch")}" :
                string.Create(inv, $"{Verdict(ratio <= MaxBatchRatio && Failed("shared-batch") == "")} {batchName}: {b["shared_ms"]:0} ms vs {b["embedded_ms"]:0} ms = {ratio:0.00}× (whole process {b["shared_process_s"]:0.00} s vs {b["embedded_process_s"]:0.00} s){Failed("shared-batch")}"));
        }
        else lines.Add($"FAIL {batchName}{Failed("shared-batch")}");

        var q = Get("shared-query");
        var queryName = $"`Get-FalJob -Status InQueue,InProgress` over {options.StoreJobs:N0} jobs in the shared store ≤ 200 ms";
        foreach (var (check, n) in new[] { ("shared-query", options.StoreJobs), ("shared-query-small", options.StoreSmallJobs) })
        {
            var f = Get(check);
            var what = string.Create(inv, $"| `Get-FalJob -Status InQueue,InProgress` over {n:N0} completed past jobs in the shared store (the first {Math.Min(n, ImportedJobs):N0} written through `PostgresJobStore.Import`{(n > ImportedJobs ? ", the rest copies of them made inside the server" : "")}) | ");
            md.AppendLine(what +
                (f is null ? $"failed{Failed(check)}" :
                $"first call in the process (the store not yet open: the call loads Npgsql, connects and checks the schema) **{F(f["first_ms"], "0")} ms**, then {F(f["warm_ms"], "0")} ms (median of 5, store opened before); {F(f["listed"], "0")} listed; resident memory {F(f["rss_before_mb"], "0")} MB before, peak {F(f["peak_mb"], "0")} MB: +{F(f["growth_mb"], "0.0")} MB; {F(f["jobs"], "N0")} jobs in the store; Import {F(f["import_seconds"], "0.0")} s ({F(f["imported"] / f["import_seconds"], "0")} jobs/s), copies {F(f["copy_seconds"], "0.0")} s; database {F(f["database_mb"], "0")} MB{Failed(check)}") + " |");
        }
        if (q is not null)
        {
            var smallFigures = Get("shared-query-small");
            var small = smallFigures is null ? "" : "; " + F(smallFigures["first_ms"], "0") + " ms as the first call over " + options.StoreSmallJobs.ToString("N0", inv) + " jobs";
            lines.Add(double.IsNaN(q["first_ms"]) ? $"FAIL {queryName}{Failed("shared-query")}" :
                string.Create(inv, $"{Verdict(q["first_ms"] <= MaxQueryMs && Failed("shared-query") == "")} {queryName}: {q["first_ms"]:0} ms as the first call of the process, store not yet open ({q["warm_ms"]:0} ms with it open{small}){Failed("shared-query")}"));
        }
        else lines.Add($"FAIL {queryName}{Failed("shared-query")}");

        md.AppendLine();
        md.AppendLine("Issue 15 target checks:");
        md.AppendLine();
        foreach (var line in lines) md.AppendLine(inv, $"- {line}");
    }
}
