using FalVideo.Emulator.Faults;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Tests.Module;
using FalVideo.Tests.Postgres;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// The PostgreSQL job store a team shares, against a real server these tests start (<see cref="PostgresServer"/>, each
/// test on its own database and a role with rights on its own tables only) and the emulator, counted at the emulator:
/// three pwsh processes on one CSV pay each row once; a worker killed mid-batch is resumed from another process with
/// the one resume command; a database restart mid-batch loses nothing and sends nothing unrecorded; a bad connection
/// string is one clear error before anything is sent, and the password shows nowhere.
/// </summary>
public sealed class SharedStoreTests(PostgresServer server) : FaultTestBase, IClassFixture<PostgresServer>
{
    private const string Password = "Team-Pa55word-4e1f";

    private string WriteCsv(int rows, string tag, string extra = "")
    {
        var path = Path.Combine(Temp, $"{tag}.csv");
        File.WriteAllLines(path, ["Id,Prompt,Duration", .. Enumerable.Range(1, rows).Select(i => $"{tag}{i},\"{tag} row {i} {extra}\",3")]);
        return path;
    }

    private Dictionary<string, string?> ChildEnvironment(string connectionString) => new()
    {
        ["FALVIDEO_BASE_URL"] = Emulator.BaseUrl.ToString(), ["FAL_KEY"] = ApiKey, ["FALVIDEO_JOB_STORE"] = connectionString,
        ["FALVIDEO_JOURNAL"] = null, ["FALVIDEO_CONFIG"] = Path.Combine(Temp, "no-config.json"),
    };

    [Theory]
    [InlineData("postgresql")]
    [InlineData("sqlite")]
    public async Task Three_pwsh_processes_on_one_csv_at_the_same_moment_pay_each_row_once(string kind)
    {
        // The embedded store keeps the same promise for processes on one machine (its claim runs inside BEGIN IMMEDIATE).
        var cs = kind == "sqlite" ? Path.Combine(Temp, "race.db") : server.NewDatabase(Password);
        var csv = WriteCsv(30, "race");
        var go = Path.Combine(Temp, "go");
        var script = Path.Combine(Temp, "race.ps1");
        // Each worker imports the module, then waits for the same moment to start.
        File.WriteAllText(script, $$"""
            param($csv, $go)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -RetryBaseDelay 0.05
            while (-not (Test-Path $go)) { Start-Sleep -Milliseconds 20 }
            $jobs = @(Import-Csv $csv | New-KlingVideo -WarningVariable warned)
            "EMITTED $($jobs.Count) IDS $(@($jobs.RequestId | Where-Object { $_ } | Sort-Object -Unique).Count) WARNED $($warned.Count)"
            """);
        var children = Enumerable.Range(0, 3).Select(_ => new PwshChild(script, ChildEnvironment(cs), csv, go)).ToList();
        try
        {
            // Let the three import the module (a few seconds on a busy machine), then start them together.
            await Task.Delay(TimeSpan.FromSeconds(8));
            File.WriteAllText(go, "");
            foreach (var child in children) Assert.True(await child.WaitAsync(TimeSpan.FromSeconds(180)) == 0, child.Output);
        }
        finally
        {
            foreach (var child in children) child.Dispose();
        }
        var outputs = children.Select(c => c.Output).ToList();
        var accepted = Emulator.State.AcceptedSubmissions;
        var stored = JobStore.Open(cs).ReadJobs();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var warned = outputs.Sum(o => int.Parse(System.Text.RegularExpressions.Regex.Match(o, @"WARNED (\d+)").Groups[1].Value));
        ReliabilityRecorder.Record(kind == "sqlite" ? 1504 : 1501, $"Three pwsh processes run the same 30-row CSV at the same moment on one {(kind == "sqlite" ? "SQLite" : "PostgreSQL")} store",
            $"{accepted} submissions reached fal for 30 rows; the store holds {stored.Count} jobs; {warned} rows were found claimed by another process and emitted that job",
            accepted == 30 ? "nothing (each row paid once)" : $"{accepted - 30} row(s) paid twice");

        Assert.Equal(30, accepted);
        Assert.Equal(30, stored.Count);
        Assert.Equal(30, stored.Select(j => j.RequestId).Where(id => id.Length > 0).Distinct().Count());
        Assert.All(outputs, o => Assert.True(o.Contains("EMITTED 30 IDS 30", StringComparison.Ordinal), o));
        // Every row went out from one process and was found by the other two.
        Assert.Equal(60, warned);
    }

