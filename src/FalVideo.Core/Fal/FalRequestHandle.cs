namespace FalVideo.Fal;

/// <summary>
/// What is needed to follow one queued request. Plain get/set properties so it can be stored in a job
/// journal and read back. fal's docs say to use the URLs submit returned; <see cref="FromIds"/> rebuilds
/// them only when they were lost (PROTOCOL.md "Endpoint id → URLs").
/// </summary>
public sealed class FalRequestHandle
{
    /// <summary>The full endpoint id the request was submitted to, e.g. <c>fal-ai/kling-video/v3/pro/text-to-video</c>.</summary>
    public string EndpointId { get; set; } = "";

    /// <summary>fal's <c>request_id</c>.</summary>
    public string RequestId { get; set; } = "";

    /// <summary>The <c>status_url</c> (<c>{queue}/{owner}/{alias}/requests/{id}/status</c>, no sub-path).</summary>
    public Uri StatusUrl { get; set; } = null!;

    /// <summary>The <c>response_url</c> (<c>{queue}/{owner}/{alias}/requests/{id}</c>).</summary>
    public Uri ResponseUrl { get; set; } = null!;

    /// <summary>The <c>cancel_url</c> (<c>{queue}/{owner}/{alias}/requests/{id}/cancel</c>).</summary>
    public Uri CancelUrl { get; set; } = null!;

    /// <summary>Rebuilds a handle from its ids. The URLs use <c>[namespace/]owner/alias</c> WITHOUT the
    /// endpoint's sub-path, as fal's queue expects (fal-js <c>queue.ts</c> status/result/cancel).</summary>
    /// <param name="endpointId">The full endpoint id; the sub-path is accepted and dropped from the URLs.</param>
    /// <param name="requestId">fal's request id; escaped into the URL.</param>
    /// <param name="queueBaseUrl">The queue base, e.g. <c>https://queue.fal.run</c>.</param>
    /// <returns>A handle whose URLs point at <paramref name="queueBaseUrl"/>.</returns>
    /// <exception cref="ArgumentException">Invalid endpoint id, or blank request id.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="queueBaseUrl"/> is null.</exception>
    public static FalRequestHandle FromIds(string endpointId, string requestId, Uri queueBaseUrl)
    {
        var id = FalEndpointId.Parse(endpointId);
        ArgumentException.ThrowIfNullOrWhiteSpace(requestId);
        ArgumentNullException.ThrowIfNull(queueBaseUrl);
        return new FalRequestHandle
        {
            EndpointId = id.Id,
            RequestId = requestId,
            StatusUrl = FalQueueUrls.Status(queueBaseUrl, id, requestId),
            ResponseUrl = FalQueueUrls.Result(queueBaseUrl, id, requestId),
            CancelUrl = FalQueueUrls.Cancel(queueBaseUrl, id, requestId),
        };
    }
}
