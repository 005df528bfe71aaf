using System.Net;
using System.Text;
using FalVideo.Fal;
using Xunit;

namespace FalVideo.Core.Tests.Client;

/// <summary>
/// Servers that never end what they send: an endless SSE line, a CDN that trickles bytes, a body cut short with no length
/// to check it against. Each must fail with a clear error, bounded in memory and time, and leave no file behind.
/// </summary>
public sealed class HostileServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("falvideo-hostile-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HttpResponseMessage StreamResponse(Stream body, string contentType, long? length = null, bool chunked = false)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        response.Content.Headers.ContentLength = length;
        if (chunked)
        {
            response.Headers.TransferEncodingChunked = true;
        }

        return response;
    }

    [Fact]
    public async Task An_endless_sse_line_fails_with_a_protocol_error_after_about_4_MB()
    {
        using var t = new TestClient();
        var endless = new GeneratedStream(Encoding.ASCII.GetBytes("data: {\"status\":\"IN_PROGRESS\",\"pad\":\""), (byte)'a', long.MaxValue, TimeSpan.Zero);
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(endless, "text/event-stream")));

        var ex = await Assert.ThrowsAsync<FalProtocolException>(async () =>
        {
            await foreach (var _ in t.Client.StreamStatusAsync(TestClient.Handle()))
            {
            }
        });

        Assert.Contains("larger than 4 MB", ex.Message, StringComparison.Ordinal);
        Assert.InRange(endless.Produced, FalJsonMaxBodyBytes, FalJsonMaxBodyBytes + (1 << 20));
    }

    private const int FalJsonMaxBodyBytes = 4 * 1024 * 1024;

    [Fact]
    public async Task Events_each_under_the_cap_pass_even_when_the_stream_is_larger()
    {
        using var t = new TestClient();
        var pad = new string('p', 3 * 1024 * 1024);
        var body = $"data: {{\"status\":\"IN_PROGRESS\",\"pad\":\"{pad}\"}}\r\n\r\n: keep-alive\r\n\r\ndata: {{\"status\":\"COMPLETED\",\"pad\":\"{pad}\"}}\r\n\r\n";
        t.Handler.Respond(HttpStatusCode.OK, body, "text/event-stream");

        var statuses = new List<string>();
        await foreach (var status in t.Client.StreamStatusAsync(TestClient.Handle()))
        {
            statuses.Add(status.RawStatus);
        }

        Assert.Equal(["IN_PROGRESS", "COMPLETED"], statuses);
    }

    [Fact]
    public async Task A_trickling_download_fails_on_the_minimum_rate_and_saves_nothing()
    {
        using var t = new TestClient(o =>
        {
            o.MaxRetries = 0;
            o.DownloadIdleTimeout = TimeSpan.FromMilliseconds(400);
            o.DownloadMinBytesPerSecond = 1000;
        });
        var trickle = new GeneratedStream([], 0x42, long.MaxValue, TimeSpan.FromMilliseconds(20));
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(trickle, "video/mp4", chunked: true)));
        var target = Path.Combine(_dir, "trickle.mp4");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/v.mp4"), target));

        Assert.Contains("too slow", ex.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task A_silent_download_fails_on_the_download_idle_timeout()
    {
        using var t = new TestClient(o =>
        {
            o.MaxRetries = 0;
            o.DownloadIdleTimeout = TimeSpan.FromMilliseconds(300);
        });
        var silent = new GeneratedStream([1, 2, 3], 0, long.MaxValue, Timeout.InfiniteTimeSpan);
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(silent, "video/mp4", chunked: true)));
        var target = Path.Combine(_dir, "silent.mp4");

        var ex = await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/v.mp4"), target));

        Assert.IsType<TimeoutException>(ex.InnerException);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task A_body_without_any_length_is_not_saved_because_its_end_cannot_be_verified()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        var cut = new GeneratedStream([], 0x42, 5000, TimeSpan.Zero);
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(cut, "video/mp4")));
        var target = Path.Combine(_dir, "cut.mp4");

        var ex = await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/v.mp4"), target));

        Assert.Contains("cannot be verified", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task A_chunked_body_or_one_with_a_known_file_size_is_saved()
    {
        using var t = new TestClient();
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(new GeneratedStream([], 0x42, 5000, TimeSpan.Zero), "video/mp4", chunked: true)))
            .Then((_, _) => Task.FromResult(StreamResponse(new GeneratedStream([], 0x42, 5000, TimeSpan.Zero), "video/mp4")));

        Assert.Equal(5000, await t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/a.mp4"), Path.Combine(_dir, "a.mp4")));
        Assert.Equal(5000, await t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/b.mp4"), Path.Combine(_dir, "b.mp4"), expectedSize: 5000));
    }

    [Fact]
    public async Task A_body_shorter_than_its_content_length_is_not_saved()
    {
        using var t = new TestClient(o => o.MaxRetries = 0);
        t.Handler.Then((_, _) => Task.FromResult(StreamResponse(new GeneratedStream([], 0x42, 3000, TimeSpan.Zero), "video/mp4", length: 5000)));
        var target = Path.Combine(_dir, "short.mp4");

        await Assert.ThrowsAsync<FalDownloadException>(
            () => t.Client.DownloadFileAsync(new Uri("http://127.0.0.1:9/v.mp4"), target));

        Assert.False(File.Exists(target));
    }
}

/// <summary>A non-seekable body: a prefix, then <c>fill</c> bytes up to <c>total</c>, one byte per <c>delay</c> when a
/// delay is given (infinite: the prefix, then silence). Counts what it produced.</summary>
internal sealed class GeneratedStream(byte[] prefix, byte fill, long total, TimeSpan delay) : Stream
{
    private long _position;

    public long Produced => Interlocked.Read(ref _position);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var position = Produced;
        if (position >= prefix.Length && delay != TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            count = Math.Min(count, 1);
        }

        var n = 0;
        while (n < count && position + n < total)
        {
            var at = position + n;
            buffer[offset + n] = at < prefix.Length ? prefix[at] : fill;
            n++;
            if (at + 1 == prefix.Length && delay != TimeSpan.Zero)
            {
                break;
            }
        }

        Interlocked.Add(ref _position, n);
        return n;
    }

#if NET8_0_OR_GREATER
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var array = new byte[buffer.Length];
        var n = await ReadAsync(array, 0, array.Length, cancellationToken).ConfigureAwait(false);
        array.AsSpan(0, n).CopyTo(buffer.Span);
        return n;
    }
#endif

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
