using FalVideo.Emulator;
using FalVideo.Emulator.Faults;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// A server that echoes the Authorization header back in a 2xx answer: a failed job whose error text and error_type
/// carry the key, and a result that is not JSON but an echo page. The key must reach neither the ErrorRecords, the
/// -Verbose stream nor the journal file.
/// </summary>
public sealed class EchoedKeyTests : FaultTestBase
{
    private const string KeyId = "fvechoid7Q3xLmZ";
    private const string KeySecret = "fvechosecretVv8pL2";
    private const string Key = KeyId + ":" + KeySecret;

    protected override EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", RequiredApiKey = Key };

    protected override string ApiKey => Key;

    [Fact]
    public void A_2xx_status_and_result_that_echo_the_key_leave_it_in_no_error_verbose_line_or_journal()
    {
        // The first status stream answers with one failed status whose texts quote the header; the first result fetch
        // answers 200 with a plain-text echo page.
        Inject(new FaultRule
        {
            Route = FaultRoute.Stream, StatusCode = 200,
            Body = """{"status": "COMPLETED", "error": "runner saw '{authorization}'", "error_type": "bad {authorization}"}""",
        });
        Inject(new FaultRule { Route = FaultRoute.Result, StatusCode = 200, ContentType = "text/plain", Body = "proxy echo: {authorization}" });

        var run = Ps.Run("""
            $one = New-KlingVideo -Prompt 'Echo one' -Duration 3
            $one | Wait-FalJob -Verbose
            $two = New-KlingVideo -Prompt 'Echo two' -Duration 3
            $two | Wait-FalJob -Verbose
            $Error | ForEach-Object { $_ | Format-List * -Force | Out-String; $_.Exception.ToString() }
            """);

        var errors = string.Join("\n", run.Errors.Select(e => string.Join("\n", e.ToString(), e.ErrorDetails?.Message, e.Exception.ToString())));
        var sources = new Dictionary<string, string>
        {
            ["errors"] = errors,
            ["$Error"] = string.Join("\n", run.Output.Select(o => o.ToString())),
            ["verbose"] = string.Join("\n", run.Verbose),
            ["warnings"] = string.Join("\n", run.Warnings),
            ["journal"] = File.ReadAllText(Ps.JournalPath),
        };
        var leaks = sources.Where(s => new[] { Key, KeyId, KeySecret }.Any(k => s.Value.Contains(k, StringComparison.Ordinal)))
            .Select(s => s.Key).ToList();
        var ids = run.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]).ToList();
        ReliabilityRecorder.Record(703, "Security: 2xx answers that echo the key (a failed job's error and error_type, a non-JSON result body)",
            $"{run.Errors.Count} errors ({string.Join(", ", ids)}), {run.Verbose.Count} verbose lines and the journal searched; the key or a half found in: " +
            $"{(leaks.Count == 0 ? "none" : string.Join(", ", leaks))}", leaks.Count == 0 ? "nothing" : "the key");

        Assert.Empty(leaks);
        Assert.Contains("FalJobFailed", ids);
        Assert.Equal(2, run.Errors.Count);
        Assert.Contains("***", errors, StringComparison.Ordinal);
        Assert.Contains("***", sources["journal"], StringComparison.Ordinal);
        Assert.NotEmpty(run.Verbose);
        Assert.Equal(1, Emulator.Faults.Rules.Count(r => r.Rule.Route == FaultRoute.Result && r.Fired == 1));
    }
}
