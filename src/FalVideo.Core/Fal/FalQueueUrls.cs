namespace FalVideo.Fal;

/// <summary>
/// Every fal URL is built here and nowhere else. Source: PROTOCOL.md "Endpoint id → URLs" and
/// "Upload of local files"; fal-js <c>libs/client/src/queue.ts</c> (status/result/cancel use
/// <c>owner/alias</c> only) and <c>storage.ts</c>.
/// </summary>
internal static class FalQueueUrls
{
    /// <summary><c>POST {queue}/{full id}[?fal_webhook=…]</c>: the only call that keeps the sub-path. The query comes
    /// encoded (<see cref="FalSubmitOptions.WebhookQuery"/>) and is sent as it is: <see cref="Uri"/> would otherwise
    /// unescape <c>%7E</c> to <c>~</c>, where fal's JS client sends <c>%7E</c>. On .NET Framework, which has no switch for
    /// that, the query goes out canonicalized (the same URL to any server, spelled differently).</summary>
    public static Uri Submit(Uri queueBase, FalEndpointId id, string? webhookQuery)
    {
        var url = Append(queueBase, id.Id, null);
        if (webhookQuery is null) return url;
#if NET
        return new Uri(url.AbsoluteUri + "?" + webhookQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
#else
        return new Uri(url.AbsoluteUri + "?" + webhookQuery);
#endif
    }

    /// <summary><c>{queue}/{app id}/requests/{request id}/status</c> (no query; see <see cref="WithLogs"/>).</summary>
    public static Uri Status(Uri queueBase, FalEndpointId id, string requestId) => Request(queueBase, id, requestId, "/status");

    /// <summary><c>{queue}/{app id}/requests/{request id}</c>.</summary>
    public static Uri Result(Uri queueBase, FalEndpointId id, string requestId) => Request(queueBase, id, requestId, "");

    /// <summary><c>{queue}/{app id}/requests/{request id}/cancel</c>.</summary>
    public static Uri Cancel(Uri queueBase, FalEndpointId id, string requestId) => Request(queueBase, id, requestId, "/cancel");

    /// <summary>The SSE stream sits beside the status URL: <c>{status url}/stream?logs=…</c>.</summary>
    public static Uri StatusStream(Uri statusUrl, bool logs) =>
        WithLogs(new Uri(statusUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/stream" + statusUrl.Query), logs);

    /// <summary>Sets <c>logs=1</c> or <c>logs=0</c>, replacing any <c>logs</c> already in the query.</summary>
    public static Uri WithLogs(Uri url, bool logs)
    {
        var kept = url.Query.TrimStart('?')
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p != "logs" && !p.StartsWith("logs=", StringComparison.Ordinal));
        var query = string.Join('&', kept.Append(logs ? "logs=1" : "logs=0"));
        return new Uri(url.GetLeftPart(UriPartial.Path) + "?" + query);
    }

    /// <summary><c>POST {rest}/storage/upload/initiate?storage_type=fal-cdn-v3</c>.</summary>
    public static Uri UploadInitiate(Uri restBase) => Append(restBase, "storage/upload/initiate", "storage_type=fal-cdn-v3");

    /// <summary><c>POST {api}/storage/files/sign?url=&lt;file url&gt;</c> (PROTOCOL.md "Pricing and billing platform APIs",
    /// private outputs).</summary>
    public static Uri SignFile(Uri apiBase, Uri fileUrl) => Append(apiBase, "storage/files/sign", "url=" + Uri.EscapeDataString(fileUrl.AbsoluteUri));

    /// <summary>Same scheme, host and port: the key is only ever sent to the configured queue origin.</summary>
    public static bool SameOrigin(Uri a, Uri b) =>
        a.IsAbsoluteUri && b.IsAbsoluteUri
        && string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    /// <summary>True for <c>https://</c>, and for <c>http://</c> only on a loopback host (127.0.0.0/8, ::1, localhost).</summary>
    public static bool IsAllowedScheme(Uri url) =>
        url.IsAbsoluteUri
        && (url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback));

    /// <summary>The URL as written to the log; signed upload/CDN URLs lose their query because it is a credential.</summary>
    public static string ForLog(Uri url, bool hideQuery) =>
        hideQuery && url.Query.Length > 1 ? url.GetLeftPart(UriPartial.Path) + "?…" : url.AbsoluteUri;

    private static Uri Request(Uri queueBase, FalEndpointId id, string requestId, string suffix) =>
        Append(queueBase, $"{id.AppId}/requests/{Uri.EscapeDataString(requestId)}{suffix}", null);

    // A base may carry a path (a proxy such as https://proxy.example/fal/); keep it.
    internal static Uri Append(Uri baseUrl, string relativePath, string? query) =>
        new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + relativePath + (query is null ? "" : "?" + query));
}
