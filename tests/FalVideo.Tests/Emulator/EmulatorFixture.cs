using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FalVideo.Emulator;
using Xunit;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// A running emulator on a free loopback port (instant jobs, fal's default concurrency of 2) plus an HttpClient
/// that sends <c>Authorization: Key test-key</c>. Use it as an xunit class fixture: each test class gets its own emulator.
/// </summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    public const string KlingT2V = "fal-ai/kling-video/v3/pro/text-to-video";

    private RunningEmulator? emulator;

    public RunningEmulator Emulator => emulator ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>Base URL without a trailing slash, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl => Emulator.BaseUrl.ToString().TrimEnd('/');

    /// <summary>Sends the test key; relative URLs resolve against the emulator.</summary>
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0" });
        Http = CreateClient(ApiKey);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (emulator is not null) await emulator.DisposeAsync();
    }

    /// <summary>A client for this emulator with the given key (null: no Authorization header).</summary>
    public HttpClient CreateClient(string? apiKey) => CreateClient(Emulator, apiKey);

    public static HttpClient CreateClient(RunningEmulator emulator, string? apiKey)
    {
        var client = new HttpClient { BaseAddress = emulator.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Key", apiKey);
        return client;
    }

    public static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>POSTs <paramref name="json"/> to <c>/{endpointId}</c> and returns the status code and parsed body.</summary>
    public static async Task<(int Status, JsonElement Body)> SubmitAsync(HttpClient http, string endpointId, string json)
    {
        using var response = await http.PostAsync("/" + endpointId, JsonBody(json));
        return ((int)response.StatusCode, await BodyAsync(response));
    }

    public Task<(int Status, JsonElement Body)> SubmitAsync(string endpointId, string json) => SubmitAsync(Http, endpointId, json);

    public static async Task<(int Status, JsonElement Body)> GetJsonAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        return ((int)response.StatusCode, await BodyAsync(response));
    }

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
