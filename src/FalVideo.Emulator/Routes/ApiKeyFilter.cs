using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// fal's <c>Authorization: Key &lt;key&gt;</c> check (PROTOCOL.md, "Authentication") for queue and storage-initiate
/// routes. The signed upload PUT and CDN downloads carry no key, so they do not use this filter.
/// </summary>
internal sealed class ApiKeyFilter(EmulatorOptions options) : IEndpointFilter
{
    private const string Scheme = "Key ";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        var key = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : "";
        if (key.Length == 0)
            return ValueTask.FromResult<object?>(Responses.Detail(401, "Missing API key: send 'Authorization: Key <your key>' (the emulator accepts any key unless started with --api-key)."));
        if (options.RequiredApiKey is { } required && !string.Equals(key, required, StringComparison.Ordinal))
            return ValueTask.FromResult<object?>(Responses.Detail(401, "Invalid API key."));
        return next(context);
    }
}

internal static class ApiKeyFilterExtensions
{
    public static RouteHandlerBuilder RequireFalKey(this RouteHandlerBuilder route) => route.AddEndpointFilter<ApiKeyFilter>();
}
