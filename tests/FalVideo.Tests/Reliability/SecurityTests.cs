using System.Management.Automation;
using System.Net;
using System.Security;
using System.Text;
using FalVideo.Emulator;
using FalVideo.Emulator.Faults;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// The API key never appears anywhere a user, a log or a file could show it: a whole batch runs with -Verbose and
/// -Debug, with a 401, a 422, a failed job and an ambiguous submit whose error body echoes the key, and every stream,
/// every exception's ToString(), the journal and the CSV report are searched for it.
/// </summary>
public sealed class SecurityTests : FaultTestBase
{
    // An id:secret key, like FAL_KEY_ID + FAL_KEY_SECRET: each half must stay hidden on its own too.
    private const string KeyId = "fvkid7Q3xLmZ9Wc";
    private const string KeySecret = "fvsecretVv8pL2mNq4Rt";
    private const string Key = KeyId + ":" + KeySecret;
    private const string WrongKey = "fvwrongK2j8Hd7Ws5PqZ";

    protected override EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", RequiredApiKey = Key };

    protected override string ApiKey => Key;

    [Fact]
    public async Task The_key_never_appears_in_any_stream_exception_journal_or_report()
    {
        // The session key given as a SecureString; the wrong key later as plain text: both forms are accepted.
        using var secure = new NetworkCredential("", Key).SecurePassword;
        Ps.Run("Set-FalConfiguration -ApiKey $args[0]", secure).ThrowIfErrors();
        // The queue answers one submit with a 500 whose body quotes the Authorization header back.
        var echo = $"{{\"detail\": \"upstream rejected 'Authorization: Key {Key}' (id {KeyId}, secret {KeySecret})\"}}";
        Inject(new FaultRule { Route = FaultRoute.Submit, StatusCode = 500, Body = echo, PathContains = "/v3/standard/" });
        Inject(new FaultRule { Route = FaultRoute.Stream, StatusCode = 503, Body = echo, Times = 2 });
        var missingImage = new Uri(Emulator.BaseUrl, "/cdn/uploads/nope/missing.png").ToString();
        var report = Path.Combine(Temp, "report.csv");

        Ps.TakeHostText();
        var (shell, handle, output) = Begin("""
            param($out, $report, $missingImage, $wrongKey, $secure)
            $DebugPreference = 'Continue'
            $rows = @(
                [pscustomobject]@{ Id = 'ok1'; Prompt = 'Secure one'; Duration = '3' },
                [pscustomobject]@{ Id = 'fails'; Prompt = 'Secure failure [emulator:fail]'; Duration = '3' },
                [pscustomobject]@{ Id = 'ambiguous'; Prompt = 'Secure ambiguous'; Duration = '3'; Model = 'kling-v3-standard' },
                [pscustomobject]@{ Id = 'v422'; Prompt = 'Secure 422'; StartImage = $missingImage },
                [pscustomobject]@{ Id = 'ok2'; Prompt = 'Secure two'; Duration = '3' })
            $rows | New-KlingVideo -Verbose -Debug | Wait-FalJob -Verbose -Debug | Save-FalVideo -Directory $out -Verbose -Debug |
                Export-Csv $report -NoTypeInformation
            New-KlingVideo -Prompt 'Wrong key' -Duration 3 -ApiKey $wrongKey -Verbose -Debug
            Get-FalJob -Status Completed | Select-Object -First 1 | Get-FalJob -ApiKey $secure -Verbose
            Get-FalConfiguration | Format-List * | Out-String
            Get-FalJob | ConvertTo-Json -Depth 4
            $Error | ForEach-Object { $_ | Format-List * -Force | Out-String; $_.Exception.ToString() }
            """, OutDir, report, missingImage, WrongKey, secure);
        using var _ = shell;
        await Task.Run(() => shell.EndInvoke(handle)).WaitAsync(TimeSpan.FromSeconds(60));

        var errors = shell.Streams.Error.ToList();
        var sources = new Dictionary<string, string>
        {
            ["output"] = string.Join("\n", output.Select(o => o.ToString() + "\n" + string.Join("\n", o.Properties.Select(p => $"{p.Name}={SafeValue(p)}")))),
            ["errors"] = string.Join("\n", errors.Select(e => string.Join("\n", e.ToString(), e.ErrorDetails?.Message, e.TargetObject, e.CategoryInfo, e.FullyQualifiedErrorId))),
            ["exceptions"] = string.Join("\n", errors.Select(e => e.Exception.ToString())),
            ["warnings"] = string.Join("\n", shell.Streams.Warning.Select(w => w.Message)),
            ["verbose"] = string.Join("\n", shell.Streams.Verbose.Select(v => v.Message)),
            ["debug"] = string.Join("\n", shell.Streams.Debug.Select(d => d.Message)),
            ["information"] = string.Join("\n", shell.Streams.Information.Select(i => i.ToString())),
            ["progress"] = string.Join("\n", shell.Streams.Progress.Select(p => $"{p.Activity} {p.StatusDescription} {p.CurrentOperation}")),
            ["host"] = Ps.TakeHostText(),
            ["journal"] = File.ReadAllText(Ps.JournalPath),
            ["report"] = File.Exists(report) ? File.ReadAllText(report) : "",
        };
        var leaks = sources.Where(s => new[] { Key, KeyId, KeySecret, WrongKey }.Any(k => s.Value.Contains(k, StringComparison.Ordinal)))
            .Select(s => s.Key).ToList();
        var searched = sources.Sum(s => s.Value.Length);
        ReliabilityRecorder.Record(701, "Security: an id:secret key through a batch with -Verbose/-Debug, a 401, a 422, a failed job and error bodies that echo the key",
            $"{searched:N0} characters searched (output, {errors.Count} errors and their exceptions' ToString(), warnings, {shell.Streams.Verbose.Count} verbose and " +
            $"{shell.Streams.Debug.Count} debug lines, host, journal, CSV report); the key, either half or the wrong key found in: " +
            $"{(leaks.Count == 0 ? "none" : string.Join(", ", leaks))}", leaks.Count == 0 ? "nothing" : "the key");

        Assert.Empty(leaks); // only the names of the places, never the key itself, reach the test log
        var ids = errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]).ToList();
        Assert.Contains("FalAmbiguousSubmission", ids);
        Assert.Contains("FalValidationFailed", ids);
        Assert.Contains("FalJobFailed", ids);
        Assert.Contains("FalUnauthorized", ids);
        Assert.Contains("***", sources["errors"]);                          // the echoed key was there, masked
        Assert.Contains("POST", sources["verbose"]);                        // the verbose stream really was on
        Assert.Equal(["ok1", "ok2"], Ps.Run("Import-Csv $args[0] | ForEach-Object Id", report).Output.Select(o => o.ToString()).Order()); // saved, reported
        Assert.Contains(output, o => o.BaseObject is string s && s.Contains("ApiKeySource", StringComparison.Ordinal));
        Assert.Equal(3, Emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public void ApiKey_takes_a_SecureString_or_plain_text_and_plain_http_is_only_for_loopback()
    {
        using var secure = new NetworkCredential("", Key).SecurePassword;
        Ps.Run("Set-FalConfiguration -Reset; Set-FalConfiguration -BaseUrl $args[0] -RetryBaseDelay 0.05", Emulator.BaseUrl.ToString()).ThrowIfErrors();
        var bySecure = Ps.Run("New-KlingVideo -Prompt 'Secure string key' -Duration 3 -ApiKey $args[0]", secure);
        var byText = Ps.Run("New-KlingVideo -Prompt 'Plain text key' -Duration 3 -ApiKey $args[0]", Key);
        var remoteHttp = Ps.Run("Set-FalConfiguration -BaseUrl 'http://example.com:8080'");
        var acceptedBeforeNext = Emulator.State.AcceptedSubmissions;
        var queueUrl = Ps.Run("(Get-FalConfiguration).QueueUrl").Output.Single().ToString();
        // The refused URL is not kept: the next submission goes where the session pointed before.
        var nextSubmit = Ps.Run("New-KlingVideo -Prompt 'Sent to the emulator' -Duration 3 -ApiKey $args[0]", Key);
        ReliabilityRecorder.Record(702, "Security: -ApiKey as SecureString and as plain text; a plain-http remote base URL",
            $"both key forms authenticated ({bySecure.Output.Count + byText.Output.Count} of 2 submissions accepted); http://example.com was refused " +
            $"({Ids(remoteHttp)}) and not kept: the session stayed on {queueUrl} and its next submission went there", "nothing");

        bySecure.ThrowIfErrors();
        byText.ThrowIfErrors();
        Assert.Equal(2, acceptedBeforeNext);
        Assert.StartsWith("FalConfiguration,", Assert.Single(remoteHttp.Errors).FullyQualifiedErrorId);
        Assert.Equal(Emulator.BaseUrl.ToString().TrimEnd('/'), queueUrl.TrimEnd('/'));
        nextSubmit.ThrowIfErrors();
        Assert.Equal(3, Emulator.State.AcceptedSubmissions);
    }

    private static string SafeValue(PSPropertyInfo property)
    {
        try { return property.Value?.ToString() ?? ""; }
        catch (Exception ex) when (ex is GetValueException or ExtendedTypeSystemException) { return ""; }
    }
}
