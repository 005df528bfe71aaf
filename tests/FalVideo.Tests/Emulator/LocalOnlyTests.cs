using System.Net;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>
/// The emulator stays a local tool: a foreign Host name (DNS rebinding) gets 421, a foreign Origin (a web page's
/// cross-origin simple POST) gets 403, and with <c>--api-key</c> the control routes need the key.
/// </summary>
public sealed class LocalOnlyTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const string Prompt = """{"prompt": "A kite over a beach", "duration": "5"}""";

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? host = null, string? origin = null, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (host is not null) request.Headers.Host = host;
        if (origin is not null) request.Headers.TryAddWithoutValidation("Origin", origin);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "text/plain");
        using var response = await fixture.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Only_loopback_host_names_are_answered()
    {
        var port = fixture.Emulator.BaseUrl.Port;

        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: $"127.0.0.1:{port}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: $"localhost:{port}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: $"[::1]:{port}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: "LOCALHOST"));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: $"rebind.attacker.example:{port}"));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await SendAsync(HttpMethod.Get, "/_emulator/stats", host: $"127.0.0.1.attacker.example:{port}"));
    }

    [Fact]
    public async Task A_cross_origin_simple_post_is_refused_before_a_job_exists()
    {
        var before = fixture.Emulator.State.AcceptedSubmissions;
        var own = fixture.BaseUrl;

        var foreign = await SendAsync(HttpMethod.Post, "/" + KlingT2V, origin: "https://attacker.example", body: Prompt);
        var foreignReset = await SendAsync(HttpMethod.Post, "/_emulator/reset", origin: "http://localhost:9999");
        var nullOrigin = await SendAsync(HttpMethod.Post, "/" + KlingT2V, origin: "null", body: Prompt);
        var sameOrigin = await SendAsync(HttpMethod.Get, "/_emulator/stats", origin: own);

        Assert.Equal(HttpStatusCode.Forbidden, foreign);
        Assert.Equal(HttpStatusCode.Forbidden, foreignReset);
        Assert.Equal(HttpStatusCode.Forbidden, nullOrigin);
        Assert.Equal(HttpStatusCode.OK, sameOrigin);
        Assert.Equal(before, fixture.Emulator.State.AcceptedSubmissions);
    }

    [Fact]
    public async Task With_a_required_key_the_control_routes_need_it()
    {
        await using var strict = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", RequiredApiKey = "right" });
        using var none = CreateClient(strict, null);
        using var wrong = CreateClient(strict, "wrong");
        using var right = CreateClient(strict, "right");

        async Task<int> Code(HttpClient http, HttpMethod method, string path)
        {
            using var request = new HttpRequestMessage(method, path);
            if (method == HttpMethod.Post) request.Content = JsonBody("""{"route": "submit"}""");
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }

        Assert.Equal(401, await Code(none, HttpMethod.Get, "/_emulator/stats"));
        Assert.Equal(401, await Code(wrong, HttpMethod.Post, "/_emulator/faults"));
        Assert.Equal(401, await Code(none, HttpMethod.Post, "/_emulator/reset"));
        Assert.Empty(strict.Faults.Rules);
        Assert.Equal(200, await Code(right, HttpMethod.Get, "/_emulator/stats"));
        Assert.Equal(200, await Code(right, HttpMethod.Post, "/_emulator/faults"));
        // Without --api-key the control routes stay open, as before.
        using var open = fixture.CreateClient(null);
        Assert.Equal(200, await Code(open, HttpMethod.Get, "/_emulator/stats"));
    }
}
