using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;

namespace FalVideo.Fal;

/// <summary>How a call may be retried.</summary>
internal enum FalRetryMode
{
    /// <summary>Status, result, cancel, upload, download: resending is harmless.</summary>
    Idempotent,

    /// <summary>Submit: fal has no idempotency key, so resend only when fal provably did not take the request.</summary>
    Submit,
}

/// <summary>
/// Which failures are retried, and how long to wait. Compared with the official clients (PROTOCOL.md
/// "Retries in the official clients"; fal-js <c>libs/client/src/retry.ts</c>, <c>queue.ts</c>): the same
/// status codes and exponential back-off with jitter, plus <c>Retry-After</c>, but a submit is only resent when
/// it never reached fal — fal-js re-POSTs on 5xx, which can start a second billable job.
/// </summary>
internal static class FalRetryPolicy
{
    /// <summary>Status codes worth another attempt for an idempotent call.</summary>
    public static readonly HashSet<int> RetryableStatusCodes = new HashSet<int> { 408, 429, 500, 502, 503, 504 };

    /// <summary>Builds the pipeline for one mode.</summary>
    /// <param name="options">Retry count, base delay and cap.</param>
    /// <param name="mode">Idempotent or submit classification.</param>
    /// <param name="log">Receives one line per retry.</param>
    public static ResiliencePipeline<HttpResponseMessage> Create(FalClientOptions options, FalRetryMode mode, Action<string> log)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.MaxRetries == 0)
        {
            return builder.Build();
        }

        var maxDelay = options.MaxRetryDelay;
        return builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = options.MaxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryBaseDelay,
            MaxDelay = maxDelay,
            ShouldHandle = args => new ValueTask<bool>(mode == FalRetryMode.Submit
                ? ShouldRetrySubmit(args.Outcome, maxDelay)
                : ShouldRetry(args.Outcome, maxDelay)),
            // Null lets Polly's exponential back-off decide.
            DelayGenerator = args => new ValueTask<TimeSpan?>(
                args.Outcome.Result is { } response ? GetRetryAfter(response, DateTimeOffset.UtcNow) : null),
            OnRetry = args =>
            {
                log($"retry {args.AttemptNumber + 1} of {options.MaxRetries} in {args.RetryDelay.TotalMilliseconds:0} ms after {Describe(args.Outcome)}");
                return default;
            },
        }).Build();
    }

    /// <summary>Idempotent calls: 408/429/500/502/503/504 and transport failures, never the caller's cancellation.</summary>
    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, TimeSpan maxDelay)
    {
        if (outcome.Exception is { } ex)
        {
            return IsTransient(ex);
        }

        var response = outcome.Result!;
        return RetryableStatusCodes.Contains((int)response.StatusCode)
            && !IsUserStartTimeout(response)
            && !RetryAfterTooLong(response, maxDelay);
    }

    /// <summary>Submit: only when fal provably did not accept it — the connection never opened, a 429, or a 503
    /// from the ingress (no <c>x-fal-request-id</c>, the sign fal's Python client also uses).</summary>
    public static bool ShouldRetrySubmit(Outcome<HttpResponseMessage> outcome, TimeSpan maxDelay)
    {
        if (outcome.Exception is { } ex)
        {
            return IsProvablyNotSent(ex);
        }

        var response = outcome.Result!;
        var rejectedUpFront = response.StatusCode == FalHttpStatus.TooManyRequests
            || (response.StatusCode == HttpStatusCode.ServiceUnavailable && !HasRequestId(response));
        return rejectedUpFront && !RetryAfterTooLong(response, maxDelay);
    }

    /// <summary>Transport failures and single-attempt timeouts; the caller's cancellation is never one.</summary>
    public static bool IsTransient(Exception ex) =>
        ex is not OperationCanceledException
        && ex is HttpRequestException or IOException or TimeoutException or SocketException;

    /// <summary>True when the connection failed before any byte of the request could have been sent
    /// (refused, unresolvable or unreachable host).</summary>
    public static bool IsProvablyNotSent(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
#if NET8_0_OR_GREATER
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError })
            {
                return true;
            }
#else
            // .NET Framework reports a connection that never opened as a WebException (usually over a SocketException).
            if (e is WebException { Status: WebExceptionStatus.NameResolutionFailure or WebExceptionStatus.ConnectFailure })
            {
                return true;
            }
#endif

            if (e is SocketException socket && socket.SocketErrorCode is SocketError.ConnectionRefused
                    or SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData
                    or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A 504 with <c>X-Fal-Request-Timeout-Type: user</c>: the caller's own start timeout expired (final).</summary>
    public static bool IsUserStartTimeout(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.GatewayTimeout
        && response.Headers.TryGetValues("X-Fal-Request-Timeout-Type", out var values)
        && values.Any(v => string.Equals(v.Trim(), "user", StringComparison.OrdinalIgnoreCase));

    /// <summary>The <c>Retry-After</c> delay (seconds or HTTP date); null when absent.</summary>
    public static TimeSpan? GetRetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>Whether the response carries fal's <c>x-fal-request-id</c> (it reached the queue, not just the ingress).</summary>
    public static bool HasRequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-fal-request-id", out var values) && values.Any(v => !string.IsNullOrWhiteSpace(v));

    // Waiting longer than the configured cap would hang a cmdlet; the error carries the hint instead.
    private static bool RetryAfterTooLong(HttpResponseMessage response, TimeSpan maxDelay) =>
        GetRetryAfter(response, DateTimeOffset.UtcNow) is { } wait && wait > maxDelay;

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex ? $"{ex.GetType().Name}: {ex.Message}" : $"HTTP {(int)outcome.Result!.StatusCode}";
}
