using System.Globalization;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>A price as fal's pricing API gives it (<c>GET /v1/models/pricing</c>, PROTOCOL.md "Pricing and billing
/// platform APIs"): USD per <see cref="Unit"/> for one endpoint id.</summary>
public sealed class FalPrice
{
    /// <summary>fal endpoint id, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</summary>
    public required string EndpointId { get; init; }
    /// <summary>Price of one unit, in <see cref="Currency"/>.</summary>
    public decimal UnitPrice { get; init; }
    /// <summary>fal's unit as sent, e.g. <c>second</c> or <c>video</c> (fal's exact words are UNCONFIRMED in PROTOCOL.md).</summary>
    public string Unit { get; init; } = "";
    /// <summary>Currency code, <c>USD</c>.</summary>
    public string Currency { get; init; } = "USD";

    /// <summary>The unit as the catalog names it: <c>second</c> (also for <c>seconds</c>, <c>s</c>), <c>video</c>
    /// (also <c>videos</c>, <c>request</c>, <c>image</c>…), or the unit as sent when it is neither.</summary>
    public string CatalogUnit => Unit.Trim().ToLowerInvariant() switch
    {
        "second" or "seconds" or "s" or "sec" => "second",
        "video" or "videos" or "request" or "requests" or "call" or "calls" or "unit" or "units" => "video",
        var other => other,
    };
}

/// <summary>One billing event of fal's billing API (<c>GET /v1/models/billing-events</c>, PROTOCOL.md): what fal
/// billed for one request. Amounts in USD.</summary>
public sealed class FalBillingEvent
{
    /// <summary>fal's request id.</summary>
    public required string RequestId { get; init; }
    /// <summary>The endpoint id that served the request.</summary>
    public string? EndpointId { get; init; }
    /// <summary>When fal recorded the event (UTC), or null when absent.</summary>
    public DateTimeOffset? Timestamp { get; init; }
    /// <summary>Units billed (<c>output_units</c>), e.g. seconds of video.</summary>
    public decimal? OutputUnits { get; init; }
    /// <summary>USD per unit (<c>unit_price</c>).</summary>
    public decimal? UnitPrice { get; init; }
    /// <summary>Account discount in percent (<c>percent_discount</c>).</summary>
    public decimal? PercentDiscount { get; init; }
    /// <summary>The billed USD: <c>cost_estimate_nano_usd</c> / 10^9, else <c>cost_total</c>, else units × unit price less the discount.</summary>
    public decimal? CostUsd { get; init; }

