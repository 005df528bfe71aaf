using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace FalVideo.Fal;

/// <summary>
/// Reads fal's status stream: standard server-sent events, one status JSON per <c>data:</c>, comment keep-alives
/// every 15 s, closed by the server after <c>COMPLETED</c> (PROTOCOL.md "Status stream (SSE)"). Parsing is
/// <see cref="SseParser"/>'s; comments never surface as items.
/// </summary>
internal static class FalStatusStream
{
    /// <summary>Reads statuses until <c>COMPLETED</c> (inclusive) or the end of the stream.</summary>
    /// <param name="body">The response body.</param>
    /// <param name="fallbackRequestId">Used when an event has no <c>request_id</c>.</param>
    /// <param name="idleTimeout">How long the stream may stay silent, keep-alives included.</param>
    /// <param name="apiKey">Masked out of the text each event carries (see <see cref="FalStatus.FromJson"/>).</param>
    /// <param name="ct">The caller's token.</param>
    /// <exception cref="FalProtocolException">An event is not a JSON object, or is larger than 4 MB.</exception>
    /// <exception cref="TimeoutException">No byte arrived within <paramref name="idleTimeout"/>.</exception>
    public static async IAsyncEnumerable<FalStatus> ReadAsync(
        Stream body, string fallbackRequestId, TimeSpan idleTimeout, string? apiKey, [EnumeratorCancellation] CancellationToken ct)
    {
        using var stream = new SseEventLimitStream(new IdleTimeoutStream(body, idleTimeout), FalJson.MaxBodyBytes);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
        {
            if (string.IsNullOrWhiteSpace(item.Data))
            {
                continue;
            }

            var status = FalStatus.FromJson(FalJson.ParseObject(item.Data, "status stream event", apiKey), fallbackRequestId, apiKey);
            yield return status;
            if (status.IsCompleted)
            {
                yield break;
            }
        }
    }
}
