using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// Keeps the emulator a local tool. A web page the user has open can reach 127.0.0.1 too: by DNS rebinding (a foreign
/// host name that resolves to loopback, so the Host header is not a loopback name: 421) or by a cross-origin "simple"
/// request that a browser sends without asking (its Origin is not the emulator's own: 403). With <c>--api-key</c>, the
/// <c>/_emulator/</c> control routes (which reset jobs and inject faults) need the key as the queue routes do.
/// Non-browser clients (the module, fal's JS client on Node) send a loopback Host and no foreign Origin.
/// </summary>
internal static class LocalOnlyGuard
{
    private const string Scheme = "Key ";

    public static Task InvokeAsync(HttpContext context, RequestDelegate next, EmulatorOptions options)
    {
        var request = context.Request;
        if (!IsLoopbackName(request.Host.Host))
        {
            return Refuse(context, 421, "The emulator answers only to a loopback host name (127.0.0.1, localhost, [::1]).");
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsOwnOrigin(origin, request))
        {
            return Refuse(context, 403, "Cross-origin requests are refused.");
        }

        if (options.RequiredApiKey is { } required && request.Path.StartsWithSegments("/_emulator"))
        {
            var header = request.Headers.Authorization.ToString();
            var key = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : "";
            if (!string.Equals(key, required, StringComparison.Ordinal))
            {
                return Refuse(context, 401, "The control routes need 'Authorization: Key <the --api-key key>'.");
            }
        }

        return next(context);
    }

    private static bool IsLoopbackName(string host) =>
        host.Equals("127.0.0.1", StringComparison.Ordinal)
        || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.Equals("[::1]", StringComparison.Ordinal);

    private static bool IsOwnOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var url)
        && string.Equals(url.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static Task Refuse(HttpContext context, int status, string detail) =>
        Responses.Detail(status, detail).ExecuteAsync(context);
}
