using System.Management.Automation;
using FalVideo.Emulator.Faults;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Faults on <c>POST /{endpoint id}</c>. fal has no idempotency key, so a submit may be resent only when fal provably
/// did not take it (429, a 503 from the ingress, connection refused); anything else is an ambiguous submission:
/// reported with its own error id, journaled as Unknown with its input, never resent.
/// </summary>
public sealed class SubmitFaultTests : FaultTestBase
{
    // Row 2 of each batch goes to kling-v3-standard, so a rule with this path catches exactly that row's submit.
    private const string Row2Path = "/v3/standard/";

    private static string ThreeRows(string tag) =>
        $"@([pscustomobject]@{{ Id = 'r1'; Prompt = '{tag} one'; Duration = '3' }}, " +
        $"[pscustomobject]@{{ Id = 'r2'; Prompt = '{tag} two'; Duration = '3'; Model = 'kling-v3-standard' }}, " +
        $"[pscustomobject]@{{ Id = 'r3'; Prompt = '{tag} three'; Duration = '3' }})";

    private PsResult RunThree(string tag, string newArgs = "") =>
        Ps.Run($"{ThreeRows(tag)} | New-KlingVideo {newArgs} | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);

    [Fact]
    public void A_429_storm_is_waited_out_honouring_Retry_After_and_each_row_is_submitted_once()
    {
        var storm = Inject(new FaultRule { Route = FaultRoute.Submit, StatusCode = 429, RetryAfterSeconds = 1, Times = 2 });
        var r = RunThree("Storm", "-Verbose");
        var waits = r.Verbose.Where(v => v.Contains("after HTTP 429", StringComparison.Ordinal)).ToList();
        var tally = Count();
        ReliabilityRecorder.Record(101, "Submit: 429 storm (2 × 429 with Retry-After: 1)",
            $"{storm.Fired} × 429 answered; each retried after the server's Retry-After ({string.Join(", ", waits.Select(RetryDelay))}); " +
            $"{tally.Accepted} of 3 rows accepted once and saved; {r.Errors.Count} errors", tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(2, storm.Fired);
        Assert.Equal(2, waits.Count);
        Assert.All(waits, w => Assert.Contains(" in 1000 ms after HTTP 429", w)); // Retry-After, not the 50 ms back-off
        Assert.Equal(5, Emulator.Faults.RequestsTo(FaultRoute.Submit));
        tally.AssertNothingLost(accepted: 3);
    }

    [Fact]
    public void A_429_storm_longer_than_the_retries_refuses_the_row_and_sends_the_others()
    {
        var storm = Inject(new FaultRule { Route = FaultRoute.Submit, StatusCode = 429, RetryAfterSeconds = 0, Times = 100, PathContains = Row2Path });
        var r = RunThree("Endless storm");
        var tally = Count();
        ReliabilityRecorder.Record(102, "Submit: 429 storm longer than the retries",
            $"row 2 got {storm.Fired} × 429 (1 try + 3 retries), then a FalRateLimited error and was not sent; " +
            $"rows 1 and 3 accepted and saved; journal holds {Journal().Count} jobs", tally.Lost);

        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalRateLimited,", error.FullyQualifiedErrorId);
        Assert.Contains("Row 2", error.ErrorDetails.Message);
        Assert.Equal(4, storm.Fired);
        // A refused row is not a job to follow (nothing billed); the journal keeps it as Rejected for the record.
        Assert.Equal(2, Journal().Count(j => j.Status.ToString() != "Rejected"));
        Assert.Single(Journal(), j => j.Status.ToString() == "Rejected" && j.RequestId.Length == 0);
        tally.AssertNothingLost(accepted: 2);
    }

    [Fact]
    public void A_503_burst_from_the_ingress_is_retried_and_each_row_is_submitted_once()
    {
        var burst = Inject(new FaultRule { Route = FaultRoute.Submit, StatusCode = 503, Times = 3 });
        var r = RunThree("Ingress");
        var tally = Count();
        ReliabilityRecorder.Record(103, "Submit: 503 burst from the ingress (no x-fal-request-id)",
            $"{burst.Fired} × 503 retried with back-off (fal provably did not take them); {tally.Accepted} of 3 rows accepted once and saved",
            tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(3, burst.Fired);
        tally.AssertNothingLost(accepted: 3);
    }

    private static readonly string[] AmbiguousFaults =
    [
        "503 with x-fal-request-id", "500", "502 HTML page from a proxy", "connection reset before processing",
        "connection reset after processing (job created, answer lost)", "answer cut off mid-body (job created)",
        "malformed JSON 200 (job created)", "answer slower than the per-request timeout (job created)",
    ];

    public static TheoryData<string> AmbiguousCases => new(AmbiguousFaults);

    [Theory]
    [MemberData(nameof(AmbiguousCases))]
    public void An_answer_that_may_hide_an_accepted_job_is_ambiguous_journaled_as_Unknown_and_never_resent(string fault)
    {
        var (rule, created) = fault switch
        {
            "503 with x-fal-request-id" => (new FaultRule { Route = FaultRoute.Submit, StatusCode = 503, RequestIdHeader = true }, false),
            "500" => (new FaultRule { Route = FaultRoute.Submit, StatusCode = 500 }, false),
            "502 HTML page from a proxy" => (new FaultRule
            {
                Route = FaultRoute.Submit, StatusCode = 502, ContentType = "text/html",
                Body = "<html><body><h1>502 Bad Gateway</h1><p>upstream closed the connection</p></body></html>",
            }, false),
            "connection reset before processing" => (new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.ResetBefore }, false),
            "connection reset after processing (job created, answer lost)" => (new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.ResetAfter }, true),
            "answer cut off mid-body (job created)" => (new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.Truncate }, true),
            "malformed JSON 200 (job created)" => (new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.Malformed }, true),
            "answer slower than the per-request timeout (job created)" => (new FaultRule { Route = FaultRoute.Submit, Action = FaultAction.DelayAfter, DelaySeconds = 6 }, true),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        // 3 s: short of the 6 s delay, with room for the other rows' submits on a loaded machine.
        if (rule.Action == FaultAction.DelayAfter) Ps.Run("Set-FalConfiguration -RequestTimeout 3").ThrowIfErrors();
        var armed = Inject(new FaultRule
        {
            Route = rule.Route, Action = rule.Action, StatusCode = rule.StatusCode, RequestIdHeader = rule.RequestIdHeader,
            ContentType = rule.ContentType, Body = rule.Body, DelaySeconds = rule.DelaySeconds, PathContains = Row2Path,
        });

        var r = RunThree("Ambiguous");
        var unknown = Ps.Run("Get-FalJob -Status Unknown");
        var tally = Count();
        var submits = Emulator.Faults.RequestsTo(FaultRoute.Submit);
        ReliabilityRecorder.Record(110 + Array.IndexOf(AmbiguousFaults, fault), $"Submit: {fault}",
            $"row 2 reported as an ambiguous submission ({Ids(r)}), journaled as Unknown with its prompt and input " +
            $"(Get-FalJob -Status Unknown lists {unknown.Output.Count}); {submits} submit requests for 3 rows, none resent; " +
            $"fal {(created ? "had created" : "had not created")} the job; rows 1 and 3 saved", tally.Lost);

        Assert.Equal(1, armed.Fired);
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("FalAmbiguousSubmission,", error.FullyQualifiedErrorId);
        Assert.Contains("Row 2", error.ErrorDetails.Message);
        Assert.Contains("may have been accepted", error.ErrorDetails.Message);
        if (fault.StartsWith("502", StringComparison.Ordinal)) Assert.Contains("502 Bad Gateway", error.ErrorDetails.Message); // the page, readable
        Assert.Equal(3, submits); // nothing resent
        var job = Assert.Single(unknown.Output);
        string Field(string name) => (string)job.Properties[name].Value;
        Assert.Equal("", Field("RequestId"));
        Assert.False(string.IsNullOrEmpty(Field("JournalId")));
        Assert.Equal("Unknown", job.Properties["Status"].Value.ToString());
        Assert.Equal("Ambiguous two", Field("Prompt"));
        Assert.Equal("fal-ai/kling-video/v3/standard/text-to-video", Field("EndpointId"));
        Assert.Contains("\"prompt\":\"Ambiguous two\"", Field("Input"));
        Assert.DoesNotContain(Ps.Run("Get-FalJob -Status InQueue,InProgress").Output, o => (string)o.Properties["Prompt"].Value == "Ambiguous two");
        Assert.Equal(created ? 1 : 0, tally.AmbiguousRecorded);
        tally.AssertNothingLost(accepted: created ? 3 : 2);

        // Nothing can follow a job without a request id: it is reported, not sent anywhere.
        var wait = Ps.Run("Get-FalJob -Status Unknown | Wait-FalJob");
        Assert.StartsWith("FalNoRequestId,", Assert.Single(wait.Errors).FullyQualifiedErrorId);
        Assert.Equal(3, Emulator.Faults.RequestsTo(FaultRoute.Submit));
    }

    private static string RetryDelay(string verboseLine)
    {
        var at = verboseLine.IndexOf(" in ", StringComparison.Ordinal);
        var end = verboseLine.IndexOf(" ms", at + 4, StringComparison.Ordinal);
        return at < 0 || end < 0 ? "?" : verboseLine[(at + 4)..end] + " ms";
    }
}