    [Fact]
    public async Task A_worker_killed_mid_batch_is_resumed_from_another_process_with_the_one_resume_command()
    {
        var cs = server.NewDatabase(Password);
        var held = Inject(new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.DelayBefore, DelaySeconds = 120, Skip = 3, Times = 100 });
        var csv = WriteCsv(6, "killed", "[emulator:seconds=2]");
        var script = Path.Combine(Temp, "worker.ps1");
        File.WriteAllText(script, $$"""
            param($csv, $out)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -RetryBaseDelay 0.05
            Import-Csv $csv | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $out
            """);
        var store = new PostgresJobStore(cs);
        using (var child = new PwshChild(script, ChildEnvironment(cs), csv, OutDir))
        {
            try
            {
                await Until(() => store.ReadJobs().Count(j => j.RequestId.Length > 0) == 3 && held.Fired >= 1,
                    "3 submissions recorded and the 4th in flight", seconds: 90);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new Xunit.Sdk.XunitException($"{e.Message}. pwsh said:\n{child.Output}");
            }
            finally
            {
                await child.KillAsync();
            }
            Assert.Equal(137, child.Process.ExitCode);
        }
        var acceptedAtKill = Emulator.State.AcceptedSubmissions;

        // Another process (this test's session), pointed at the same store, runs the README's resume.
        Ps.Run("Set-FalConfiguration -JobStore $args[0]", cs).ThrowIfErrors();
        var resumed = Ps.Run("Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        resumed.ThrowIfErrors();
        var saved = Directory.GetFiles(OutDir, "*.mp4").Length;
        ReliabilityRecorder.Record(1502, "A worker on the PostgreSQL store killed (SIGKILL) mid-batch, resumed from another process",
            $"killed with {acceptedAtKill} jobs accepted and recorded; Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo in another process saved {resumed.Output.Count}; " +
            $"{Emulator.State.AcceptedSubmissions} submissions in all", Emulator.State.AcceptedSubmissions == 3 && saved == 3 ? "nothing" : "jobs lost or paid twice");

        Assert.Equal(3, acceptedAtKill);
        Assert.Equal(3, resumed.Output.Count);
        Assert.Equal(3, saved);
        Assert.Equal(3, Emulator.State.AcceptedSubmissions);
        Assert.Equal(3, new PostgresJobStore(cs).ReadJobs().Count(j => !string.IsNullOrEmpty(j.SavedPath)));
    }

