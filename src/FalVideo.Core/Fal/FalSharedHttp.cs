using System.Net;

namespace FalVideo.Fal;

/// <summary>
/// The process-wide <see cref="HttpClient"/> used when none is injected. One pooled handler for the whole
/// process: a client per call would exhaust sockets, and a PowerShell session creates many clients.
/// </summary>
internal static class FalSharedHttp
{
    private static readonly Lazy<HttpClient> Shared = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shared client; its own timeout is infinite because each attempt has its own.</summary>
    public static HttpClient Client => Shared.Value;

#if NET8_0_OR_GREATER
    private static HttpClient Create() =>
        new(new SocketsHttpHandler
        {
            // Recycled so DNS changes of fal's hosts are picked up in long sessions.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
#else
    private static HttpClient Create()
    {
        NetFrameworkHttp.EnsureTls12();
        return new(new NetFrameworkHttp.ConnectionLimitHandler(new HttpClientHandler
        {
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
        }))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }
#endif
}
