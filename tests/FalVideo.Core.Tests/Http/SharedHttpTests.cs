using System.Diagnostics;
using System.Net;
using System.Text;
using FalVideo.Fal;

[assembly: AssemblyFixture(typeof(FalVideo.Core.Tests.Http.StartingProtocols))]

namespace FalVideo.Core.Tests.Http;

/// <summary>
/// The HTTP stack the module uses when no client is injected (FalSharedHttp: SocketsHttpHandler on .NET, HttpClientHandler
/// over ServicePointManager on .NET Framework), against a real server on 127.0.0.1. Through the public
/// <see cref="FalQueueClient"/> with no <see cref="HttpClient"/> given, as the module calls it.
/// </summary>
[Collection(nameof(SharedHttpCollection))]
public sealed class SharedHttpTests(StartingProtocols starting)
{
    private readonly StartingProtocols _starting = starting;

    private const int Parallel = 8;

    private static FalQueueClient NewClient() => new(new FalClientOptions
    {
        RequestTimeout = TimeSpan.FromSeconds(30),
        MaxRetries = 0,
    });

    [Fact]
    public async Task More_than_two_requests_to_one_host_are_in_flight_at_once()
    {
        // Each request is held until all of them have arrived, or 4 s have passed: with a limit of 2 connections per
        // host (.NET Framework's default) at most 2 would ever be waiting here together.
        var arrived = 0;
        var all = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new LoopbackServer(async (stream, _, stop) =>
        {
            if (Interlocked.Increment(ref arrived) == Parallel) all.TrySetResult(true);
            await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(4), stop)).ConfigureAwait(false);
            var body = Encoding.ASCII.GetBytes("ok");
            var head = LoopbackServer.Head("200 OK", "Content-Type: application/octet-stream", $"Content-Length: {body.Length}", "Connection: close");
            await stream.WriteAsync(head, 0, head.Length, stop).ConfigureAwait(false);
            await stream.WriteAsync(body, 0, body.Length, stop).ConfigureAwait(false);
        });
        using var client = NewClient();
        var folder = TempFolder();

        var downloads = Enumerable.Range(0, Parallel)
            .Select(i => client.DownloadFileAsync(new Uri(server.BaseUrl, $"file{i}.bin"), Path.Combine(folder, $"file{i}.bin"), 2))
            .ToArray();
        var sizes = await Task.WhenAll(downloads);

        Assert.All(sizes, size => Assert.Equal(2, size));
        Assert.Equal(Parallel, server.Requests);
        Assert.Equal(Parallel, server.MaxInFlight);
#if NETFRAMEWORK
        // The limit the module raises per host: on loopback the stack may not apply it (Mono does not; .NET Framework
        // exempts loopback), so it is checked where it is set as well as at the server.
        Assert.Equal(int.MaxValue, ServicePointManager.FindServicePoint(server.BaseUrl).ConnectionLimit);
#endif
    }

    [Fact]
    public async Task Cancelling_ends_a_streamed_read_in_progress_promptly()
    {
        // The server sends a head promising 10 MB, one chunk, then nothing: the client's next read is left pending.
        using var server = new LoopbackServer(async (stream, _, stop) =>
        {
            var head = LoopbackServer.Head("200 OK", "Content-Type: application/octet-stream", "Content-Length: 10000000");
            await stream.WriteAsync(head, 0, head.Length, stop).ConfigureAwait(false);
            var chunk = new byte[64 * 1024];
            await stream.WriteAsync(chunk, 0, chunk.Length, stop).ConfigureAwait(false);
            await stream.FlushAsync(stop).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(60), stop).ConfigureAwait(false);
        });
        using var client = NewClient();
        using var cts = new CancellationTokenSource();
        var cancelledAt = new Stopwatch();
        cts.Token.Register(cancelledAt.Start);
        long received = 0;
        var target = Path.Combine(TempFolder(), "large.bin");

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadFileAsync(
            new Uri(server.BaseUrl, "large.bin"), target, null,
            (bytes, _) =>
            {
                // Cancel once data has flowed and the stream is waiting for more.
                if (Interlocked.Exchange(ref received, bytes) == 0) cts.CancelAfter(TimeSpan.FromMilliseconds(500));
            },
            cts.Token));

        Assert.True(Interlocked.Read(ref received) > 0, "no byte of the body arrived before the cancellation");
        Assert.True(cancelledAt.IsRunning, "the token was never cancelled: " + ex.Message);
        Assert.True(cancelledAt.Elapsed < TimeSpan.FromSeconds(3),
            $"the read ended {cancelledAt.Elapsed.TotalSeconds:0.00} s after the cancellation (total {clock.Elapsed.TotalSeconds:0.00} s)");
        Assert.False(File.Exists(target));
    }

#if NETFRAMEWORK
    [Fact]
    public void Tls12_is_allowed_once_the_shared_client_exists()
    {
        // StartingProtocols set TLS 1.0 only, powershell.exe's default on machines that enable nothing newer.
        using var client = NewClient();

        var protocols = ServicePointManager.SecurityProtocol;
        Assert.True(protocols == SecurityProtocolType.SystemDefault || (protocols & SecurityProtocolType.Tls12) != 0, protocols.ToString());
        if (_starting.Before is { } before && before != SecurityProtocolType.SystemDefault)
        {
            // Added to what the process allowed, nothing taken away.
            Assert.Equal(before | SecurityProtocolType.Tls12, protocols);
        }
    }
#endif

    private static string TempFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"falvideo-http-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }
}

/// <summary>The shared client is process-wide: the tests that create it run one at a time (every other test injects its
/// own <see cref="HttpClient"/>). <see cref="StartingProtocols"/> is an assembly fixture, so it is in place before any
/// test of any collection can create the shared client.</summary>
[CollectionDefinition(nameof(SharedHttpCollection))]
public sealed class SharedHttpCollection;

/// <summary>
/// On .NET Framework, sets <see cref="ServicePointManager.SecurityProtocol"/> to TLS 1.0 alone before the shared client
/// is created (Windows PowerShell 5.1's default on a machine with no strong-crypto setting), so the test sees whether
/// the module adds TLS 1.2. A fixture, not a module initializer: Mono cannot read its configuration that early.
/// </summary>
public sealed class StartingProtocols
{
#if NETFRAMEWORK
    public StartingProtocols()
    {
        try
        {
            ServicePointManager.SecurityProtocol = SecurityProtocolType.Tls;
            Before = ServicePointManager.SecurityProtocol;
        }
        catch (NotSupportedException)
        {
            Before = null;
        }
    }

    /// <summary>What the process allowed before the shared client existed, or null when TLS 1.0 alone was refused.</summary>
    public SecurityProtocolType? Before { get; }
#endif
}
