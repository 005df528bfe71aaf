using System.Net;
using FalVideo.Catalog;
using FalVideo.Emulator;
using FalVideo.Fal;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// The billed quantity header on the result fetch, and fal's platform routes (pricing, estimate, billing events) as the
/// emulator serves them and the module's clients read them (PROTOCOL.md "Headers worth exposing", "Pricing and billing
/// platform APIs").
/// </summary>
public sealed class PlatformRoutesTests : IAsyncLifetime
{
    private const string AdminKey = "admin-key";
    private const string HailuoProT2V = "fal-ai/minimax/hailuo-2.3/pro/text-to-video";
    private RunningEmulator _emulator = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", AdminApiKey = AdminKey });
        _http = CreateClient(_emulator, ApiKey);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
    }

    private FalClientOptions Options(string key) => new()
    {
        ApiKey = key, QueueBaseUrl = _emulator.BaseUrl, RestBaseUrl = _emulator.BaseUrl,
        PlatformBaseUrl = new Uri(_emulator.BaseUrl, "v1"), MaxRetries = 0,
    };

    private async Task<string> SubmitAsync(string endpointId, string json)
    {
        var (code, body) = await EmulatorFixture.SubmitAsync(_http, endpointId, json);
        Assert.Equal(200, code);
        return body.GetProperty("request_id").GetString()!;
    }

    [Fact]
    public async Task The_result_fetch_carries_billable_units_for_per_second_endpoints_only()
    {
        var single = await SubmitAsync(KlingT2V, """{"prompt": "A lighthouse", "duration": "7", "generate_audio": false}""");
        var shots = await SubmitAsync(KlingT2V, """{"multi_prompt": [{"prompt": "one", "duration": "3"}, {"prompt": "two", "duration": "4"}]}""");
        var flat = await SubmitAsync(HailuoProT2V, """{"prompt": "A lighthouse"}""");

        using (var response = await _http.GetAsync($"/fal-ai/kling-video/requests/{single}"))
            Assert.Equal("7", Assert.Single(response.Headers.GetValues("x-fal-billable-units")));
        using (var response = await _http.GetAsync($"/fal-ai/minimax/requests/{flat}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("x-fal-billable-units"));
        }

        using var client = new FalQueueClient(Options(ApiKey));
        Assert.Equal(7m, (await client.GetResultAsync(FalRequestHandle.FromIds(KlingT2V, single, _emulator.BaseUrl))).BillableUnits);
        Assert.Equal(7m, (await client.GetResultAsync(FalRequestHandle.FromIds(KlingT2V, shots, _emulator.BaseUrl))).BillableUnits);
        Assert.Null((await client.GetResultAsync(FalRequestHandle.FromIds(HailuoProT2V, flat, _emulator.BaseUrl))).BillableUnits);
    }

    [Fact]
    public async Task Pricing_lists_the_catalogs_prices_page_by_page_and_needs_a_key()
    {
        var prices = await new FalPlatformClient(Options(ApiKey)).GetPricesAsync([]);

        var priced = ModelCatalog.Default.Models.Where(m => m.Prices.Length > 0).SelectMany(m => m.EndpointIds).ToList();
        Assert.Equal(priced.Order(StringComparer.Ordinal), prices.Select(p => p.EndpointId));
        var kling = prices.Single(p => p.EndpointId == KlingT2V);
        Assert.Equal((0.112m, "second", "USD"), (kling.UnitPrice, kling.CatalogUnit, kling.Currency));
        var hailuo = prices.Single(p => p.EndpointId == HailuoProT2V);
        Assert.Equal((0.49m, "video"), (hailuo.UnitPrice, hailuo.CatalogUnit));

        // More prices than one page of 50: the second page comes from next_cursor.
        Assert.True(priced.Count > 2);
        var (code, page) = await GetJsonAsync(_http, "/v1/models/pricing?limit=2");
        Assert.Equal(200, code);
        Assert.Equal(2, page.GetProperty("prices").GetArrayLength());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        var (_, next) = await GetJsonAsync(_http, "/v1/models/pricing?limit=2&cursor=" + Uri.EscapeDataString(page.GetProperty("next_cursor").GetString()!));
        Assert.Equal(priced.Order(StringComparer.Ordinal).Skip(2).First(), next.GetProperty("prices")[0].GetProperty("endpoint_id").GetString());

        using var anonymous = CreateClient(_emulator, null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/models/pricing")).StatusCode);
    }

    [Fact]
    public async Task The_estimate_multiplies_the_unit_price()
    {
        using var response = await _http.PostAsync("/v1/models/pricing/estimate",
            JsonBody("""{"estimate_type": "unit_price", "endpoints": {""" + $"\"{KlingT2V}\"" + """: {"unit_quantity": 10}}}"""));
        var body = await BodyAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1.12m, body.GetProperty("total_cost").GetDecimal());
        Assert.Equal("USD", body.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task Billing_events_need_the_admin_key_and_bill_only_jobs_that_ran()
    {
        var ran = await SubmitAsync(KlingT2V, """{"prompt": "A lighthouse", "duration": "7", "generate_audio": false}""");
        var audio = await SubmitAsync(KlingT2V, """{"prompt": "A lighthouse", "duration": "5", "generate_audio": true}""");
        var failed = await SubmitAsync(KlingT2V, """{"prompt": "A broken one [emulator:fail]", "duration": "5"}""");
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var end = DateTimeOffset.UtcNow.AddMinutes(1);

        var refused = await Assert.ThrowsAsync<FalAuthenticationException>(() =>
            new FalPlatformClient(Options(ApiKey)).GetBillingEventsAsync(start, end, [ran]));
        Assert.Equal(403, refused.StatusCode);

        var events = await new FalPlatformClient(Options(AdminKey)).GetBillingEventsAsync(start, end, [ran, audio, failed]);

        Assert.Equal(new[] { ran, audio }.Order(), events.Select(e => e.RequestId).Order());
        var seven = events.Single(e => e.RequestId == ran);
        Assert.Equal((7m, 0.112m, 0.784m, KlingT2V), (seven.OutputUnits!.Value, seven.UnitPrice!.Value, seven.CostUsd!.Value, seven.EndpointId));
        Assert.Equal(5m * 0.168m, events.Single(e => e.RequestId == audio).CostUsd);
    }

    [Fact]
    public async Task Billing_events_are_read_page_by_page_with_the_cursor()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await SubmitAsync(KlingT2V, $$"""{"prompt": "Shot {{i}}", "duration": "5", "generate_audio": false}"""));
        var before = _emulator.State.Requests;

        var events = await new FalPlatformClient(Options(AdminKey)).GetBillingEventsAsync(
            DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1), ids, pageSize: 2);

        Assert.Equal(ids.Order(), events.Select(e => e.RequestId).Order());
        Assert.Equal(3, _emulator.State.Requests - before);
        Assert.All(events, e => Assert.Equal(0.56m, e.CostUsd));
    }

    [Fact]
    public async Task Billing_events_refuse_a_range_over_90_days()
    {
        using var admin = CreateClient(_emulator, AdminKey);
        using var response = await admin.GetAsync("/v1/models/billing-events?start=2026-01-01&end=2026-06-01");
        Assert.Equal(422, (int)response.StatusCode);
    }
}
