using FalVideo.Emulator.Faults;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Faults while waiting (the SSE status stream, the polled status) and while fetching results. These calls are safe
/// to repeat, so transient faults are retried and the batch goes on; what can't be retried (a malformed body, a final
/// 504, retries used up) is one clear error for that job, which stays in the journal and is picked up again from it.
/// </summary>
public sealed class StatusAndResultFaultTests : FaultTestBase
{
    private const string Sse = "text/event-stream";

    // Jobs that take half a second, so a status stream has more than one event to send.
    private const string HalfSecond = "[emulator:seconds=0.5]";

    // Enough runners that no job of a batch waits in the queue.
    protected override FalVideo.Emulator.EmulatorOptions EmulatorOptions => new() { Urls = "http://127.0.0.1:0", Concurrency = 8 };

    private sealed record Case(int Order, string Fault, bool Polling, FaultRule Rule, double? Timeout = null, string WaitArgs = "");

    private static readonly Case[] Recoverable =
    [
        new(201, "Status stream: 500 burst (3 ×)", false, new() { Route = FaultRoute.Stream, StatusCode = 500, Times = 3 }),
        new(202, "Status stream: 503 burst from fal's queue (3 ×, with x-fal-request-id)", false, new() { Route = FaultRoute.Stream, StatusCode = 503, RequestIdHeader = true, Times = 3 }),
        new(203, "Status stream: 429 with Retry-After: 1", false, new() { Route = FaultRoute.Stream, StatusCode = 429, RetryAfterSeconds = 1 }),
        new(204, "Status stream: connection reset before the answer (2 ×)", false, new() { Route = FaultRoute.Stream, Action = FaultAction.ResetBefore, Times = 2 }),
        new(205, "Status stream: connection reset after the first event (2 ×)", false, new() { Route = FaultRoute.Stream, Action = FaultAction.ResetAfter, Times = 2 }),
        new(206, "Status stream: event that is not JSON", false, new() { Route = FaultRoute.Stream, Action = FaultAction.Malformed }),
        new(207, "Status stream: unknown status string", false, new() { Route = FaultRoute.Stream, StatusCode = 200, ContentType = Sse, Body = "data: {\"status\": \"WARMING_UP\"}\n\n" }),
        new(208, "Status stream: no answer within the per-request timeout", false, new() { Route = FaultRoute.Stream, Action = FaultAction.DelayBefore, DelaySeconds = 6 }, Timeout: 2),
        new(211, "Status poll: 503 burst (3 ×)", true, new() { Route = FaultRoute.Status, StatusCode = 503, Times = 3 }),
        new(212, "Status poll: 408 (2 ×)", true, new() { Route = FaultRoute.Status, StatusCode = 408, Times = 2 }),
        new(213, "Status poll: connection reset (2 ×)", true, new() { Route = FaultRoute.Status, Action = FaultAction.ResetBefore, Times = 2 }),
        new(214, "Status poll: unknown status string", true, new() { Route = FaultRoute.Status, StatusCode = 200, Body = "{\"status\": \"WARMING_UP\", \"queue_position\": \"soon\"}" }),
        new(215, "Status poll: body without any field", true, new() { Route = FaultRoute.Status, StatusCode = 200, Body = "{}" }),
        new(221, "Result: 503 burst (3 ×)", false, new() { Route = FaultRoute.Result, StatusCode = 503, Times = 3 }),
        new(222, "Result: 502 HTML page from a proxy (2 ×)", false, new() { Route = FaultRoute.Result, StatusCode = 502, ContentType = "text/html", Body = "<html><h1>502 Bad Gateway</h1></html>", Times = 2 }),
        new(223, "Result: connection reset (2 ×)", false, new() { Route = FaultRoute.Result, Action = FaultAction.ResetBefore, Times = 2 }),
        new(224, "Result: answer cut off mid-body (2 ×)", false, new() { Route = FaultRoute.Result, Action = FaultAction.Truncate, Times = 2 }),
        new(225, "Result: no answer within the per-request timeout", false, new() { Route = FaultRoute.Result, Action = FaultAction.DelayBefore, DelaySeconds = 6 }, Timeout: 2),
        new(226, "Result: 200 without the video field", false, new() { Route = FaultRoute.Result, StatusCode = 200, Body = "{}" }),
    ];

    public static TheoryData<string> RecoverableCases => new(Recoverable.Select(c => c.Fault));

    [Theory]
    [MemberData(nameof(RecoverableCases))]
    public void A_transient_fault_while_waiting_is_retried_and_the_batch_completes(string fault)
    {
        var c = Recoverable.Single(x => x.Fault == fault);
        Arrange(c);
        var armed = Inject(c.Rule);

        var rows = Rows(3, "Waiting", c.Rule.Action == FaultAction.ResetAfter ? HalfSecond : "");
        // A short per-request timeout is the fault's point only while waiting: the rows are submitted with the usual
        // one first, so a loaded machine answering a submit slowly can't make it an ambiguous submission instead.
        var r = c.Timeout is { } t
            ? RunBatch(3, "Waiting", script: $"$jobs = @({rows} | New-KlingVideo); Set-FalConfiguration -RequestTimeout {t}; " +
                                             "$jobs | Wait-FalJob | Save-FalVideo -Directory $args[0]")
            : RunBatch(3, "Waiting", script: $"{rows} | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory $args[0]");
        var tally = Count();
        ReliabilityRecorder.Record(c.Order, fault,
            $"{armed.Fired} fault(s) injected; {Recovery(c)}; {r.Output.Count} of 3 videos saved, {r.Errors.Count} errors", tally.Lost);

        r.ThrowIfErrors();
        Assert.Equal(c.Rule.Times, armed.Fired);
        Assert.Equal(3, r.Output.Count);
        tally.AssertNothingLost(accepted: 3);
    }

