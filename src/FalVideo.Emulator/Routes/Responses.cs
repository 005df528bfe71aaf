using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Routes;

/// <summary>JSON replies in fal's shapes; every JSON reply goes through here so the content type stays <c>application/json</c>.</summary>
internal static class Responses
{
    // Quotes and angle brackets stay readable in messages; these bodies are never embedded in HTML.
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IResult Json(JsonNode body, int status = 200) =>
        Results.Text(Text(body), "application/json", statusCode: status);

    public static string Text(JsonNode body) => body.ToJsonString(Readable);

    /// <summary><c>{"detail": "..."}</c>, fal's (FastAPI's) plain error body.</summary>
    public static IResult Detail(int status, string detail) => Json(new JsonObject { ["detail"] = detail }, status);

    /// <summary>Scheme, host and path base the client used, so returned URLs work through whatever address it dialled.</summary>
    public static string BaseUrl(this HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";
}
