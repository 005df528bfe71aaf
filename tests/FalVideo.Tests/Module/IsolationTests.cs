using System.Diagnostics;
using FalVideo.Emulator;

namespace FalVideo.Tests.Module;

/// <summary>
/// The module's dependencies load into their own context: with another Polly.Core already in the process (as
/// another module would bring), FalVideo still imports and runs a job. Runs in a child process, because this
/// test process has FalVideo.Core and Polly on its own probing path.
/// </summary>
public sealed class IsolationTests
{
    private static string FindBuilt(string folder, string file) =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), file, SearchOption.AllDirectories)
            .Where(p => p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? throw new Xunit.Sdk.XunitException($"{file} not built under {folder}; run dotnet build FalVideo.sln");

    [Fact]
    public async Task Runs_a_job_when_another_Polly_is_loaded_first()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        var work = Directory.CreateTempSubdirectory("falvideo-isolation-").FullName;
        var otherPolly = FindBuilt("tests/fixtures/OtherPolly", "Polly.Core.dll");
        var script = Path.Combine(work, "isolation.ps1");
        File.WriteAllText(script, """
            param($OtherPolly)
            Add-Type -Path $OtherPolly
            $job = New-KlingVideo -Prompt 'Isolation check' -Duration 3 -GenerateAudio $false | Wait-FalJob
            "STATUS=$($job.Status)"
            [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Polly.Core' } | ForEach-Object {
                'POLLY=' + [Diagnostics.FileVersionInfo]::GetVersionInfo($_.Location).FileVersion + '@' +
                    [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name
            }
            """);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(FindBuilt("tools/FalVideo.Run", "FalVideo.Run.dll"));
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(otherPolly);
        start.Environment["FALVIDEO_BASE_URL"] = emulator.BaseUrl.ToString();
        start.Environment["FAL_KEY"] = "isolation-key";
        start.Environment["FALVIDEO_JOURNAL"] = Path.Combine(work, "journal.jsonl");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "the child PowerShell did not finish");
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("STATUS=Completed", output);
        var pollies = output.Split('\n').Where(l => l.StartsWith("POLLY=")).Select(l => l.Trim()).ToList();
        Assert.Contains(pollies, p => p.StartsWith("POLLY=8.1.") && p.EndsWith("@Default"));
        Assert.Contains(pollies, p => p.StartsWith("POLLY=8.9.") && p.EndsWith("@FalVideo.Dependencies"));
        Assert.Equal(1, emulator.State.AcceptedSubmissions);
        try { Directory.Delete(work, true); } catch (IOException) { }
    }
}