    [Fact]
    public async Task A_database_restart_mid_batch_loses_nothing_and_sends_nothing_unrecorded()
    {
        var cs = server.NewDatabase(Password);
        Ps.Run("Set-FalConfiguration -JobStore $args[0]", cs).ThrowIfErrors();
        var (shell, handle, output) = Begin($"{Rows(40, "Restart")} | New-KlingVideo -ThrottleLimit 4");
        using var _ = shell;
        await Until(() => Emulator.State.AcceptedSubmissions >= 8, "8 submissions accepted", seconds: 60);
        var acceptedAtRestart = Emulator.State.AcceptedSubmissions;
        await Task.Run(server.Restart);
        await Task.Run(() => shell.EndInvoke(handle)).WaitAsync(TimeSpan.FromSeconds(120));
        var stored = new PostgresJobStore(cs).ReadJobs();
        var recorded = stored.Select(j => j.RequestId).Where(id => id.Length > 0).ToHashSet();
        var sent = Emulator.State.Jobs.Select(j => j.RequestId).ToList();
        var unrecorded = sent.Count(id => !recorded.Contains(id));
        ReliabilityRecorder.Record(1503, "The PostgreSQL server restarted (pg_ctl restart, fast) mid-batch of 40 rows",
            $"restarted after {acceptedAtRestart} submissions; {sent.Count} submissions reached fal, {recorded.Count} recorded with their request id, " +
            $"{unrecorded} sent but unrecorded; {output.Count} jobs emitted; {shell.Streams.Error.Count} errors",
            unrecorded == 0 && sent.Count == 40 ? "nothing" : $"{unrecorded} sent unrecorded, {40 - sent.Count} rows not sent");

        Assert.True(acceptedAtRestart < 40, "the restart should happen mid-batch");
        Assert.Empty(shell.Streams.Error.Select(e => e.ToString()));
        Assert.Equal(40, sent.Count);
        Assert.Equal(0, unrecorded);
        Assert.Equal(40, stored.Count);
        Assert.Equal(40, output.Count);
    }

    [Fact]
    public void A_bad_connection_string_is_one_clear_error_before_anything_is_sent_and_never_shows_the_password()
    {
        var good = server.NewDatabase(Password);
        var wrongPassword = good.Replace(Password, "Wrong-Pa55word-9c2d");
        var unreachable = $"Host=127.0.0.1;Port=1;Username=worker;Password={Password};Database=jobs";
        foreach (var (cs, why) in new[] { (wrongPassword, "28P01"), (unreachable, "127.0.0.1:1") })
        {
            Ps.Run("Set-FalConfiguration -JobStore $args[0]", cs).ThrowIfErrors();
            var r = Ps.Run($"{Rows(5, "Bad")} | New-KlingVideo -Verbose");
            var all = string.Join("\n", r.Errors.Select(e => e.ToString() + e.Exception).Concat(r.Warnings).Concat(r.Verbose)) + r.Terminating;
            Assert.Equal(0, Emulator.State.AcceptedSubmissions);
            var errors = r.Errors.ToList();
            if (r.Terminating is System.Management.Automation.IContainsErrorRecord c) errors.Add(c.ErrorRecord);
            var error = Assert.Single(errors.DistinctBy(e => e.ToString()));
            Assert.StartsWith("FalJournalUnavailable", error.FullyQualifiedErrorId);
            Assert.Contains(why, error.ToString());
            Assert.Contains("Nothing was sent", error.ToString());
            Assert.DoesNotContain(Password, all);
            Assert.DoesNotContain("Wrong-Pa55word", all);
        }

        // Unreadable: refused by Set-FalConfiguration, which keeps the setting it had.
        var refused = Ps.Run("Set-FalConfiguration -JobStore $args[0]", $"Host=db.example.com;Password='{Password}");
        Assert.StartsWith("FalConfiguration", Assert.Single(refused.Errors).FullyQualifiedErrorId);
        Assert.DoesNotContain(Password, refused.Errors[0].ToString());
        Assert.Contains("127.0.0.1:1", Ps.Run("(Get-FalConfiguration).JournalPath").Output.Single().ToString());
    }

