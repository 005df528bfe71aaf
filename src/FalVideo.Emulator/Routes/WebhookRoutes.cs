using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// <c>GET /.well-known/jwks.json</c>: the public key the emulator signs webhooks with, as fal serves its own at
/// <c>https://rest.fal.ai/.well-known/jwks.json</c> (PROTOCOL.md, "Webhooks"; no key needed). <c>GET
/// /_emulator/webhooks</c>: every delivery attempt made, for tests and rehearsals.
/// </summary>
internal static class WebhookRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/jwks.json", (EmulatorState state) =>
        {
            state.CountJwksRequest();
            return Responses.Json(state.WebhookKeys.Jwks());
        });
        app.MapGet("/_emulator/webhooks", (EmulatorState state) => Responses.Json(new JsonObject
        {
            ["attempts"] = new JsonArray(state.WebhookAttempts.Select(a => (JsonNode)new JsonObject
            {
                ["request_id"] = a.RequestId,
                ["url"] = a.Url.ToString(),
                ["attempt"] = a.Attempt,
                ["status_code"] = a.StatusCode,
                ["at"] = a.At.UtcDateTime.ToString("O"),
            }).ToArray()),
        }));
    }
}