    private static readonly Case[] JobErrors =
    [
        new(231, "Status poll: malformed JSON body", true, new() { Route = FaultRoute.Status, Action = FaultAction.Malformed }),
        new(232, "Result: malformed JSON body", false, new() { Route = FaultRoute.Result, Action = FaultAction.Malformed }),
        new(233, "Result: body over the 4 MB limit", false, new() { Route = FaultRoute.Result, StatusCode = 200, Body = "{\"video\": \"" + new string('x', 5 * 1024 * 1024) + "\"}" }),
        new(234, "Result: 504 with X-Fal-Request-Timeout-Type: user (final)", false, new() { Route = FaultRoute.Result, StatusCode = 504, TimeoutType = "user" }),
        // One job at a time, so all four 503s hit the same job.
        new(235, "Result: 503 burst longer than the retries (4 ×)", false, new() { Route = FaultRoute.Result, StatusCode = 503, Times = 4 }, WaitArgs: "-ThrottleLimit 1"),
    ];

    public static TheoryData<string> JobErrorCases => new(JobErrors.Select(c => c.Fault));

    [Theory]
    [MemberData(nameof(JobErrorCases))]
    public void A_fault_that_cannot_be_retried_is_one_clear_error_and_the_job_resumes_from_the_journal(string fault)
    {
        var c = JobErrors.Single(x => x.Fault == fault);
        Arrange(c);
        var armed = Inject(c.Rule);

        var r = Ps.Run($"{Rows(3, "Stuck")} | New-KlingVideo | Wait-FalJob {c.WaitArgs} | Save-FalVideo -Directory $args[0]", OutDir);
        var resultCalls = Emulator.Faults.RequestsTo(FaultRoute.Result);
        var marked = Ps.Run("Get-FalJob | Where-Object LastError | ForEach-Object RequestId");
        var resumed = Ps.Run("Get-FalJob | Where-Object LastError | Wait-FalJob | Save-FalVideo -Directory $args[0]", OutDir);
        var tally = Count();
        var error = r.Errors.FirstOrDefault();
        ReliabilityRecorder.Record(c.Order, fault,
            $"{armed.Fired} fault(s) injected; one job got {Ids(r)} (\"{ReliabilityRecorder.Gist(error?.ErrorDetails?.Message)}\"), the other 2 were saved; " +
            $"{resultCalls} result requests for 3 jobs; the journal kept the job with its error; " +
            $"Get-FalJob | Where-Object LastError | Wait-FalJob | Save-FalVideo saved {resumed.Output.Count} more", tally.Lost);

        Assert.NotNull(error);
        Assert.Single(r.Errors);
        Assert.Equal(2, r.Output.Count);
        var expectedId = c.Rule.StatusCode switch { 504 or 503 when c.Rule.Action == FaultAction.Respond => "FalServerError", _ => "FalProtocolError" };
        Assert.StartsWith(expectedId + ",", error.FullyQualifiedErrorId);
        Assert.Contains("stays in the journal", error.ErrorDetails.Message);
        Assert.Contains("Wait-FalJob", error.ErrorDetails.Message);
        if (c.Rule.TimeoutType == "user") Assert.Equal(3, resultCalls); // final: never retried
        if (c.Rule.Times == 4) Assert.Equal(3 + 3, resultCalls);          // 1 try + 3 retries for the unlucky job
        Assert.Single(marked.Output);
        resumed.ThrowIfErrors();
        Assert.Single(resumed.Output);
        Assert.Empty(Ps.Run("Get-FalJob | Where-Object LastError").Output);
        tally.AssertNothingLost(accepted: 3);
    }

    private void Arrange(Case c)
    {
        // A server without the stream endpoint: waiting falls back to polling at once.
        if (c.Polling) Inject(new FaultRule { Route = FaultRoute.Stream, StatusCode = 405, Times = 1000 });
    }

    private static string Recovery(Case c) => c.Rule switch
    {
        { Route: FaultRoute.Stream, Action: FaultAction.ResetAfter or FaultAction.Malformed } => "the status stream was reopened",
        { Route: FaultRoute.Stream, StatusCode: 200 } => "the unknown status was shown as Unknown and the stream reopened",
        { Route: FaultRoute.Status, StatusCode: 200 } => "the status read as Unknown and polling went on",
        { Route: FaultRoute.Result, StatusCode: 200 } => "Wait-FalJob emitted the job without a video URL; Save-FalVideo fetched the result again",
        { Action: FaultAction.DelayBefore } => $"the attempt timed out after {c.Timeout} s and was retried",
        { RetryAfterSeconds: { } s } => $"retried after the server's Retry-After ({s} s)",
        _ => "retried with back-off",
    };
}
