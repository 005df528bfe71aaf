using System.Buffers;
using System.Diagnostics;
using Polly;

namespace FalVideo.Fal;

/// <summary>
/// Runs one <see cref="FalHttpCall"/> through the retry pipeline: a fresh request per attempt, the per-attempt
/// timeout, auth and user agent headers, capped body buffering and one log line per attempt.
/// </summary>
internal sealed class FalHttpSender
{
    private readonly HttpClient _http;
    private readonly FalClientOptions _options;
    private readonly ResiliencePipeline<HttpResponseMessage> _idempotent;
    private readonly ResiliencePipeline<HttpResponseMessage> _submit;

    public FalHttpSender(HttpClient http, FalClientOptions options)
    {
        _http = http;
        _options = options;
        _idempotent = FalRetryPolicy.Create(options, FalRetryMode.Idempotent, Log);
        _submit = FalRetryPolicy.Create(options, FalRetryMode.Submit, Log);
    }

    /// <summary>Sends with retries. Returns the last response (2xx or not; non-2xx bodies are buffered).</summary>
    /// <exception cref="TimeoutException">The last attempt got no answer within its timeout.</exception>
    /// <exception cref="HttpRequestException">The last attempt failed in transport.</exception>
    /// <exception cref="FalProtocolException">A body was larger than <see cref="FalJson.MaxBodyBytes"/>.</exception>
    /// <exception cref="OperationCanceledException">The caller's token was cancelled, whatever the HTTP stack threw as it
    /// stopped (a closed stream is reported as this too, with it as the inner exception).</exception>
    public async Task<HttpResponseMessage> SendAsync(FalHttpCall call, CancellationToken ct)
    {
        var pipeline = call.Retry == FalRetryMode.Submit ? _submit : _idempotent;
        return await pipeline.ExecuteAsync(token => AttemptAsync(call, token), ct).ConfigureAwait(false);
    }

    /// <summary>Writes a line to <see cref="FalClientOptions.Log"/>, masked.</summary>
    public void Log(string line)
    {
        if (_options.Log is not { } log)
        {
            return;
        }

        try
        {
            log(FalCredentials.Mask(line, _options.ApiKey));
        }
        catch (Exception)
        {
            // A diagnostics sink must never change the outcome of a (possibly billable) call.
        }
    }

    /// <summary>Reads a whole body into memory, refusing more than <see cref="FalJson.MaxBodyBytes"/>; a body this sender
    /// already buffered (<see cref="BufferedContent"/>) is returned as it is.</summary>
    /// <exception cref="FalProtocolException">The body is larger than the cap.</exception>
    public static async Task<byte[]> ReadCappedAsync(HttpContent content, int statusCode, CancellationToken ct)
    {
        if (content is BufferedContent buffered)
        {
            return buffered.Bytes;
        }

        var length = content.Headers.ContentLength;
        if (length > FalJson.MaxBodyBytes)
        {
            throw Oversized(statusCode);
        }

        using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        if (length is { } known)
        {
            // Queue bodies are small and say their length: read them into an array of exactly that size. A body that
            // ends early fails the read (EndOfStreamException, an IOException), as a broken transfer should.
            var exact = new byte[known];
            await stream.ReadExactlyAsync(exact, ct).ConfigureAwait(false);
            return exact;
        }

        // Unknown length (chunked, or decompressed): a pooled buffer, so no call allocates a fresh 80 KB one.
        using var memory = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                if (memory.Length + read > FalJson.MaxBodyBytes)
                {
                    throw Oversized(statusCode);
                }

                memory.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return memory.ToArray();
    }

