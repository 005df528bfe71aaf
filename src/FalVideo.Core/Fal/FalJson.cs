using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>
/// Lenient readers for fal's JSON. Fields of an unexpected type read as absent rather than throwing,
/// because fal adds and reshapes fields without notice (PROTOCOL.md marks several shapes UNCONFIRMED).
/// </summary>
internal static class FalJson
{
    /// <summary>Largest JSON body read into memory, in bytes; larger ones are a <see cref="FalProtocolException"/>.</summary>
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>Parses a body that must be a JSON object. The start of a bad body goes into the error, masked with
    /// <paramref name="apiKey"/> (<see cref="FalCredentials.Mask"/>): a server may echo the key back.</summary>
    /// <exception cref="FalProtocolException">Not JSON, or JSON that is not an object.</exception>
    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8, string what, string? apiKey)
    {
        JsonNode? node;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 256 });
            node = JsonNode.Parse(ref reader);
        }
        catch (JsonException ex)
        {
            throw new FalProtocolException($"The {what} is not valid JSON: {Preview(utf8, apiKey)}", ex);
        }

        return node as JsonObject
            ?? throw new FalProtocolException($"The {what} is not a JSON object: {Preview(utf8, apiKey)}");
    }

    /// <summary>True for a number that is neither NaN nor infinite (<c>double.IsFinite</c>, which net472 lacks).</summary>
    public static bool IsFinite(double value) => !double.IsNaN(value) && !double.IsInfinity(value);

    /// <summary>Parses a text body that must be a JSON object (see the byte overload).</summary>
    /// <exception cref="FalProtocolException">Not JSON, or JSON that is not an object.</exception>
    public static JsonObject ParseObject(string text, string what, string? apiKey) => ParseObject(Encoding.UTF8.GetBytes(text), what, apiKey);

    /// <summary>Parses JSON when possible, else null (error bodies).</summary>
    public static JsonNode? TryParse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            return JsonNode.Parse(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string field; null when absent or not a string.</summary>
    public static string? GetString(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>A string field, or the JSON text of any other non-null value (an <c>error</c> may be an object).</summary>
    public static string? GetText(JsonObject json, string name) => json[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var other => other.ToJsonString(),
    };

    /// <summary>An integer field (a JSON number or numeric string); null otherwise or out of range.</summary>
    public static int? GetInt(JsonObject json, string name) =>
        GetLong(json, name) is long n && n is >= int.MinValue and <= int.MaxValue ? (int)n : null;

    /// <summary>A 64-bit integer field (a JSON number without fraction, or a numeric string).</summary>
    public static long? GetLong(JsonObject json, string name)
    {
        if (GetDouble(json, name) is not double d || d != Math.Floor(d) || Math.Abs(d) > 9e18)
        {
            return null;
        }

        return (long)d;
    }

    /// <summary>A number field (a JSON number or numeric string); null otherwise.</summary>
    public static double? GetDouble(JsonObject json, string name)
    {
        if (json[name] is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<double>(out var d))
        {
            return IsFinite(d) ? d : null;
        }

        return value.TryGetValue<string>(out var text)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d) && IsFinite(d)
            ? d
            : null;
    }

    /// <summary>An absolute http(s) URL field; null otherwise.</summary>
    public static Uri? GetAbsoluteUri(JsonObject json, string name) =>
        GetString(json, name) is { } text
        && Uri.TryCreate(text, UriKind.Absolute, out var url)
        && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
            ? url
            : null;

    /// <summary>The start of a body for an error message, masked: enough to recognise an HTML error page.</summary>
    public static string Preview(ReadOnlySpan<byte> utf8, string? apiKey, int maxChars = 200)
    {
        // Masked before it is cut, so a key straddling the cut cannot leave its first half behind.
        var text = FalCredentials.Mask(Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, maxChars * 4)]), apiKey).Trim();
        text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (text.Length == 0)
        {
            return "(empty body)";
        }

        return text.Length > maxChars ? text[..maxChars] + "…" : text;
    }
}
