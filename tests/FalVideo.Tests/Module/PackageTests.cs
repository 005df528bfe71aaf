using FalVideo.Emulator;

namespace FalVideo.Tests.Module;

/// <summary>
/// The package as a user gets it: build.ps1 -Task Package publishes the module folder with Publish-PSResource to a
/// local file repository; a clean pwsh (its own home, so no installed module or registered repository of this
/// machine's user is seen or touched) installs it with Install-PSResource, imports it by name and runs a job.
/// </summary>
public sealed class PackageTests
{
    [Fact]
    public async Task The_published_package_installs_with_Install_PSResource_and_runs_a_job_in_a_clean_pwsh()
    {
        var work = Directory.CreateTempSubdirectory("falvideo-package-").FullName;
        var home = Path.Combine(work, "home");
        var repository = Path.Combine(work, "repository");
        Directory.CreateDirectory(home);
        try
        {
            var publish = RunPwsh(home, Path.Combine(RepoPaths.Root, "build.ps1"), "-Task", "Package", "-NoBuild", "-OutputPath", repository);
            Assert.True(publish.Code == 0, publish.Output);
            var package = Assert.Single(Directory.GetFiles(repository, "FalVideo.*.nupkg"));
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var names = zip.Entries.Select(e => e.FullName).ToList();
                foreach (var expected in new[] { "FalVideo.psd1", "FalVideo.psm1", "net8.0/FalVideo.dll", "net8.0/FalVideo.Core.dll",
                             "net472/FalVideo.dll", "net472/dependencies/System.Text.Json.dll", "en-US/FalVideo.dll-Help.xml" })
                    Assert.Contains(expected, names);
            }

            await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
            var script = Path.Combine(work, "install.ps1");
            File.WriteAllText(script, """
                param($Repository, $BaseUrl, $Journal)
                $ErrorActionPreference = 'Stop'
                Register-PSResourceRepository -Name FalVideoLocal -Uri $Repository -Trusted
                Install-PSResource -Name FalVideo -Repository FalVideoLocal -Scope CurrentUser
                $module = Import-Module FalVideo -PassThru
                "BASE=$($module.ModuleBase)"
                Set-FalConfiguration -BaseUrl $BaseUrl -ApiKey 'package-key' -JournalPath $Journal
                $job = New-KlingVideo -Prompt 'Installed package check' -Duration 3 -GenerateAudio $false | Wait-FalJob
                "STATUS=$($job.Status)"
                "TYPE=$([FalVideo.Jobs.FalJob].Assembly.Location)"
                """);
            var install = RunPwsh(home, script, repository, emulator.BaseUrl.ToString(), Path.Combine(work, "journal.jsonl"));
            Assert.True(install.Code == 0, install.Output);
            var lines = install.Output.Split('\n').Select(l => l.Trim()).ToList();
            var moduleBase = lines.Single(l => l.StartsWith("BASE=", StringComparison.Ordinal))[5..];
            Assert.StartsWith(home, moduleBase);
            Assert.Contains("STATUS=Completed", lines);
            Assert.Contains(lines, l => l.StartsWith("TYPE=" + moduleBase, StringComparison.Ordinal));
            Assert.Equal(1, emulator.State.AcceptedSubmissions);
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    private static (int Code, string Output) RunPwsh(string home, string script, params string[] arguments)
    {
        // A home of its own: PSResourceGet's repository list, the user's module folder and the saved configuration.
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home, ["XDG_DATA_HOME"] = null, ["XDG_CONFIG_HOME"] = null, ["XDG_CACHE_HOME"] = null,
            ["PSModulePath"] = null, ["FALVIDEO_CONFIG"] = null,
        };
        using var process = FalVideo.Tools.Pwsh.Start(RepoPaths.Root, script, arguments, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("pwsh did not finish in 3 minutes: " + stdout.Result + stderr.Result);
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
