using System.Net;
using System.Text.Json.Nodes;
using FalVideo.Core.Tests.Client;
using FalVideo.Engine;
using FalVideo.Jobs;
using FalVideo.Journal;
using FalVideo.Planning;

namespace FalVideo.Core.Tests.Engine;

/// <summary>The submit service without a runspace: write-ahead before the request, and fal's answer recorded.</summary>
public sealed class JobSubmitterTests : TempStoreTests
{
    private const string Accepted = """
        {"request_id":"req-42","status":"IN_QUEUE","queue_position":3,
         "status_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42/status",
         "response_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42",
         "cancel_url":"http://127.0.0.1:8787/fal-ai/kling-video/requests/req-42/cancel"}
        """;

    [Fact]
    public async Task An_accepted_row_is_written_ahead_then_recorded_with_its_request_id()
    {
        using var t = new TestClient();
        var storedBeforeSend = -1;
        t.Handler.Then((_, _) =>
        {
            // The write-ahead record is in the store when the request leaves.
            storedBeforeSend = _store.ReadJobs().Count;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Accepted) });
        });
        var counts = new Counts();

        var result = await new JobSubmitter(t.Client, _store, 2).SubmitAsync(Plan(), "row-1", "/videos", counts.Guard(), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Accepted, result.Outcome);
        Assert.Equal(1, storedBeforeSend);
        Assert.Null(result.StoreError);
        var stored = Assert.Single(_store.ReadJobs());
        Assert.Equal("req-42", stored.RequestId);
        Assert.Equal(FalJobStatus.InQueue, stored.Status);
        Assert.Equal("row-1", stored.Id);
        Assert.Equal("/videos", stored.SaveDirectory);
        Assert.Equal((1, 1, 1), (counts.Sending, counts.Settled, counts.Accepted));
    }

    [Fact]
    public async Task A_store_that_fails_the_write_ahead_sends_nothing()
    {
        using var t = new TestClient();
        var counts = new Counts();

        var result = await new JobSubmitter(t.Client, new CountingStore { Fail = true }, 2).SubmitAsync(Plan(), null, null, counts.Guard(), CancellationToken.None);

        Assert.Equal(SubmitOutcome.WriteAheadFailed, result.Outcome);
        Assert.IsType<IOException>(result.Error);
        Assert.Empty(t.Handler.Requests);
        Assert.Equal(0, counts.Sending);
    }

    [Fact]
    public async Task A_row_whose_batch_stopped_after_the_write_ahead_is_recorded_rejected_and_not_sent()
    {
        using var t = new TestClient();
        var counts = new Counts { Halted = true };

        var result = await new JobSubmitter(t.Client, _store, 2).SubmitAsync(Plan(), null, null, counts.Guard(), CancellationToken.None);

        Assert.Equal(SubmitOutcome.NotSent, result.Outcome);
        Assert.Empty(t.Handler.Requests);
        Assert.Equal(FalJobStatus.Rejected, Assert.Single(_store.ReadJobs()).Status);
        Assert.Equal((1, 1), (counts.Sending, counts.Settled));
    }

    [Fact]
    public async Task A_refusal_is_rejected_and_a_lost_answer_is_ambiguous()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Respond(StatusCodes.UnprocessableEntity, """{"detail":[{"loc":["body","duration"],"msg":"bad","type":"value_error"}]}""")
            .Throw(new TaskCanceledException("timed out"));
        var submitter = new JobSubmitter(t.Client, _store, 2);

        var refused = await submitter.SubmitAsync(Plan("one"), null, null, new Counts().Guard(), CancellationToken.None);
        var lost = await submitter.SubmitAsync(Plan("two"), null, null, new Counts().Guard(), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Rejected, refused.Outcome);
        Assert.Equal(SubmitOutcome.Ambiguous, lost.Outcome);
        var jobs = _store.ReadJobs();
        Assert.Equal([FalJobStatus.Rejected, FalJobStatus.Unknown], jobs.Select(j => j.Status));
        Assert.All(jobs, j => Assert.Equal("", j.RequestId));
        Assert.Equal(JobState.Ambiguous, JobLifecycle.StateOf(jobs[1]));
    }

    private static VideoRequestPlan Plan(string prompt = "a cat") => new()
    {
        Mode = "text-to-video",
        EndpointId = TestClient.Kling,
        Input = new JsonObject { ["prompt"] = prompt, ["duration"] = "5" },
        Uploads = [],
        Prompt = prompt,
    };

    private sealed class Counts
    {
        public bool Halted { get; init; }
        public int Sending;
        public int Settled;
        public int Accepted;

        public SubmitGuard Guard() => new()
        {
            MayStillSend = () => !Halted,
            Sending = () => Interlocked.Increment(ref Sending),
            Settled = () => Interlocked.Increment(ref Settled),
            Accepted = () => Interlocked.Increment(ref Accepted),
        };
    }
}