    /// <summary>The body of a response (see <see cref="ReadCappedAsync"/>: one this sender buffered is not copied again).</summary>
    public static Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken ct) =>
        ReadCappedAsync(response.Content, (int)response.StatusCode, ct);

    private async ValueTask<HttpResponseMessage> AttemptAsync(FalHttpCall call, CancellationToken ct)
    {
        var timeout = call.AttemptTimeout ?? _options.RequestTimeout;
        // The attempt's own timer is a token source of its own, so a timeout is known by its source having fired, not
        // guessed from the caller's token not (yet) reading cancelled: on .NET Framework a cancelled request can fail
        // before that token reads cancelled on the failing thread, and was then reported as a timeout.
        using var timer = new CancellationTokenSource();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        timer.CancelAfter(timeout);
        using var request = CreateRequest(call);
        var started = Stopwatch.GetTimestamp();
        // Only built when a line is logged or an error needs it: most calls succeed with nobody listening.
        string Target() => $"{call.Method.Method} {FalQueueUrls.ForLog(call.Url, call.HideQueryInLog)}";
        HttpResponseMessage? response = null;
        if (_options.Debug is not null)
        {
            await DebugAsync(() => DescribeRequestAsync(request, Target())).ConfigureAwait(false);
        }

        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
#if NETFRAMEWORK
            // .NET Framework leaves Content null when a handler sets none (.NET gives an empty one); every reader here
            // expects a body, empty or not.
            response.Content ??= new ByteArrayContent([]);
#endif
            if (!response.IsSuccessStatusCode || (!call.StreamSuccessBody && call.ConsumeSuccessBody is null))
            {
                await BufferAsync(response, attempt.Token).ConfigureAwait(false);
            }
            else if (call.ConsumeSuccessBody is { } consume)
            {
                // A large body may take longer than one attempt; its reads have an idle timeout instead.
                timer.CancelAfter(Timeout.InfiniteTimeSpan);
                await consume(response, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ct.IsCancellationRequested)
        {
            // The caller cancelled: that is the outcome, whatever the stack threw while it tore the request down
            // (.NET Framework closes the stream, so a read in progress ends in ObjectDisposedException or IOException).
            response?.Dispose();
            Log($"{Target()} -> cancelled ({Elapsed(started)} ms)");
            if (ex is OperationCanceledException oce && oce.CancellationToken == ct)
            {
                throw;
            }

            // Callers tell their own cancel by its token; HttpClient's linked tokens are not it.
            throw new OperationCanceledException($"{Target()} was cancelled.", ex, ct);
        }
        catch (OperationCanceledException ex) when (timer.IsCancellationRequested || ex.InnerException is TimeoutException)
        {
            // The attempt's timer, or the timeout of an HttpClient the caller passed in (.NET 5+ says so in the inner exception).
            response?.Dispose();
            Log($"{Target()} -> timed out ({Elapsed(started)} ms)");
            throw new TimeoutException($"{Target()} got no answer within {timeout.TotalSeconds:0.###} seconds.", ex);
        }
        catch (OperationCanceledException)
        {
            // Neither the caller's token nor the timer reads cancelled, yet the stack says cancelled: the caller's cancel
            // racing ahead of its token, not a timeout. Reported as the cancellation it is.
            response?.Dispose();
            Log($"{Target()} -> cancelled ({Elapsed(started)} ms)");
            throw;
        }
        catch (Exception ex)
        {
            response?.Dispose();
            if (_options.Log is not null)
            {
                Log($"{Target()} -> {ex.GetType().Name}: {ex.Message} ({Elapsed(started)} ms)");
            }

            throw;
        }

        if (_options.Log is not null)
        {
            Log($"{Target()} -> {(int)response.StatusCode} ({Elapsed(started)} ms)");
        }

        if (_options.Debug is not null)
        {
            var elapsed = Elapsed(started);
            await DebugAsync(() => DescribeResponseAsync(response, Target(), elapsed, call)).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>Writes one text to <see cref="FalClientOptions.Debug"/>, masked; never fails the call.</summary>
    private async Task DebugAsync(Func<Task<string>> describe)
    {
        try
        {
            var text = await describe().ConfigureAwait(false);
            _options.Debug?.Invoke(FalCredentials.Mask(text, _options.ApiKey));
        }
        catch (Exception)
        {
            // A diagnostics sink must never change the outcome of a (possibly billable) call.
        }
    }

    private static async Task<string> DescribeRequestAsync(HttpRequestMessage request, string target)
    {
        var text = new System.Text.StringBuilder($"HTTP request: {target}");
        AppendHeaders(text, request.Headers);
        if (request.Content is { } content)
        {
            AppendHeaders(text, content.Headers);
            await AppendBodyAsync(text, content, shown: content is ByteArrayContent).ConfigureAwait(false);
        }

        return text.ToString();
    }

    private static async Task<string> DescribeResponseAsync(HttpResponseMessage response, string target, long elapsedMs, FalHttpCall call)
    {
        var text = new System.Text.StringBuilder($"HTTP response: {(int)response.StatusCode} {response.ReasonPhrase} to {target} ({elapsedMs} ms)");
        AppendHeaders(text, response.Headers);
        AppendHeaders(text, response.Content.Headers);
        // Only a body already read into memory is shown: a streamed one (SSE, a download) belongs to its reader.
        await AppendBodyAsync(text, response.Content, shown: response.Content is BufferedContent && call.ConsumeSuccessBody is null).ConfigureAwait(false);
        return text.ToString();
    }

    private static void AppendHeaders(System.Text.StringBuilder text, System.Net.Http.Headers.HttpHeaders headers)
    {
        foreach (var header in headers)
        {
            // The key is never shown, whatever else masking catches.
            var value = string.Equals(header.Key, "Authorization", StringComparison.OrdinalIgnoreCase)
                ? "Key ****"
                : string.Join(", ", header.Value);
            text.Append("\n  ").Append(header.Key).Append(": ").Append(value);
        }
    }

    private static async Task AppendBodyAsync(System.Text.StringBuilder text, HttpContent content, bool shown)
    {
        var type = content.Headers.ContentType?.MediaType ?? "";
        var isText = type.Length == 0 || type.EndsWith("json", StringComparison.OrdinalIgnoreCase)
                     || type.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
        if (!shown || !isText)
        {
            var size = content.Headers.ContentLength is { } length ? $"{length} bytes" : "size not known";
            text.Append($"\n  Body: {(type.Length == 0 ? "" : type + ", ")}{size}, not shown");
            return;
        }

        // In memory already (a request's JSON, or a body this sender buffered): reading it again sends nothing.
        var body = await content.ReadAsStringAsync().ConfigureAwait(false);
        if (body.Length == 0)
        {
            return;
        }

        var limit = FalClientOptions.DebugBodyChars;
        text.Append($"\n  Body ({body.Length} characters):\n  ")
            .Append(body.Length <= limit ? body : body[..limit] + $"… (cut at {limit} of {body.Length} characters)");
    }

    private HttpRequestMessage CreateRequest(FalHttpCall call)
    {
        var request = new HttpRequestMessage(call.Method, call.Url);
        request.Headers.TryAddWithoutValidation("User-Agent", _options.UserAgent);
        request.Headers.TryAddWithoutValidation("Accept", call.Accept);
        if (call.Authorize)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Key " + _options.ApiKey);
        }

        foreach (var (name, value) in call.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.Content = call.Content?.Invoke();
        return request;
    }

    // Swaps the network content for an in-memory copy so the body can be read after the attempt's token is gone.
    private static async Task BufferAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var original = response.Content;
        var bytes = await ReadCappedAsync(original, (int)response.StatusCode, ct).ConfigureAwait(false);
        var copy = new BufferedContent(bytes);
        foreach (var header in original.Headers)
        {
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content = copy;
        original.Dispose();
    }

    private static FalProtocolException Oversized(int statusCode) =>
        new($"fal answered HTTP {statusCode} with a body larger than {FalJson.MaxBodyBytes / (1024 * 1024)} MB; refusing to read it into memory.")
        {
            StatusCode = statusCode,
        };

    private static long Elapsed(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}

/// <summary>A response body already read into memory; <see cref="Bytes"/> hands it out without another copy.</summary>
internal sealed class BufferedContent(byte[] bytes) : ByteArrayContent(bytes)
{
    /// <summary>The body. Callers only read it.</summary>
    public byte[] Bytes { get; } = bytes;
}