    [Fact]
    public async Task The_password_shows_in_no_output_verbose_configuration_or_saved_file()
    {
        var cs = server.NewDatabase(Password);
        var config = Path.Combine(Temp, "config.json");
        var script = Path.Combine(Temp, "show.ps1");
        File.WriteAllText(script, $$"""
            param($cs)
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -JobStore $cs -Save -Verbose 4>&1 3>&1
            Get-FalConfiguration | Format-List | Out-String
            New-KlingVideo -Prompt 'Masked' -Duration 3 -Verbose 4>&1 3>&1 | Out-String
            Get-FalJob -Verbose 4>&1 | Out-String
            "SAVED: " + (Get-Content -Raw $env:FALVIDEO_CONFIG)
            """);
        var env = ChildEnvironment(cs);
        env["FALVIDEO_JOB_STORE"] = null;
        env["FALVIDEO_CONFIG"] = config;
        using var child = new PwshChild(script, env, cs);
        Assert.Equal(0, await child.WaitAsync(TimeSpan.FromSeconds(120)));
        var text = child.Output;
        Assert.Contains("postgresql://falvideo_worker_", text);
        Assert.Contains("password is never saved", text);
        Assert.Contains("SAVED: ", text);
        Assert.DoesNotContain(Password, text);
        Assert.DoesNotContain(Password, File.ReadAllText(config));
        Assert.Contains("host=127.0.0.1", File.ReadAllText(config), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, Emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public void Copy_FalJob_moves_history_into_the_shared_store_and_back_and_a_second_copy_copies_nothing()
    {
        var cs = server.NewDatabase(Password);
        var embedded = Path.Combine(Temp, "jobs.db");
        Ps.Run("Set-FalConfiguration -JobStore $args[0]", embedded).ThrowIfErrors();
        Ps.Run($"{Rows(5, "Copied")} | New-KlingVideo").ThrowIfErrors();
        Assert.Equal(5, Emulator.State.AcceptedSubmissions);

        var whatIf = Ps.Run("Copy-FalJob -To $args[0] -WhatIf", cs);
        whatIf.ThrowIfErrors();
        Assert.Empty(new PostgresJobStore(cs).ReadJobs());
        dynamic first = Ps.Run("Copy-FalJob -To $args[0]", cs).Output.Single();
        Assert.Equal(5, (int)first.Copied);
        Assert.DoesNotContain(Password, (string)first.To);
        dynamic again = Ps.Run("Copy-FalJob -To $args[0]", cs).Output.Single();
        Assert.Equal(0, (int)again.Copied);
        Assert.Equal(5, (int)again.AlreadyThere);
        var shared = new PostgresJobStore(cs).ReadJobs();
        Assert.Equal(new SqliteJobStore(embedded).ReadJobs().Select(j => (j.RequestId, j.IdempotencyKey, j.Status, j.Machine, j.User)),
            shared.Select(j => (j.RequestId, j.IdempotencyKey, j.Status, j.Machine, j.User)));
        // Whose jobs they are travels with them: the submitter of each row, filtered in the shared store's query.
        Assert.All(shared, j => Assert.Equal((Environment.MachineName, Environment.UserName), (j.Machine, j.User)));

        // The copied history keeps its promise on the shared store: a re-run of the rows sends nothing.
        Ps.Run("Set-FalConfiguration -JobStore $args[0]", cs).ThrowIfErrors();
        var rerun = Ps.Run($"{Rows(5, "Copied")} | New-KlingVideo");
        rerun.ThrowIfErrors();
        Assert.Equal(5, Emulator.State.AcceptedSubmissions);
        Assert.Equal(5, rerun.Warnings.Count(w => w.Contains("already submitted as", StringComparison.Ordinal)));
        Assert.Equal(5, Ps.Run("Get-FalJob -Machine $args[0] -User $args[1]", Environment.MachineName.ToUpperInvariant(), Environment.UserName).Output.Count);
        Assert.Empty(Ps.Run("Get-FalJob -User $args[0]", "someone-else").Output);

        // And back, into a new embedded store.
        var back = Path.Combine(Temp, "back.db");
        dynamic home = Ps.Run("Copy-FalJob -From $args[0] -To $args[1]", cs, back).Output.Single();
        Assert.Equal(5, (int)home.Copied);
        Assert.Equal(shared.Select(j => (j.RequestId, j.Machine, j.User)), new SqliteJobStore(back).ReadJobs().Select(j => (j.RequestId, j.Machine, j.User)));
    }
}