    internal static FalBillingEvent? FromJson(JsonObject json)
    {
        if (FalJson.GetString(json, "request_id") is not { Length: > 0 } id) return null;
        var units = Number(json["output_units"]);
        var price = Number(json["unit_price"]);
        var discount = Number(json["percent_discount"]);
        var cost = Number(json["cost_estimate_nano_usd"]) is { } nano ? nano / 1_000_000_000m
            : Number(json["cost_total"]) ?? (units * price * (1 - (discount ?? 0) / 100m));
        return new FalBillingEvent
        {
            RequestId = id, EndpointId = FalJson.GetString(json, "endpoint_id"),
            Timestamp = DateTimeOffset.TryParse(FalJson.GetString(json, "timestamp"), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null,
            OutputUnits = units, UnitPrice = price, PercentDiscount = discount, CostUsd = cost,
        };
    }

    internal static decimal? Number(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<decimal>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}

/// <summary>
/// Client of fal's platform APIs at <see cref="FalClientOptions.PlatformBaseUrl"/> (<c>https://api.fal.ai/v1</c>):
/// prices (<c>GET /models/pricing</c>) and billing events (<c>GET /models/billing-events</c>, admin key), following
/// <c>next_cursor</c>/<c>has_more</c> pages (PROTOCOL.md "Pricing and billing platform APIs"). Retried as the queue
/// client retries idempotent calls. Knows nothing of PowerShell.
/// </summary>
public sealed class FalPlatformClient
{
    /// <summary>Longest span fal allows in one billing-events query (PROTOCOL.md: 90 days).</summary>
    public static readonly TimeSpan MaxBillingSpan = TimeSpan.FromDays(90);
    /// <summary>Request ids asked for in one billing-events call (keeps URLs short).</summary>
    public const int RequestIdsPerCall = 50;

    private readonly FalClientOptions _options;
    private readonly FalHttpSender _sender;

    /// <summary>Creates a client.</summary>
    /// <param name="options">Settings; copied. Its <see cref="FalClientOptions.ApiKey"/> is the key sent (an admin key for
    /// billing events).</param>
    /// <param name="httpClient">An HTTP client to use; null uses the process-wide pooled one.</param>
    /// <exception cref="FalConfigurationException">No key, or an invalid base URL or setting.</exception>
    public FalPlatformClient(FalClientOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _options.Validate();
        _sender = new FalHttpSender(httpClient ?? FalSharedHttp.Client, _options);
    }

    /// <summary>Reads fal's prices: <c>GET /models/pricing?endpoint_id=a,b</c>, every page.</summary>
    /// <param name="endpointIds">Endpoint ids to ask for; empty asks for every price fal lists.</param>
    /// <param name="ct">Cancels the whole call.</param>
    /// <returns>The prices fal sent, in its order.</returns>
    /// <exception cref="FalException">HTTP failures (401/403 <see cref="FalAuthenticationException"/> and the rest, as the
    /// queue client maps them), a body that is not JSON, or no answer after the retries.</exception>
    public async Task<IReadOnlyList<FalPrice>> GetPricesAsync(IReadOnlyCollection<string> endpointIds, CancellationToken ct = default)
    {
        var prices = new List<FalPrice>();
        var chunks = endpointIds.Count == 0 ? [Array.Empty<string>()] : Chunks(endpointIds);
        foreach (var chunk in chunks)
        {
            var query = chunk.Length == 0 ? new List<string>() : ["endpoint_id=" + Uri.EscapeDataString(string.Join(",", chunk))];
            await foreach (var item in PagesAsync("models/pricing", query, "prices", "Reading fal's prices", ct).ConfigureAwait(false))
            {
                if (FalJson.GetString(item, "endpoint_id") is not { Length: > 0 } id || FalBillingEvent.Number(item["unit_price"]) is not { } price) continue;
                prices.Add(new FalPrice
                {
                    EndpointId = id, UnitPrice = price, Unit = FalJson.GetString(item, "unit") ?? "", Currency = FalJson.GetString(item, "currency") ?? "USD",
                });
            }
        }
        return prices;
    }

    /// <summary>Reads fal's billing events: <c>GET /models/billing-events</c> with an admin key, every page, in windows of
    /// at most 90 days (fal's limit) from <paramref name="start"/> to <paramref name="end"/>. fal's own default start is
    /// 24 hours ago, so older requests are only found with an explicit start.</summary>
    /// <param name="start">Start of the range (inclusive, UTC).</param>
    /// <param name="end">End of the range (exclusive, UTC).</param>
    /// <param name="requestIds">Request ids to ask for (sent 50 to a call); empty asks for every event in the range.</param>
    /// <param name="pageSize">Events per page (<c>limit</c>), 1 to 10,000.</param>
    /// <param name="ct">Cancels the whole call.</param>
    /// <returns>The events fal sent.</returns>
    /// <exception cref="ArgumentOutOfRangeException">End before start, or a page size outside 1 to 10,000.</exception>
    /// <exception cref="FalException">As for <see cref="GetPricesAsync"/>; a key without the admin scope is refused by fal
    /// (403, <see cref="FalAuthenticationException"/>).</exception>
    public async Task<IReadOnlyList<FalBillingEvent>> GetBillingEventsAsync(DateTimeOffset start, DateTimeOffset end,
        IReadOnlyCollection<string> requestIds, int pageSize = 1000, CancellationToken ct = default)
    {
        if (end < start) throw new ArgumentOutOfRangeException(nameof(end), "The end of the range is before its start.");
        if (pageSize is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(pageSize), "The page size must be between 1 and 10,000.");
        var events = new List<FalBillingEvent>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var from = start; from < end || from == start; from += MaxBillingSpan)
        {
            var to = from + MaxBillingSpan < end ? from + MaxBillingSpan : end;
            var chunks = requestIds.Count == 0 ? [Array.Empty<string>()] : Chunks(requestIds);
            foreach (var chunk in chunks)
            {
                var query = new List<string>
                {
                    "start=" + Uri.EscapeDataString(Iso(from)), "end=" + Uri.EscapeDataString(Iso(to)),
                    "limit=" + pageSize.ToString(CultureInfo.InvariantCulture),
                };
                if (chunk.Length > 0) query.Add("request_id=" + Uri.EscapeDataString(string.Join(",", chunk)));
                await foreach (var item in PagesAsync("models/billing-events", query, "billing_events", "Reading fal's billing events", ct).ConfigureAwait(false))
                {
                    if (FalBillingEvent.FromJson(item) is { } e && seen.Add(e.RequestId + "|" + e.Timestamp?.UtcTicks)) events.Add(e);
                }
            }
            if (to >= end) break;
        }
        return events;
    }

    // Enumerable.Chunk is not on net472.
    private static string[][] Chunks(IReadOnlyCollection<string> ids) =>
        ids.Select((id, i) => (id, i)).GroupBy(x => x.i / RequestIdsPerCall, x => x.id).Select(g => g.ToArray()).ToArray();

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Every item of every page: the list is <paramref name="listName"/> (fal's exact name is UNCONFIRMED, so
    /// the first array in the body is taken when that name is absent); the next page is asked for with
    /// <c>cursor=next_cursor</c> while <c>has_more</c> is true.</summary>
    private async IAsyncEnumerable<JsonObject> PagesAsync(string path, List<string> query, string listName, string action,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? cursor = null;
        for (var page = 0; page < 100_000; page++)
        {
            var parts = new List<string>(query);
            if (cursor is not null) parts.Add("cursor=" + Uri.EscapeDataString(cursor));
            var url = FalQueueUrls.Append(_options.PlatformBaseUrl, path, parts.Count > 0 ? string.Join("&", parts) : null);
            using var response = await SendAsync(new FalHttpCall { Method = HttpMethod.Get, Url = url, Authorize = true }, action, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw await FalErrorMapper.FromResponseAsync(response, action, null, _options.ApiKey).ConfigureAwait(false);
            var body = FalJson.ParseObject(await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false), action, _options.ApiKey);
            var list = body[listName] as JsonArray ?? body.Select(kv => kv.Value).OfType<JsonArray>().FirstOrDefault() ?? [];
            foreach (var item in list.OfType<JsonObject>()) yield return item;
            var more = body["has_more"] is JsonValue m && m.TryGetValue<bool>(out var b) && b;
            var next = FalJson.GetString(body, "next_cursor");
            if (!more || string.IsNullOrEmpty(next) || next == cursor) yield break;
            cursor = next;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(FalHttpCall call, string action, CancellationToken ct)
    {
        try
        {
            return await _sender.SendAsync(call, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (FalRetryPolicy.IsTransient(ex) && !ct.IsCancellationRequested)
        {
            throw new FalNetworkException(FalCredentials.Mask($"{action} failed: {ex.Message}", _options.ApiKey), ex);
        }
    }
}
