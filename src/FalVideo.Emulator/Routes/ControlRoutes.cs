using System.Text.Json.Nodes;
using FalVideo.Emulator.Schemas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// Emulator-only routes for tests and rehearsals. The <c>/_emulator/</c> prefix cannot be an endpoint id
/// owner at fal, so these never shadow a model. No key is needed unless the emulator was started with
/// <c>--api-key</c> (<see cref="LocalOnlyGuard"/>).
/// </summary>
internal static class ControlRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_emulator/stats", (EmulatorState state) => Responses.Json(state.ToJson()));
        app.MapPost("/_emulator/reset", (EmulatorState state, Platform.CatalogPrices prices) =>
        {
            state.Reset();
            prices.Reset();
            return Responses.Json(new JsonObject { ["reset"] = true });
        });
        app.MapGet("/_emulator/submissions", (EmulatorState state) => Responses.Json(state.Submissions.ToJson()));
        app.MapGet("/_emulator/endpoints", (EndpointCatalog catalog) =>
            Responses.Json(new JsonObject { ["endpoints"] = new JsonArray(catalog.EndpointIds.Order().Select(id => (JsonNode)id).ToArray()) }));
    }
}
