using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace FalVideo.Benchmark;

/// <summary>
/// The FalVideo contender: <c>Import-Csv rows.csv | New-KlingVideo | Wait-FalJob</c> in a PowerShell 7.6 engine
/// hosted in this process, with the built module from <c>artifacts/module/FalVideo</c>. The module finds the
/// emulator and key through <c>FALVIDEO_BASE_URL</c> and <c>FAL_KEY</c>, which the driver sets.
/// </summary>
internal static class FalVideoContender
{
    public static ChildReport Run(Uri baseUrl, int rows)
    {
        var manifest = Path.Combine(BuildInfo.RepoRoot, "artifacts", "module", "FalVideo", "FalVideo.psd1");
        if (!File.Exists(manifest)) throw new FileNotFoundException($"The built module is missing: {manifest}");
        // The module's own settings, as a user would set them; also makes a hand-started child work.
        Environment.SetEnvironmentVariable("FALVIDEO_BASE_URL", baseUrl.ToString().TrimEnd('/'));
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FAL_KEY"))) Environment.SetEnvironmentVariable("FAL_KEY", "bench-key");

        var csv = Path.Combine(Path.GetTempPath(), $"falvideo-bench-{Environment.ProcessId}.csv");
        Workload.WriteCsv(csv, rows);
        try
        {
            using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            string client;
            using (var setup = PowerShell.Create())
            {
                setup.Runspace = runspace;
                setup.AddScript("param($Manifest) $m = Import-Module $Manifest -PassThru -ErrorAction Stop; \"FalVideo $($m.Version), PowerShell $($PSVersionTable.PSVersion)\"")
                     .AddParameter("Manifest", manifest);
                client = setup.Invoke().Single().ToString();
            }

            // The timed part: exactly what a user types for a batch, with the results collected in a variable.
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript(Workload.FalVideoBatch).AddParameter("Csv", csv);
            var clock = Stopwatch.StartNew();
            var jobs = ps.Invoke();
            clock.Stop();

            var completed = jobs.Count(j => j?.Properties["VideoUrl"]?.Value is string url && url.Length > 0);
            foreach (var error in ps.Streams.Error.Take(5)) Console.Error.WriteLine($"ERROR: {error}");
            return ChildReport.Measure(client, clock.Elapsed, completed, ps.Streams.Error.Count);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
