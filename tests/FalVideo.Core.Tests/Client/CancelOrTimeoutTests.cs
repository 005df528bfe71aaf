using System.Net;
using FalVideo.Fal;

namespace FalVideo.Core.Tests.Client;

/// <summary>
/// A caller's cancel is always reported as a cancel and only the attempt's own timer as a timeout, however the HTTP
/// stack ends the request: .NET Framework closes the stream of a cancelled request (a read in progress then fails with
/// ObjectDisposedException or IOException), and its failure can surface before the caller's token reads cancelled on
/// the failing thread. No retries, so the outcome is the sender's own classification.
/// </summary>
public sealed class CancelOrTimeoutTests
{
    private static TestClient NewClient(TimeSpan? timeout = null) => new(o =>
    {
        o.MaxRetries = 0;
        o.RequestTimeout = timeout ?? TimeSpan.FromSeconds(30);
    });

    /// <summary>A handler step that fails with <paramref name="failure"/> when the request's token is cancelled.</summary>
    private static Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> FailsOnCancel(Func<Exception> failure, Action started) =>
        async (_, token) =>
        {
            var ended = new TaskCompletionSource<HttpResponseMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (token.Register(() => ended.TrySetException(failure())))
            {
                started();
                return await ended.Task.ConfigureAwait(false);
            }
        };

    public static TheoryData<string> Teardowns => new() { "ObjectDisposedException", "IOException", "HttpRequestException" };

    private static Exception Teardown(string name) => name switch
    {
        "ObjectDisposedException" => new ObjectDisposedException("System.Net.Sockets.NetworkStream"),
        "IOException" => new IOException("Unable to read data from the transport connection: the connection was closed."),
        _ => new HttpRequestException("Error while copying content to a stream.", new IOException("closed")),
    };

    [Theory]
    [MemberData(nameof(Teardowns))]
    public async Task A_cancel_that_tears_the_request_down_is_reported_as_a_cancel(string teardown)
    {
        using var t = NewClient();
        using var cts = new CancellationTokenSource();
        t.Handler.Then(FailsOnCancel(() => Teardown(teardown), () => cts.CancelAfter(TimeSpan.FromMilliseconds(20))));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Client.GetStatusAsync(TestClient.Handle(), ct: cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
        var causes = new List<string>();
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException) causes.Add(inner.GetType().Name);
        // Mono's HttpClient replaces an HttpRequestException raised after a cancel by a cancellation of its own.
        if (teardown != "HttpRequestException" || Type.GetType("Mono.Runtime") is null) Assert.Contains(teardown, causes);
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task A_cancel_that_surfaces_before_the_callers_token_reads_cancelled_is_not_a_timeout()
    {
        using var t = NewClient();
        using var cts = new CancellationTokenSource();
        // The stack reports the request cancelled (as .NET Framework does when a cancel callback aborted it) while the
        // caller's token has not been seen cancelled yet on this thread; the cancel lands right after.
        t.Handler.Then((_, _) =>
        {
            _ = Task.Delay(TimeSpan.FromMilliseconds(50)).ContinueWith(_ => cts.Cancel(), TaskScheduler.Default);
            return Task.FromException<HttpResponseMessage>(new TaskCanceledException("The request was canceled."));
        });

        var ex = await Record.ExceptionAsync(() => t.Client.GetStatusAsync(TestClient.Handle(), ct: cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.DoesNotContain(t.Log, line => line.Contains("timed out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_the_attempts_own_timer_is_a_timeout()
    {
        using var t = NewClient(TimeSpan.FromMilliseconds(100));
        t.Handler.Hang();

        var error = await Assert.ThrowsAsync<FalNetworkException>(() => t.Client.GetStatusAsync(TestClient.Handle()));

        var timeout = Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("got no answer within 0.1 seconds", timeout.Message);
        Assert.Contains(t.Log, line => line.Contains("timed out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cancel_while_a_body_is_read_into_memory_is_a_cancel()
    {
        using var t = NewClient();
        using var cts = new CancellationTokenSource();
        var body = new StallingStream(() => cts.CancelAfter(TimeSpan.FromMilliseconds(20)));
        t.Handler.Then((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) }));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Client.GetStatusAsync(TestClient.Handle(), ct: cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.True(body.Disposed, "the body's read was never cancelled");
    }

    /// <summary>A body that sends one byte, then waits; cancelling its read closes it, as .NET Framework's streams do.</summary>
    private sealed class StallingStream(Action firstRead) : Stream
    {
        private int _reads;

        public bool Disposed { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _reads) == 1)
            {
                buffer[offset] = (byte)'{';
                firstRead();
                return 1;
            }

            var closed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() =>
            {
                Disposed = true;
                closed.TrySetException(new ObjectDisposedException(nameof(StallingStream)));
            }))
            {
                return await closed.Task.ConfigureAwait(false);
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
