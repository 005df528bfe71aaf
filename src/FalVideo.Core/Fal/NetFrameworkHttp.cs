#if NETFRAMEWORK
using System.Net;

namespace FalVideo.Fal;

/// <summary>
/// What .NET Framework's HTTP stack (Windows PowerShell 5.1) needs so that it behaves like .NET's: it sends
/// through <see cref="ServicePointManager"/>, whose defaults are 2 connections per host (a batch waiting on 32 jobs
/// would wait 2 at a time) and, in powershell.exe, TLS 1.0 unless the machine enables more. Both are process-wide
/// settings, so they are changed as narrowly as they can be: the connection limit only on the service points of the
/// hosts this module sends to, and TLS 1.2 added to, never removed from, what the process already allows.
/// </summary>
internal static class NetFrameworkHttp
{
    /// <summary>The connection limit set on the hosts the module calls: unbounded, as .NET's SocketsHttpHandler is;
    /// the module's own -ThrottleLimit bounds what is in flight.</summary>
    public const int ConnectionLimit = int.MaxValue;

    private static int s_tlsChecked;

    /// <summary>Adds TLS 1.2 to <see cref="ServicePointManager.SecurityProtocol"/> unless the process leaves the choice
    /// to the operating system (<c>SystemDefault</c>, which already offers 1.2 and newer) or already allows it.</summary>
    public static void EnsureTls12()
    {
        if (Interlocked.Exchange(ref s_tlsChecked, 1) != 0) return;
        var current = ServicePointManager.SecurityProtocol;
        if (current != SecurityProtocolType.SystemDefault && (current & SecurityProtocolType.Tls12) == 0)
        {
            ServicePointManager.SecurityProtocol = current | SecurityProtocolType.Tls12;
        }
    }

    /// <summary>Raises the connection limit of each request's host before it is sent. Per request, because .NET
    /// Framework drops an idle service point (after 100 s) and makes a new one with the default limit of 2.</summary>
    public sealed class ConnectionLimitHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri is { IsAbsoluteUri: true } uri)
            {
                var point = ServicePointManager.FindServicePoint(uri);
                if (point.ConnectionLimit != ConnectionLimit) point.ConnectionLimit = ConnectionLimit;
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
#endif
