using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Routes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Faults;

/// <summary>
/// <c>POST /_emulator/faults</c> adds one rule (a JSON object) or several (an array), answering with them and their
/// ids; <c>GET /_emulator/faults</c> lists the rules, how often each fired, and the requests seen per route;
/// <c>DELETE /_emulator/faults</c> removes every rule. No key is needed unless the emulator was started with <c>--api-key</c> (see
/// <see cref="LocalOnlyGuard"/>); faults never apply to these routes.
/// </summary>
internal static class FaultControlRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_emulator/faults", (EmulatorState state) => Responses.Json(state.Faults.ToJson()));
        app.MapDelete("/_emulator/faults", (EmulatorState state) =>
        {
            state.Faults.Clear();
            return Responses.Json(state.Faults.ToJson());
        });
        app.MapPost("/_emulator/faults", async (HttpContext context, EmulatorState state) =>
        {
            List<FaultRule> rules;
            try
            {
                var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
                rules = body is JsonArray array ? array.Select(FaultRule.FromJson).ToList() : [FaultRule.FromJson(body)];
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                return Responses.Detail(400, e.Message);
            }
            var added = rules.Select(state.Faults.Add).ToList();
            return Responses.Json(new JsonObject { ["rules"] = new JsonArray(added.Select(a => (JsonNode)a.ToJson()).ToArray()) });
        });
    }
}
