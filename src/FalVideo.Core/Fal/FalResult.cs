using System.Text.Json.Nodes;

namespace FalVideo.Fal;

/// <summary>A file in a model's output: <c>{"url", "content_type", "file_name", "file_size"}</c>
/// (PROTOCOL.md "Result"). The URL is a public CDN link kept "at least 7 days".</summary>
public sealed class FalFile
{
    /// <summary>The public download URL.</summary>
    public required Uri Url { get; init; }

    /// <summary>MIME type, e.g. <c>video/mp4</c>.</summary>
    public string? ContentType { get; init; }

    /// <summary>Suggested file name.</summary>
    public string? FileName { get; init; }

    /// <summary>Size in bytes, when fal said.</summary>
    public long? FileSize { get; init; }

    /// <summary>Reads a file object; null when it has no absolute <c>url</c>.</summary>
    internal static FalFile? FromJson(JsonNode? node)
    {
        if (node is not JsonObject json || FalJson.GetAbsoluteUri(json, "url") is not { } url)
        {
            return null;
        }

        return new FalFile
        {
            Url = url,
            ContentType = FalJson.GetString(json, "content_type"),
            FileName = FalJson.GetString(json, "file_name"),
            FileSize = FalJson.GetLong(json, "file_size"),
        };
    }
}

/// <summary>A model's output as returned by <c>GET response_url</c> (PROTOCOL.md "Result"). Results are kept
/// for a limited time after completion: fetch promptly and keep <see cref="RawJson"/>.</summary>
public sealed class FalResult
{
    /// <summary>The request id (<c>x-fal-request-id</c> header, else the request followed).</summary>
    public required string RequestId { get; init; }

    /// <summary>The output body exactly as received (UTF-8 text of the JSON).</summary>
    public required string RawJson { get; init; }

    /// <summary>The parsed output; a fresh node tree per result.</summary>
    public required JsonNode Output { get; init; }

    /// <summary>The <c>video</c> object of a video model's output; null when absent or without a URL.</summary>
    public FalFile? Video { get; init; }

    /// <summary>The billed quantity fal sent in the <c>x-fal-billable-units</c> response header of the result fetch
    /// (PROTOCOL.md "Headers worth exposing": e.g. seconds of video for a per-second price); null when fal sent none or
    /// a value that is not a non-negative number. Never required: fal does not send it for every endpoint.</summary>
    public decimal? BillableUnits { get; init; }

    /// <summary>Reads <c>x-fal-billable-units</c>: a non-negative decimal number (invariant culture), else null.</summary>
    internal static decimal? ParseBillableUnits(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("x-fal-billable-units", out var values)) return null;
        foreach (var value in values)
        {
            if (decimal.TryParse(value?.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var units)
                && units >= 0)
                return units;
        }
        return null;
    }
}
