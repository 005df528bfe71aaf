using System.Net;
using System.Net.Sockets;
using System.Text;
using FalVideo.Jobs;

namespace FalVideo.Tests.Module;

/// <summary>
/// Save-FalVideo -ThrottleLimit: videos download in parallel up to the limit, counted at a local CDN, and the files
/// still come out in input order when an earlier video is the slowest.
/// </summary>
public sealed class SaveThrottleTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "falvideo-throttle-" + Guid.NewGuid().ToString("N"));
    private readonly PowerShellHost _ps = new(null);

    public SaveThrottleTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _ps.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void At_most_the_limit_download_at_once_and_files_come_out_in_input_order(int limit)
    {
        // Video 1 is large and its first bytes come late; the others are small and quick.
        int[] sizes = [300_000, 20_000, 50_000, 10_000, 40_000, 30_000, 5_000];
        using var cdn = new SlowCdn(sizes, slowIndex: 0, slowDelay: TimeSpan.FromSeconds(1.5));
        var jobs = sizes.Select((size, i) => Job(i, size, cdn.Url(i))).ToArray();

        var r = _ps.Run("$args[0] | Save-FalVideo -Directory $args[1] -ThrottleLimit $args[2] -ApiKey test-key-0123456789", jobs, _dir, limit);

        r.ThrowIfErrors();
        Assert.Equal(jobs.Select(j => j.RequestId), r.Output.Select(o => (string)o.Properties["RequestId"].Value));
        for (var i = 0; i < sizes.Length; i++)
            Assert.Equal(sizes[i], new FileInfo((string)r.Output[i].Properties["Path"].Value).Length);
        Assert.Empty(Directory.GetFiles(_dir, "*.part"));
        Assert.Equal(sizes.Length, cdn.Requests);
        Assert.True(cdn.MaxInFlight <= limit, $"{cdn.MaxInFlight} downloads ran at once with -ThrottleLimit {limit}");
        // With room for more than one, the later videos did not wait for the slow first one.
        if (limit > 1) Assert.True(cdn.MaxInFlight > 1, "the downloads ran one after another");
    }

    [Fact]
    public void The_limit_is_validated()
    {
        var r = _ps.Run("$args[0] | Save-FalVideo -Directory $args[1] -ThrottleLimit 33", Array.Empty<FalJob>(), _dir);
        Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("ParameterArgumentValidationError", StringComparison.Ordinal));
    }

    private static FalJob Job(int i, long size, string url) => new()
    {
        RequestId = $"{i:D8}-0000-4000-8000-000000000000",
        EndpointId = "fal-ai/kling-video/v3/pro/text-to-video",
        Model = "kling-v3-pro",
        Mode = "text-to-video",
        Status = FalJobStatus.Completed,
        VideoUrl = url,
        VideoSize = size,
        VideoFileName = "output.mp4",
        SubmittedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>A CDN on 127.0.0.1 serving /v&lt;i&gt;.mp4 of the given sizes; counts the downloads running at once.</summary>
    private sealed class SlowCdn : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int[] _sizes;
        private readonly int _slowIndex;
        private readonly TimeSpan _slowDelay;
        private int _inFlight;
        private int _maxInFlight;
        private int _requests;

        public SlowCdn(int[] sizes, int slowIndex, TimeSpan slowDelay)
        {
            (_sizes, _slowIndex, _slowDelay) = (sizes, slowIndex, slowDelay);
            _listener.Start();
            _ = AcceptAsync();
        }

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public int Requests => Volatile.Read(ref _requests);

        public string Url(int i) => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v{i}.mp4";

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(); }
                catch (Exception ex) when (ex is ObjectDisposedException or SocketException or InvalidOperationException) { return; }
                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            try
            {
                while (await ReadHeadAsync(stream) is { } head)
                {
                    var path = head.Split(' ')[1];
                    var index = int.Parse(path["/v".Length..^".mp4".Length]);
                    Interlocked.Increment(ref _requests);
                    var now = Interlocked.Increment(ref _inFlight);
                    for (var seen = Volatile.Read(ref _maxInFlight); now > seen; seen = Volatile.Read(ref _maxInFlight))
                        Interlocked.CompareExchange(ref _maxInFlight, now, seen);
                    try
                    {
                        if (index == _slowIndex) await Task.Delay(_slowDelay);
                        else await Task.Delay(150); // long enough for downloads that may overlap to do so
                        var body = new byte[_sizes[index]];
                        var headBytes = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {body.Length}\r\n\r\n");
                        await stream.WriteAsync(headBytes);
                        await stream.WriteAsync(body);
                        await stream.FlushAsync();
                    }
                    finally { Interlocked.Decrement(ref _inFlight); }
                }
            }
            catch (IOException) { }
        }

        private static async Task<string?> ReadHeadAsync(Stream stream)
        {
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(one) == 0) return null;
                head.Append((char)one[0]);
            }
            return head.ToString();
        }
    }
}
