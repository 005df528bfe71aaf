using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using FalVideo.Emulator;
using Xunit;
using static FalVideo.Tests.Emulator.EmulatorFixture;

namespace FalVideo.Tests.Emulator;

/// <summary>fal's two-step upload (initiate with a key, PUT without one) and the CDN that serves the file afterwards.</summary>
public sealed class StorageTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    private static async Task<(string UploadUrl, string FileUrl)> InitiateAsync(HttpClient http, string fileName, string contentType = "image/png")
    {
        using var response = await http.PostAsync("/storage/upload/initiate?storage_type=fal-cdn-v3",
            JsonBody(JsonSerializer.Serialize(new { content_type = contentType, file_name = fileName })));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        return (body.GetProperty("upload_url").GetString()!, body.GetProperty("file_url").GetString()!);
    }

    private static ByteArrayContent Bytes(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    [Fact]
    public async Task Initiate_put_then_get_serves_the_same_bytes_without_auth()
    {
        var before = fixture.Emulator.State.Uploads;
        var (uploadUrl, fileUrl) = await InitiateAsync(fixture.Http, "start frame.png");

        Assert.StartsWith($"{fixture.BaseUrl}/storage/upload/", uploadUrl);
        Assert.StartsWith($"{fixture.BaseUrl}/cdn/uploads/", fileUrl);
        Assert.EndsWith("/start%20frame.png", fileUrl);

        using var anonymous = new HttpClient();
        using var notYet = await anonymous.GetAsync(fileUrl);
        using var put = await anonymous.PutAsync(uploadUrl, Bytes(Png, "image/png"));
        using var get = await anonymous.GetAsync(fileUrl);

        Assert.Equal(HttpStatusCode.NotFound, notYet.StatusCode);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("image/png", get.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Png, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(before + 1, fixture.Emulator.State.Uploads);

        var (code, _) = await fixture.SubmitAsync("fal-ai/kling-video/v3/pro/image-to-video",
            JsonSerializer.Serialize(new { start_image_url = fileUrl, prompt = "the lighthouse lights up" }));
        Assert.Equal(200, code);
    }

    [Fact]
    public async Task Initiate_needs_a_key()
    {
        using var anonymous = fixture.CreateClient(null);

        using var response = await anonymous.PostAsync("/storage/upload/initiate?storage_type=fal-cdn-v3", JsonBody("""{"content_type":"image/png","file_name":"a.png"}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Put_to_an_unknown_token_is_404()
    {
        using var anonymous = new HttpClient();

        using var put = await anonymous.PutAsync($"{fixture.BaseUrl}/storage/upload/{Guid.NewGuid():N}", Bytes(Png, "image/png"));

        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
    }

    [Fact]
    public async Task Uploads_above_the_limit_are_413_and_not_stored()
    {
        await using var small = await EmulatorServer.StartAsync(new EmulatorOptions { Urls = "http://127.0.0.1:0", MaxUploadBytes = 1000 });
        using var http = CreateClient(small, ApiKey);
        var (uploadUrl, fileUrl) = await InitiateAsync(http, "big.bin", "application/octet-stream");
        var (okUrl, okFileUrl) = await InitiateAsync(http, "fits.bin", "application/octet-stream");

        using var tooBig = await http.PutAsync(uploadUrl, Bytes(new byte[1001], "application/octet-stream"));
        using var fits = await http.PutAsync(okUrl, Bytes(new byte[1000], "application/octet-stream"));
        using var missing = await http.GetAsync(fileUrl);
        using var present = await http.GetAsync(okFileUrl);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("1000 bytes", (await BodyAsync(tooBig)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(1000, (await present.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal(1, small.State.Uploads);
    }

    [Fact]
    public async Task File_names_cannot_escape_their_folder()
    {
        var (_, fileUrl) = await InitiateAsync(fixture.Http, "../../etc/passwd");

        Assert.EndsWith("/passwd", fileUrl);
        Assert.DoesNotContain("..", fileUrl);
    }
}
