using System.Net;
using System.Reflection;
using System.Text;
using FalVideo.Fal;

namespace FalVideo.Core.Tests.Http;

/// <summary>
/// The shared handler (the one every cmdlet uses) never sends a loopback request through the system proxy, on this
/// runtime's own stack, and still sends remote ones through it. The process's proxy (HTTP_PROXY on .NET and Mono) is read
/// once per process, so the test hands the handler factory a proxy of its own: a listener that counts connections.
/// </summary>
// Creates the process-wide client (or its handler, which sets TLS on .NET Framework): it runs with the other shared-client tests.
[Collection(nameof(SharedHttpCollection))]
public sealed class LoopbackProxyTests
{
    private static readonly byte[] Ok = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    private static readonly byte[] BadGateway = Encoding.ASCII.GetBytes("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    private static HttpMessageHandler SharedHandler(IWebProxy systemProxy)
    {
        var factory = typeof(FalQueueClient).Assembly.GetType("FalVideo.Fal.FalSharedHttp", throwOnError: true)!
            .GetMethod("CreateHandler", BindingFlags.Static | BindingFlags.NonPublic)!;
        return (HttpMessageHandler)factory.Invoke(null, [systemProxy])!;
    }

    private static LoopbackServer Answering(byte[] response) =>
        new(async (stream, _, stop) => await stream.WriteAsync(response, 0, response.Length, stop).ConfigureAwait(false));

    [Fact]
    public async Task Loopback_requests_bypass_the_system_proxy_and_remote_ones_use_it()
    {
        using var proxy = Answering(BadGateway);
        using var target = Answering(Ok);
        using var http = new HttpClient(SharedHandler(new WebProxy(proxy.BaseUrl)));
        var port = target.BaseUrl.Port;

        foreach (var host in new[] { "127.0.0.1", "localhost" })
        {
            using var response = await http.GetAsync(new Uri($"http://{host}:{port}/status"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(0, proxy.Requests);
        Assert.Equal(2, target.Requests);

        // The control: a remote host does go through the proxy (which answers 502 itself), so the zero above is real.
        using (var remote = await http.GetAsync(new Uri("http://queue.fal.invalid/status")))
        {
            Assert.Equal(HttpStatusCode.BadGateway, remote.StatusCode);
        }

        Assert.Equal(1, proxy.Requests);
    }
}
