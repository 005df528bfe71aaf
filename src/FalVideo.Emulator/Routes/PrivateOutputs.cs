using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FalVideo.Emulator.Media;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// An account whose new files are private (fal's storage settings, <c>initial_acl</c> default <c>forbid</c>): while
/// <see cref="Enabled"/>, the CDN route refuses every GET without a valid signature with 403, and fal's storage sign
/// API, <c>POST /v1/storage/files/sign?url=&lt;file url&gt;</c> with a key and <c>{"expiration_seconds": N}</c>
/// (1–604800), answers <c>{"signed_url": …}</c> (PROTOCOL.md "Pricing and billing platform APIs", private outputs).
/// Signatures are HMAC-SHA256 over the path and expiry with a key of this emulator instance. Switched with
/// <c>POST /_emulator/private-outputs {"enabled": true}</c> or <see cref="EmulatorOptions.PrivateOutputs"/>.
/// </summary>
public sealed class PrivateOutputs
{
    /// <summary>fal's longest signed URL, in seconds (7 days).</summary>
    public const int MaxExpirationSeconds = 604800;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly TimeProvider _clock;
    private int _enabled;
    private int _signed;
    private int _refused;

    internal PrivateOutputs(bool enabled, TimeProvider clock)
    {
        _enabled = enabled ? 1 : 0;
        _clock = clock;
    }

    /// <summary>Whether unsigned CDN GETs are refused.</summary>
    public bool Enabled { get => Volatile.Read(ref _enabled) == 1; set => Volatile.Write(ref _enabled, value ? 1 : 0); }

    /// <summary>URLs the sign API has signed.</summary>
    public int Signed => Volatile.Read(ref _signed);

    /// <summary>CDN GETs refused for want of a valid signature.</summary>
    public int Refused => Volatile.Read(ref _refused);

    internal static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/storage/files/sign", Sign).RequireFalKey();
        app.MapPost("/_emulator/private-outputs", async (HttpContext context, EmulatorState state) =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (body?["enabled"] is not JsonValue value || !value.TryGetValue<bool>(out var enabled))
                return Responses.Detail(422, "The body must be {\"enabled\": true|false}.");
            state.PrivateOutputs.Enabled = enabled;
            return Responses.Json(new JsonObject { ["enabled"] = enabled });
        });
    }

    /// <summary>True when the CDN may serve <paramref name="context"/>'s request: outputs are public, or it is signed.</summary>
    internal bool Allows(HttpContext context)
    {
        if (!Enabled) return true;
        var query = context.Request.Query;
        if (long.TryParse(query["expires"], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            && expires >= _clock.GetUtcNow().ToUnixTimeSeconds()
            && query["fal_token"].ToString() is { Length: > 0 } token
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token), Encoding.ASCII.GetBytes(Token(context.Request.Path.Value ?? "", expires))))
            return true;
        Interlocked.Increment(ref _refused);
        return false;
    }

    private static async Task<IResult> Sign(HttpContext context, EmulatorState state, LocalMedia media)
    {
        var outputs = state.PrivateOutputs;
        if (!Uri.TryCreate(context.Request.Query["url"].ToString(), UriKind.Absolute, out var url))
            return Responses.Detail(422, "The query must name the file: ?url=<file url>.");
        JsonNode? body;
        try { body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted); }
        catch (JsonException) { return Responses.Detail(422, "The body must be JSON: {\"expiration_seconds\": N}."); }
        var seconds = body?["expiration_seconds"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : (int?)null;
        if (seconds is not (>= 1 and <= MaxExpirationSeconds))
            return Responses.Detail(422, $"expiration_seconds must be a whole number from 1 to {MaxExpirationSeconds}.");
        var baseUrl = context.Request.BaseUrl();
        if (!url.AbsoluteUri.StartsWith(baseUrl + LocalMedia.Prefix, StringComparison.Ordinal) || media.Find(url.AbsolutePath) is null)
            return Responses.Detail(404, "File not found");
        var expires = outputs._clock.GetUtcNow().ToUnixTimeSeconds() + seconds.Value;
        Interlocked.Increment(ref outputs._signed);
        var signed = $"{url.GetLeftPart(UriPartial.Path)}?expires={expires.ToString(CultureInfo.InvariantCulture)}&fal_token={outputs.Token(url.AbsolutePath, expires)}";
        return Responses.Json(new JsonObject { ["signed_url"] = signed });
    }

    private string Token(string path, long expires)
    {
        using var hmac = new HMACSHA256(_key);
        return Convert.ToHexString(hmac.ComputeHash(Encoding.UTF8.GetBytes(path + "\n" + expires.ToString(CultureInfo.InvariantCulture)))).ToLowerInvariant();
    }
}
