using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Media;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// fal's two-step upload (PROTOCOL.md, "Upload of local files"): <c>POST /storage/upload/initiate</c> with a key
/// returns <c>upload_url</c> and <c>file_url</c>; an unauthenticated <c>PUT upload_url</c> stores the bytes, which
/// the CDN then serves at <c>file_url</c>. The multipart variant (files over 90 MiB in fal-js) is not emulated.
/// </summary>
internal static class StorageRoutes
{
    private const string DefaultContentType = "application/octet-stream";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/storage/upload/initiate", Initiate).RequireFalKey();
        app.MapPut("/storage/upload/{token}", Put);
    }

    private static async Task<IResult> Initiate(HttpContext context, UploadStore uploads)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return Responses.Detail(422, "The body must be JSON: {\"content_type\": \"<mime>\", \"file_name\": \"<name>\"}.");
        }
        var contentType = Text(body, "content_type") ?? DefaultContentType;
        var fileName = SafeFileName(Text(body, "file_name"));
        var upload = uploads.Initiate(fileName, contentType);
        var baseUrl = context.Request.BaseUrl();
        return Responses.Json(new JsonObject
        {
            ["upload_url"] = $"{baseUrl}/storage/upload/{upload.Token}",
            ["file_url"] = $"{baseUrl}{LocalMedia.Prefix}uploads/{upload.Token}/{Uri.EscapeDataString(fileName)}",
        });
    }

    private static async Task<IResult> Put(HttpContext context, string token, UploadStore uploads, EmulatorOptions options)
    {
        if (uploads.Find(token) is not { } upload) return Responses.Detail(404, "Unknown upload URL: call /storage/upload/initiate first.");
        var limit = options.MaxUploadBytes;
        if (context.Request.ContentLength > limit) return TooLarge(limit);

        // Kestrel's own 30 MB cap would answer with an empty 413; this route enforces the emulator's documented limit itself.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit) sizeLimit.MaxRequestBodySize = null;
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            if (copy.Length + read > limit) return TooLarge(limit);
            copy.Write(buffer, 0, read);
        }
        uploads.Complete(upload, copy.ToArray(), context.Request.ContentType);
        return Results.Ok();
    }

    private static IResult TooLarge(long limit) =>
        Responses.Detail(413, $"File is larger than the emulator's upload limit of {limit} bytes.");

    private static string? Text(JsonNode? body, string name) =>
        body is JsonObject obj && obj[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;

    // The name becomes one URL path segment: no folders, nothing empty.
    private static string SafeFileName(string? requested)
    {
        var name = Path.GetFileName((requested ?? "").Replace('\\', '/'));
        return string.IsNullOrWhiteSpace(name) || name is "." or ".." ? "upload.bin" : name;
    }
}
