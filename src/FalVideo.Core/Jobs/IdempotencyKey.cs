using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FalVideo.Jobs;

/// <summary>
/// What makes two submissions the same request, so a re-run of the same rows finds the jobs it already paid for
/// instead of paying again: the SHA-256 (lowercase hex) of the canonical JSON
/// <c>{"endpoint_id":…,"id":…,"input":…}</c>, where <c>input</c> is the model input with every object's properties
/// sorted by name (ordinal) at every depth and no whitespace, and <c>id</c> is the row's own Id (null when none).
/// </summary>
/// <remarks>
/// Local files are uploaded to fal storage before a submit, and each upload gets a new URL, so the input as sent
/// differs between runs. The key is computed from the planned input instead, with each local file standing as
/// <see cref="FileReference"/>: its full path, size and last-write time. The same CSV over the same files gives the same
/// key; a file edited in place gives another.
/// </remarks>
public static class IdempotencyKey
{
    /// <summary>The key of a submission of <paramref name="input"/> to <paramref name="endpointId"/> for the row <paramref name="rowId"/>.</summary>
    /// <param name="endpointId">The fal endpoint id.</param>
    /// <param name="input">The model input, with local files as <see cref="FileReference"/> values.</param>
    /// <param name="rowId">The row's own identifier, or null.</param>
    public static string Compute(string endpointId, JsonNode? input, string? rowId)
    {
        ArgumentNullException.ThrowIfNull(endpointId);
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            writer.WriteString("endpoint_id", endpointId);
            if (rowId is null) writer.WriteNull("id");
            else writer.WriteString("id", rowId);
            writer.WritePropertyName("input");
            WriteCanonical(writer, input);
            writer.WriteEndObject();
        }
        return Hex(Sha256(buffer.ToArray()));
    }

    /// <summary>The canonical JSON of <paramref name="node"/>: properties sorted by name (ordinal) at every depth, no whitespace.</summary>
    public static string Canonical(JsonNode? node)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
            WriteCanonical(writer, node);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>How a local file stands in the input a key is computed from: <c>file:&lt;full path&gt;|&lt;size&gt;|&lt;last write, UTC ticks&gt;</c>.</summary>
    /// <param name="path">The file's full path.</param>
    public static string FileReference(string path)
    {
        var info = new FileInfo(path);
        return info.Exists
            ? $"file:{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}"
            : $"file:{info.FullName}|missing";
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject o:
                writer.WriteStartObject();
                foreach (var kv in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(kv.Key);
                    WriteCanonical(writer, kv.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (var item in a) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    private static byte[] Sha256(byte[] data)
    {
        using var sha = SHA256.Create();
        return sha.ComputeHash(data);
    }

    private static string Hex(byte[] bytes)
    {
        var text = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes) text.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return text.ToString();
    }
}
