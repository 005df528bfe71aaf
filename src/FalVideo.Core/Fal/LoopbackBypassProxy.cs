using System.Net;

namespace FalVideo.Fal;

/// <summary>
/// The system proxy, except for loopback hosts (127.0.0.0/8, ::1, <c>localhost</c>), which are always reached directly.
/// .NET's proxy from <c>HTTP_PROXY</c>/<c>HTTPS_PROXY</c> (and Mono's) sends loopback requests to the proxy too unless
/// <c>NO_PROXY</c> names them: a request to a local emulator would hand the <c>Authorization: Key …</c> header to
/// whatever listens at the proxy address.
/// </summary>
internal sealed class LoopbackBypassProxy(IWebProxy? system) : IWebProxy
{
    public ICredentials? Credentials
    {
        get => system?.Credentials;
        set
        {
            if (system is not null)
            {
                system.Credentials = value;
            }
        }
    }

    public Uri? GetProxy(Uri destination) => IsBypassed(destination) ? destination : system!.GetProxy(destination);

    public bool IsBypassed(Uri host) => system is null || host.IsLoopback || system.IsBypassed(host);
}
