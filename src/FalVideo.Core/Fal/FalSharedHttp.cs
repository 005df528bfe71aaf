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

    private static HttpClient Create() => new(CreateHandler(SystemProxy())) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The handler of the shared client; <paramref name="systemProxy"/> is used for every host but loopback
    /// ones (see <see cref="LoopbackBypassProxy"/>). Tests pass their own proxy: the process's is read only once.</summary>
    internal static HttpMessageHandler CreateHandler(IWebProxy? systemProxy)
    {
#if NET8_0_OR_GREATER
        return new SocketsHttpHandler
        {
            // Recycled so DNS changes of fal's hosts are picked up in long sessions.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            Proxy = new LoopbackBypassProxy(systemProxy),
            UseProxy = true,
        };
#else
        NetFrameworkHttp.EnsureTls12();
        return new NetFrameworkHttp.ConnectionLimitHandler(new HttpClientHandler
        {
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
            Proxy = new LoopbackBypassProxy(systemProxy),
            UseProxy = true,
        });
#endif
    }

#if NET8_0_OR_GREATER
    private static IWebProxy SystemProxy() => HttpClient.DefaultProxy;
#else
    private static IWebProxy? SystemProxy() => WebRequest.DefaultWebProxy;
#endif
}
