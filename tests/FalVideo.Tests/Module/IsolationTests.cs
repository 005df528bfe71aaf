using FalVideo.Emulator;

namespace FalVideo.Tests.Module;

/// <summary>
/// The module's third-party dependencies load into their own context, its own assemblies into the default one (so
/// scripts can name its types). Imported first, FalVideo keeps its Polly.Core private while another module loads an
/// older one; imported after another module loaded Polly.Core into the default context, it still runs a job (the
/// default context then answers FalVideo.Core's request with the copy already there, as it does for PSResourceGet's
/// dependencies: every Polly.Core 8.x has assembly version 8.0.0.0). Runs in a child pwsh, because this test process
/// has FalVideo.Core and Polly on its own probing path.
/// </summary>
public sealed class IsolationTests
{
    private static string FindBuilt(string folder, string file) =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), file, SearchOption.AllDirectories)
            .Where(p => p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? throw new Xunit.Sdk.XunitException($"{file} not built under {folder}; run dotnet build FalVideo.sln");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Runs_a_job_beside_another_modules_Polly(bool otherFirst)
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        var work = Directory.CreateTempSubdirectory("falvideo-isolation-").FullName;
        var otherPolly = FindBuilt("tests/fixtures/OtherPolly", "Polly.Core.dll");
        var script = Path.Combine(work, "isolation.ps1");
        File.WriteAllText(script, $$"""
            param($OtherPolly, $OtherFirst)
            if ($OtherFirst -eq 'True') { Add-Type -Path $OtherPolly }
            {{PwshChild.ImportModule}}
            $job = New-KlingVideo -Prompt 'Isolation check' -Duration 3 -GenerateAudio $false | Wait-FalJob
            "STATUS=$($job.Status)"
            "TYPE=$(([FalVideo.Jobs.FalJob]).FullName)@$([Runtime.Loader.AssemblyLoadContext]::GetLoadContext([FalVideo.Jobs.FalJob].Assembly).Name)"
            if ($OtherFirst -ne 'True') { Add-Type -Path $OtherPolly }
            [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Polly.Core' } | ForEach-Object {
                'POLLY=' + [Diagnostics.FileVersionInfo]::GetVersionInfo($_.Location).FileVersion + '@' +
                    [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name
            }
            """);
        using var child = new PwshChild(script, new Dictionary<string, string?>
        {
            ["FALVIDEO_BASE_URL"] = emulator.BaseUrl.ToString(),
            ["FAL_KEY"] = "isolation-key",
            ["FALVIDEO_JOURNAL"] = Path.Combine(work, "journal.jsonl"),
        }, otherPolly, otherFirst.ToString());
        var code = await child.WaitAsync(TimeSpan.FromSeconds(120));
        var output = child.Output;
        Assert.True(code == 0, output);
        Assert.Contains("STATUS=Completed", output);
        Assert.Contains("TYPE=FalVideo.Jobs.FalJob@Default", output);
        var pollies = output.Split('\n').Where(l => l.StartsWith("POLLY=")).Select(l => l.Trim()).ToList();
        Assert.Contains(pollies, p => p.StartsWith("POLLY=8.1.") && p.EndsWith("@Default"));
        if (!otherFirst)
            Assert.Contains(pollies, p => p.StartsWith("POLLY=8.9.") && p.EndsWith("@FalVideo.Dependencies"));
        Assert.Equal(1, emulator.State.AcceptedSubmissions);
        try { Directory.Delete(work, true); } catch (IOException) { }
    }
}

/// <summary>
/// Set-FalConfiguration -Save keeps settings (never the key) for later sessions, at the lowest precedence.
/// Runs in child processes, because the saved file is per user and this test process shares its environment.
/// </summary>
public sealed class SavedConfigurationTests
{
    private static (int Code, string Output) RunChild(string script, Dictionary<string, string?> env)
    {
        // No journal variable either: the saved JournalPath is under test, and the environment would beat it.
        using var child = new PwshChild(script, env.Concat([new("FAL_KEY", null), new("FALVIDEO_BASE_URL", null), new("FALVIDEO_JOURNAL", null)]));
        var code = child.WaitAsync(TimeSpan.FromSeconds(120)).GetAwaiter().GetResult();
        return (code, child.Output);
    }

    [Fact]
    public void Saved_settings_apply_to_later_sessions_below_environment_variables_and_never_hold_the_key()
    {
        var work = Directory.CreateTempSubdirectory("falvideo-config-").FullName;
        var config = Path.Combine(work, "config.json");
        var env = new Dictionary<string, string?> { ["FALVIDEO_CONFIG"] = config };
        var save = Path.Combine(work, "save.ps1");
        File.WriteAllText(save, $$"""
            {{PwshChild.ImportModule}}
            Set-FalConfiguration -QueueUrl https://queue.example.test -RequestTimeout 123 -MaxRetries 7 -JournalPath ./saved-journal.jsonl -ApiKey 'sk-saved-9f8e7d' -Save -WarningVariable w
            "WARN=$w"
            """);
        var (code, output) = RunChild(save, env);
        Assert.True(code == 0, output);
        Assert.Contains("WARN=The API key is never saved", output);
        var text = File.ReadAllText(config);
        Assert.Contains("https://queue.example.test", text);
        Assert.DoesNotContain("sk-saved-9f8e7d", text);

        var read = Path.Combine(work, "read.ps1");
        File.WriteAllText(read, $$"""
            {{PwshChild.ImportModule}}
            $c = Get-FalConfiguration
            "QUEUE=$($c.QueueUrl)"; "TIMEOUT=$($c.RequestTimeoutSeconds)"; "RETRIES=$($c.MaxRetries)"; "KEY=$($c.ApiKeySource)"; "JOURNAL=$($c.JournalPath)"
            Set-FalConfiguration -MaxRetries 2
            "SESSION=$((Get-FalConfiguration).MaxRetries)"
            """);
        (code, output) = RunChild(read, env);
        Assert.True(code == 0, output);
        Assert.Contains("QUEUE=https://queue.example.test/", output);
        Assert.Contains("TIMEOUT=123", output);
        Assert.Contains("RETRIES=7", output);
        Assert.Contains("KEY=None", output);                 // the key did not survive the session
        Assert.Contains("saved-journal.jsonl", output);
        Assert.Contains("SESSION=2", output);                // the session beats the saved file

        env["FALVIDEO_QUEUE_URL"] = "https://queue.env.test";
        (code, output) = RunChild(read, env);
        Assert.Contains("QUEUE=https://queue.env.test/", output); // environment beats the saved file
        try { Directory.Delete(work, true); } catch (IOException) { }
    }
}
