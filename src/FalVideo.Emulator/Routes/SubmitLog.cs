using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Routes;

/// <summary>
/// What one <c>POST /{endpoint id}</c> carried besides its body: the raw query (as <c>?fal_webhook=…</c> arrived,
/// still encoded) and every <c>x-fal-*</c> header, names as written on the wire. Lets a test compare what two clients
/// send for the same submit options.
/// </summary>
/// <param name="EndpointId">The path after the host, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</param>
/// <param name="Query">The raw query including <c>?</c>, or empty.</param>
/// <param name="Headers">The <c>x-fal-*</c> headers in arrival order, names as sent.</param>
public sealed record SubmitWire(string EndpointId, string Query, IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>
/// The submissions received, newest last (<c>GET /_emulator/submissions</c>); at most <see cref="Capacity"/> are kept,
/// the oldest dropped first. Every submit is recorded, also those refused (404, 422) or caught by a fault rule after the
/// route ran.
/// </summary>
public sealed class SubmitLog
{
    /// <summary>How many submissions are kept.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentQueue<SubmitWire> _entries = new();

    /// <summary>The submissions kept, oldest first.</summary>
    public IReadOnlyList<SubmitWire> All => _entries.ToArray();

    internal void Record(HttpContext context, string endpointId)
    {
        // Kestrel keeps the wire spelling of a header name it does not know, which every x-fal-* header is.
        var headers = context.Request.Headers
            .Where(h => h.Key.StartsWith("x-fal-", StringComparison.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, string>(h.Key, h.Value.ToString()))
            .ToList();
        _entries.Enqueue(new SubmitWire(endpointId, context.Request.QueryString.Value ?? "", headers));
        while (_entries.Count > Capacity && _entries.TryDequeue(out _)) { }
    }

    internal void Clear() => _entries.Clear();

    internal JsonObject ToJson() => new()
    {
        ["submissions"] = new JsonArray(All.Select(s => (JsonNode)new JsonObject
        {
            ["endpoint_id"] = s.EndpointId,
            ["query"] = s.Query,
            ["headers"] = new JsonArray(s.Headers.Select(h => (JsonNode)new JsonArray(h.Key, h.Value)).ToArray()),
        }).ToArray()),
    };
}
