using System.Text;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Faults;

/// <summary>
/// Applies the <see cref="FaultInjector"/>'s rules in front of the emulator's routes. "After" faults run the real
/// route against a buffered body first, so the server-side effect (a created job) happens exactly as without the
/// fault and only the answer is damaged — the case a client must not resubmit.
/// </summary>
internal static class FaultMiddleware
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, FaultInjector faults)
    {
        if (FaultInjector.Classify(context.Request) is not { } route || faults.Next(route, context.Request.Path.Value ?? "") is not { } armed)
        {
            await next(context);
            return;
        }
        var rule = armed.Rule;

        switch (rule.Action)
        {
            case FaultAction.Trickle:
                await TrickleAsync(context, next, armed);
                return;
            case FaultAction.EndlessSseLine:
                await EndlessLineAsync(context, armed);
                return;
        }

        if (rule.Action == FaultAction.LockedAccount)
        {
            await RespondAsync(context, new FaultRule { Route = rule.Route, StatusCode = 403, Body = FaultRule.LockedAccountBody });
            return;
        }

        if (route == FaultRoute.Stream && rule.Action is not (FaultAction.Respond or FaultAction.ResetBefore or FaultAction.DelayBefore))
        {
            await StreamFaultAsync(context, next, rule);
            return;
        }

        switch (rule.Action)
        {
            case FaultAction.Respond:
                await RespondAsync(context, rule);
                return;
            case FaultAction.ResetBefore:
                context.Abort();
                return;
            case FaultAction.DelayBefore:
                if (await DelayAsync(context, rule)) await next(context);
                return;
        }

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
            // Text results write through the body's PipeWriter; push what it holds into the buffer.
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        }
        finally
        {
            context.Response.Body = original;
        }
        var body = buffer.ToArray();

        switch (rule.Action)
        {
            case FaultAction.ResetAfter:
                context.Abort();
                return;
            case FaultAction.Truncate:
                // The full length is announced, so the client knows the body it got was cut short.
                context.Response.ContentLength = body.Length;
                await original.WriteAsync(body.AsMemory(0, body.Length / 2), context.RequestAborted);
                await original.FlushAsync(context.RequestAborted);
                context.Abort();
                return;
            case FaultAction.Malformed:
                // A strict prefix of a JSON object is never valid JSON; for a download it is a short file.
                var half = body.AsMemory(0, Math.Max(1, body.Length / 2));
                if (body.Length == 0) half = "{"u8.ToArray();
                context.Response.ContentLength = half.Length;
                await original.WriteAsync(half, context.RequestAborted);
                return;
            case FaultAction.DelayAfter:
                if (!await DelayAsync(context, rule)) return;
                context.Response.ContentLength = body.Length;
                await original.WriteAsync(body, context.RequestAborted);
                return;
            case FaultAction.TruncateNoLength:
                // No length: Kestrel frames the part as chunked and ends it with the terminating chunk, so the transfer
                // itself looks complete.
                var part = (int)Math.Min(body.Length, rule.LimitBytes ?? body.Length / 2);
                context.Response.ContentLength = null;
                try
                {
                    await original.WriteAsync(body.AsMemory(0, part), context.RequestAborted);
                    armed.AddBytesSent(part);
                }
                catch (Exception e) when (IsClientGone(context, e))
                {
                    // Counted below.
                }
                if (context.RequestAborted.IsCancellationRequested) armed.CountClientGaveUp();
                return;
        }
    }

    /// <summary>Runs the real route with its body going out through a <see cref="TrickleStream"/>.</summary>
    private static async Task TrickleAsync(HttpContext context, RequestDelegate next, ArmedFault armed)
    {
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var original = context.Response.Body;
        context.Response.Body = new TrickleStream(original, armed, context.RequestAborted);
        try
        {
            await next(context);
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        }
        catch (Exception e) when (IsClientGone(context, e))
        {
            // Counted below.
        }
        finally
        {
            context.Response.Body = original;
        }
        // The file result swallows a cancelled copy (a client that went away), so this is where a hang-up shows.
        if (context.RequestAborted.IsCancellationRequested) armed.CountClientGaveUp();
    }

    /// <summary>One SSE line that never ends: <c>data: </c> and then <c>x</c>, 64 KB at a time.</summary>
    private static async Task EndlessLineAsync(HttpContext context, ArmedFault armed)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var chunk = new byte[64 * 1024];
        chunk.AsSpan().Fill((byte)'x');
        "data: "u8.CopyTo(chunk);
        var limit = armed.Rule.LimitBytes ?? long.MaxValue;
        long sent = 0;
        try
        {
            // Kestrel may accept writes to a connection already gone without failing them: the token is the signal.
            while (sent < limit && !context.RequestAborted.IsCancellationRequested)
            {
                var count = (int)Math.Min(chunk.Length, limit - sent);
                await response.Body.WriteAsync(chunk.AsMemory(0, count), context.RequestAborted);
                await response.Body.FlushAsync(context.RequestAborted);
                sent += count;
                armed.AddBytesSent(count);
                if (sent == count) "xxxxxx"u8.CopyTo(chunk); // "data: " only once, at the start of the line
            }
        }
        catch (Exception e) when (IsClientGone(context, e))
        {
            // Counted below.
        }
        if (context.RequestAborted.IsCancellationRequested) armed.CountClientGaveUp();
    }

    /// <summary>True when <paramref name="e"/> is the write failing because the client hung up.</summary>
    private static bool IsClientGone(HttpContext context, Exception e) =>
        context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException;

    private static async Task RespondAsync(HttpContext context, FaultRule rule)
    {
        var response = context.Response;
        response.StatusCode = rule.StatusCode;
        if (rule.RetryAfterSeconds is { } retry) response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (rule.RequestIdHeader) response.Headers["x-fal-request-id"] = Guid.NewGuid().ToString();
        if (rule.TimeoutType is { } type) response.Headers["X-Fal-Request-Timeout-Type"] = type;
        // {authorization} echoes the request's Authorization header, as a careless proxy or upstream error page does.
        var text = rule.Body?.Replace("{authorization}", context.Request.Headers.Authorization.ToString(), StringComparison.Ordinal);
        var body = Encoding.UTF8.GetBytes(text ?? $"{{\"detail\": \"Emulated fault: HTTP {rule.StatusCode}\"}}");
        response.ContentType = rule.ContentType;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>Waits the rule's delay; false when the client went away meanwhile.</summary>
    private static async Task<bool> DelayAsync(HttpContext context, FaultRule rule)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(rule.DelaySeconds), context.RequestAborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task StreamFaultAsync(HttpContext context, RequestDelegate next, FaultRule rule)
    {
        if (rule.Action == FaultAction.Malformed)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"status\": \"IN_QUEUE\", \"request_id\": \n\n", context.RequestAborted);
            return;
        }
        if (rule.Action == FaultAction.DelayAfter)
        {
            if (await DelayAsync(context, rule)) await next(context);
            return;
        }
        // ResetAfter and Truncate: the first event gets through, then the connection drops.
        var original = context.Response.Body;
        context.Response.Body = new AbortAfterFirstFlush(original, context);
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
    }

    /// <summary>
    /// Passes writes through at <see cref="FaultRule.BytesPerSecond"/>: a tenth of it (at least one byte) at a time,
    /// each slice flushed so it leaves at once instead of waiting in Kestrel's buffer, then a pause that keeps the rate.
    /// </summary>
    private sealed class TrickleStream(Stream inner, ArmedFault armed, CancellationToken aborted) : Stream
    {
        private readonly int step = Math.Max(1, armed.Rule.BytesPerSecond / 10);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, aborted);
            while (!buffer.IsEmpty)
            {
                var slice = buffer[..Math.Min(step, buffer.Length)];
                await inner.WriteAsync(slice, both.Token);
                await inner.FlushAsync(both.Token);
                armed.AddBytesSent(slice.Length);
                buffer = buffer[slice.Length..];
                await Task.Delay(TimeSpan.FromSeconds((double)slice.Length / armed.Rule.BytesPerSecond), both.Token);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override void Flush() => FlushAsync().GetAwaiter().GetResult();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Passes writes through and drops the connection at the first flush that follows a write.</summary>
    private sealed class AbortAfterFirstFlush(Stream inner, HttpContext context) : Stream
    {
        private bool wrote;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            wrote = true;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            await inner.FlushAsync(cancellationToken);
            if (wrote) context.Abort();
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override void Flush() => FlushAsync().GetAwaiter().GetResult();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
