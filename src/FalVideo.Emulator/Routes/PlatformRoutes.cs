using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Jobs;
using FalVideo.Emulator.Platform;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// fal's platform APIs under <c>/v1</c> (PROTOCOL.md "Pricing and billing platform APIs"; at fal the host is
/// <c>api.fal.ai</c>): <c>GET /v1/models/pricing</c>, <c>POST /v1/models/pricing/estimate</c> and
/// <c>GET /v1/models/billing-events</c> (admin key), with prices from the module's catalog (<see cref="CatalogPrices"/>).
/// Paging follows fal: <c>limit</c>, an opaque <c>cursor</c>, and <c>next_cursor</c>/<c>has_more</c> in the answer.
/// </summary>
internal static class PlatformRoutes
{
    /// <summary>Most billing events per page (PROTOCOL.md: at most 10,000 records a page).</summary>
    public const int MaxBillingPage = 10_000;
    /// <summary>Longest span of one billing-events query (PROTOCOL.md: at most 90 days).</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(90);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models/pricing", Pricing).RequireFalKey();
        app.MapPost("/v1/models/pricing/estimate", Estimate).RequireFalKey();
        app.MapGet("/v1/models/billing-events", BillingEvents).AddEndpointFilter<AdminKeyFilter>();
        // Test control: what the pricing API reports for one endpoint, as when fal changes a price.
        app.MapPost("/_emulator/prices", async (HttpContext context, CatalogPrices prices) =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body) as JsonObject;
            if (body?["endpoint_id"]?.GetValue<string>() is not { Length: > 0 } id)
                return Responses.Detail(422, "endpoint_id is required");
            prices.SetReported(id, body["unit_price"] is JsonValue p
                ? new CatalogPrices.ReportedPrice(p.GetValue<decimal>(), body["unit"]?.GetValue<string>() ?? "second")
                : null);
            return Responses.Json(new JsonObject { ["endpoint_id"] = id, ["unit_price"] = body["unit_price"]?.DeepClone() });
        });
    }

    private static IResult Pricing(HttpContext context, CatalogPrices prices)
    {
        var wanted = List(context.Request.Query["endpoint_id"]);
        var ids = wanted.Count > 0 ? wanted : prices.PricedEndpoints();
        var rows = ids.Select(id => (Id: id, Price: prices.Reported(id))).Where(r => r.Price is not null).ToList();
        if (!Page(context.Request, 50, 50, rows.Count, out var offset, out var limit, out var error)) return error!;
        var page = rows.Skip(offset).Take(limit).Select(r => (JsonNode)new JsonObject
        {
            ["endpoint_id"] = r.Id, ["unit_price"] = r.Price!.UnitPrice, ["unit"] = r.Price.Unit, ["currency"] = "USD",
        }).ToArray();
        return Responses.Json(Paged("prices", page, offset + limit, rows.Count));
    }

    private static async Task<IResult> Estimate(HttpContext context, CatalogPrices prices)
    {
        if (await JsonNode.ParseAsync(context.Request.Body) is not JsonObject body || body["endpoints"] is not JsonObject endpoints)
            return Responses.Detail(422, "endpoints is required");
        var type = body["estimate_type"]?.GetValue<string>();
        if (type is not ("unit_price" or "historical_api_price"))
            return Responses.Detail(422, "estimate_type must be 'unit_price' or 'historical_api_price'");
        var quantityField = type == "unit_price" ? "unit_quantity" : "call_quantity";
        decimal total = 0;
        foreach (var (id, spec) in endpoints)
        {
            if (prices.Reported(id) is not { } price) return Responses.Detail(404, $"No pricing found for endpoint '{id}'");
            if (spec?[quantityField] is not JsonValue q || !q.TryGetValue<decimal>(out var quantity) || quantity < 0)
                return Responses.Detail(422, $"endpoints.{id}.{quantityField} must be a non-negative number");
            // Per call: the emulator has no call history, so a call is priced as one unit of the endpoint's default output.
            total += price.UnitPrice * quantity;
        }
        return Responses.Json(new JsonObject { ["estimate_type"] = type, ["total_cost"] = total, ["currency"] = "USD" });
    }

    private static IResult BillingEvents(HttpContext context, JobScheduler jobs, CatalogPrices prices, EmulatorOptions options)
    {
        var query = context.Request.Query;
        var now = options.TimeProvider.GetUtcNow();
        if (!Date(query["start"], now.AddHours(-24), out var start) || !Date(query["end"], now, out var end))
            return Responses.Detail(422, "start and end must be ISO 8601 dates");
        if (end - start > MaxSpan) return Responses.Detail(422, "The date range may span at most 90 days");
        var requestIds = List(query["request_id"]).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var endpointIds = List(query["endpoint_id"]).ToHashSet(StringComparer.OrdinalIgnoreCase);
        // fal bills what ran to a result: failed (5xx) and cancelled-in-queue jobs have no billing event.
        var events = jobs.All()
            .Where(j => j.Succeeded && j.CompletedAt is { } at && at >= start && at < end)
            .Where(j => requestIds.Count == 0 || requestIds.Contains(j.RequestId))
            .Where(j => endpointIds.Count == 0 || endpointIds.Contains(j.EndpointId))
            .Select(j => (Job: j, Bill: prices.Billing(j.EndpointId, j.Input)))
            .Where(e => e.Bill is not null)
            .OrderBy(e => e.Job.CompletedAt).ThenBy(e => e.Job.RequestId, StringComparer.Ordinal)
            .ToList();
        if (!Page(context.Request, 100, MaxBillingPage, events.Count, out var offset, out var limit, out var error)) return error!;
        var page = events.Skip(offset).Take(limit).Select(e =>
        {
            var (units, unitPrice, unit) = e.Bill!.Value;
            var cost = units * unitPrice;
            return (JsonNode)new JsonObject
            {
                ["request_id"] = e.Job.RequestId, ["endpoint_id"] = e.Job.EndpointId,
                ["timestamp"] = e.Job.CompletedAt!.Value.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["output_units"] = units, ["unit"] = unit, ["unit_price"] = unitPrice, ["percent_discount"] = 0,
                ["cost_subtotal"] = cost, ["cost_discount"] = 0m, ["cost_total"] = cost,
                ["cost_estimate_nano_usd"] = (long)decimal.Round(cost * 1_000_000_000m),
            };
        }).ToArray();
        return Responses.Json(Paged("billing_events", page, offset + limit, events.Count));
    }

    private static JsonObject Paged(string name, JsonNode[] items, int next, int count) => new()
    {
        [name] = new JsonArray(items),
        ["next_cursor"] = next < count ? Convert.ToBase64String(Encoding.UTF8.GetBytes(next.ToString(CultureInfo.InvariantCulture))) : null,
        ["has_more"] = next < count,
    };

    private static bool Page(HttpRequest request, int defaultLimit, int maxLimit, int count, out int offset, out int limit, out IResult? error)
    {
        offset = 0; limit = defaultLimit; error = null;
        if (request.Query["limit"].ToString() is { Length: > 0 } l
            && (!int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
        {
            error = Responses.Detail(422, $"limit must be between 1 and {maxLimit}");
            return false;
        }
        if (request.Query["cursor"].ToString() is { Length: > 0 } cursor)
        {
            try { offset = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(cursor)), CultureInfo.InvariantCulture); }
            catch (FormatException) { offset = -1; }
            if (offset < 0 || offset > count)
            {
                error = Responses.Detail(422, "Invalid cursor");
                return false;
            }
        }
        return true;
    }

    private static bool Date(string? text, DateTimeOffset fallback, out DateTimeOffset value)
    {
        value = fallback;
        return string.IsNullOrWhiteSpace(text)
               || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    // fal takes a list both as repeated parameters and comma-separated (endpoint_id=a,b).
    private static List<string> List(Microsoft.Extensions.Primitives.StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>Billing events need an admin key (PROTOCOL.md): with <see cref="EmulatorOptions.AdminApiKey"/> set only
    /// that key is one; any other key gets 403, as fal answers a key without the admin scope.</summary>
    private sealed class AdminKeyFilter(EmulatorOptions options) : IEndpointFilter
    {
        public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var header = context.HttpContext.Request.Headers.Authorization.ToString();
            var key = header.StartsWith("Key ", StringComparison.OrdinalIgnoreCase) ? header[4..].Trim() : "";
            if (key.Length == 0)
                return ValueTask.FromResult<object?>(Responses.Detail(401, "Missing API key: billing events need an admin key ('Authorization: Key <admin key>')."));
            if (options.AdminApiKey is { } admin && !string.Equals(key, admin, StringComparison.Ordinal))
                return ValueTask.FromResult<object?>(Responses.Detail(403, "This endpoint requires an ADMIN API key."));
            return next(context);
        }
    }
}
