using System.Globalization;

namespace FalVideo.Fal;

public sealed partial class FalQueueClient
{
    /// <summary>
    /// Downloads an output file (a public CDN link, PROTOCOL.md "Result") without any auth header. The body is
    /// streamed to a temporary file beside the target — never held in memory — its size checked against
    /// <paramref name="expectedSize"/>, then moved over the target. A transfer that breaks is retried from the start;
    /// on failure no file is left under the target name (an existing one is untouched) and the temporary file is removed.
    /// </summary>
    /// <param name="url">An absolute https URL (http only for loopback hosts).</param>
    /// <param name="destinationPath">The target file; its directory is created when missing; an existing file is replaced.</param>
    /// <param name="expectedSize">The size in bytes fal reported (<c>file_size</c>); null skips the check.</param>
    /// <param name="progress">Called after each chunk with (bytes so far, total bytes or null when unknown).</param>
    /// <param name="ct">Cancels the download, retries included.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException">A relative or non-http(s) URL, or a blank path.</exception>
    /// <exception cref="FalDownloadException">HTTP failure, transport failure after the retries, size mismatch, a body
    /// whose end cannot be verified, a server silent for <see cref="FalClientOptions.DownloadIdleTimeout"/> or slower than
    /// <see cref="FalClientOptions.DownloadMinBytesPerSecond"/>, plain http:// to a non-loopback host, or a local write
    /// error.</exception>
    public async Task<long> DownloadFileAsync(Uri url, string destinationPath, long? expectedSize = null, Action<long, long?>? progress = null, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationPath);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"The download URL must be an absolute http(s) URL; it is '{url}'.", nameof(url));
        }

        var shownUrl = FalQueueUrls.ForLog(url, hideQuery: true);
        if (!FalQueueUrls.IsAllowedScheme(url))
        {
            throw new FalDownloadException($"Refusing to download {shownUrl} over plain http:// from a non-loopback host.");
        }

        var target = Path.GetFullPath(destinationPath);
        var directory = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        long written = 0;
        try
        {
            Directory.CreateDirectory(directory);
            var current = url;
            for (var attempt = 0; ; attempt++)
            {
                var call = new FalHttpCall
                {
                    Method = HttpMethod.Get,
                    Url = current,
                    Authorize = false,
                    Accept = "*/*",
                    HideQueryInLog = true,
                    ConsumeSuccessBody = async (response, token) =>
                        written = await CopyToFileAsync(response, temp, expectedSize, progress, _options, token).ConfigureAwait(false),
                };

                FalException refused;
                using (var response = await _sender.SendAsync(call, ct).ConfigureAwait(false))
                {
                    if (response.IsSuccessStatusCode) break;
                    var error = await FalErrorMapper.FromResponseAsync(response, $"Downloading {shownUrl}", null, _options.ApiKey).ConfigureAwait(false);
                    if (attempt > 0 || !IsPrivateOutputRefusal(response.StatusCode) || !IsFalOutput(url))
                        throw new FalDownloadException(error.Message, error).WithDetailsOf<FalDownloadException>(error);
                    refused = error;
                }

                // A private output (the account's storage setting forbids or hides new files): fal's storage sign API
                // gives a time-limited URL that is fetched once more, still without the key.
                current = await SignOutputAsync(url, shownUrl, refused, ct).ConfigureAwait(false);
            }

            if (expectedSize is { } expected && written != expected)
            {
                throw SizeMismatch(shownUrl, written, expected);
            }

            File.Move(temp, target, overwrite: true);
            return written;
        }
        catch (Exception ex) when (ex is not (FalDownloadException or OperationCanceledException))
        {
            throw new FalDownloadException(FalCredentials.Mask($"Downloading {shownUrl} to {target} failed: {ex.Message}", _options.ApiKey), ex);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static async Task<long> CopyToFileAsync(
        HttpResponseMessage response, string temp, long? expectedSize, Action<long, long?>? progress, FalClientOptions options, CancellationToken ct)
    {
        var contentLength = response.Content.Headers.ContentLength;
        var total = contentLength ?? expectedSize;
        if (total is null && !HasVerifiableEnd(response))
        {
            // HTTP/1 without Content-Length or chunked framing ends with the connection: a cut connection looks exactly
            // like the end of the file, and nothing (not even fal's file_size) could tell a truncated video apart.
            throw new FalDownloadException(
                "The server sent the file without a length (no Content-Length, no chunked encoding) and fal gave no file_size, so its end cannot be verified; the file was not saved.");
        }


        FileStream file;
        try
        {
            // FileMode.Create: a retried attempt starts over from an empty file.
            file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Local disk errors are not worth a network retry.
            throw new FalDownloadException($"Cannot write the temporary download file {temp}: {ex.Message}", ex);
        }

#if NET8_0_OR_GREATER
        await using (file.ConfigureAwait(false))
#else
        using (file)
#endif
        {
            using var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), options.DownloadIdleTimeout);
            var buffer = new byte[81920];
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            long written = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                written += read;
                ThrowIfTooSlow(written, System.Diagnostics.Stopwatch.GetElapsedTime(started), options);
                if (expectedSize is { } expected && written > expected)
                {
                    // Stop early: the rest would be thrown away anyway.
                    throw new FalDownloadException($"The download is larger than the expected {expected} bytes.");
                }

                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    throw new FalDownloadException($"Cannot write the temporary download file {temp}: {ex.Message}", ex);
                }

                progress?.Invoke(written, total);
            }

            if (contentLength is { } length && written != length)
            {
                // .NET fails a short Content-Length body itself; .NET Framework's stack may just report the end.
                throw new FalDownloadException(FormattableString.Invariant(
                    $"The connection closed after {written} of the {length} bytes the server announced; the file was not saved."));
            }

            return written;
        }
    }

    /// <summary>True when the transfer itself marks its end (chunked encoding, or HTTP/2 and later), so a cut
    /// connection is an error rather than a silent early end.</summary>
    private static bool HasVerifiableEnd(HttpResponseMessage response) =>
        response.Headers.TransferEncodingChunked == true || response.Version.Major >= 2;

    /// <exception cref="FalDownloadException">The average rate since the start is below the minimum, once the idle
    /// timeout has passed (a slow start is normal; a slow whole is a trickling server).</exception>
    private static void ThrowIfTooSlow(long written, TimeSpan elapsed, FalClientOptions options)
    {
        if (options.DownloadMinBytesPerSecond <= 0 || elapsed <= options.DownloadIdleTimeout)
        {
            return;
        }

        var rate = written / elapsed.TotalSeconds;
        if (rate < options.DownloadMinBytesPerSecond)
        {
            throw new FalDownloadException(FormattableString.Invariant(
                $"The download is too slow: {written} bytes in {elapsed.TotalSeconds:0.#} seconds ({rate:0} bytes/s, the minimum is {options.DownloadMinBytesPerSecond} bytes/s); the file was not saved."));
        }
    }

    /// <summary>How long a signed output URL stays valid, in seconds: long enough for a slow download of a large video,
    /// well under fal's limit of 604800 (7 days; PROTOCOL.md, private outputs).</summary>
    private const int SignedUrlSeconds = 3600;

    // forbid answers with an error, hide as if the file did not exist (fal's storage ACL docs): 401/403, or 404.
    private static bool IsPrivateOutputRefusal(System.Net.HttpStatusCode status) =>
        status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.NotFound;

    /// <summary>A file fal's sign API can sign: on fal's media CDN (<c>*.fal.media</c>), or served by the configured fal
    /// base (the emulator, a proxy). Anything else is not fal's to sign, and its URL is not sent to fal.</summary>
    private bool IsFalOutput(Uri url) =>
        url.Host.Equals("fal.media", StringComparison.OrdinalIgnoreCase)
        || url.Host.EndsWith(".fal.media", StringComparison.OrdinalIgnoreCase)
        || FalQueueUrls.SameOrigin(url, _options.QueueBaseUrl) || FalQueueUrls.SameOrigin(url, _options.RestBaseUrl)
        || FalQueueUrls.SameOrigin(url, _options.PlatformBaseUrl);

    /// <summary>
    /// <c>POST {api}/storage/files/sign?url=&lt;file url&gt;</c> with <c>{"expiration_seconds": N}</c> and the key →
    /// <c>{"signed_url"}</c> (PROTOCOL.md "Pricing and billing platform APIs", private outputs; the key needs
    /// <c>assets:read</c>). Says so in the log (the key masked). Any failure is a <see cref="FalDownloadException"/>
    /// carrying the refused download's message as well.
    /// </summary>
    private async Task<Uri> SignOutputAsync(Uri fileUrl, string shownUrl, FalException refused, CancellationToken ct)
    {
        var signUrl = FalQueueUrls.SignFile(_options.PlatformBaseUrl, fileUrl);
        var signShown = signUrl.GetLeftPart(UriPartial.Path);
        if (string.IsNullOrEmpty(_options.ApiKey))
        {
            throw new FalDownloadException($"{refused.Message}. The output looks private; signing its URL through fal's storage sign API needs an API key, and none is set.", refused)
                .WithDetailsOf<FalDownloadException>(refused);
        }

        _options.Log?.Invoke($"Downloading {shownUrl} was refused (HTTP {refused.StatusCode}): the output is private. Signing its URL through fal's storage sign API " +
                             $"(POST {signShown}, Authorization: Key ***) for {SignedUrlSeconds} s and downloading it once more.");
        var body = "{\"expiration_seconds\":" + SignedUrlSeconds.ToString(CultureInfo.InvariantCulture) + "}";
        var call = new FalHttpCall
        {
            Method = HttpMethod.Post,
            Url = signUrl,
            Authorize = true,
            Content = () => new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await _sender.SendAsync(call, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var error = await FalErrorMapper.FromResponseAsync(response, "Signing the output URL", null, _options.ApiKey).ConfigureAwait(false);
            throw new FalDownloadException(FalCredentials.Mask($"{refused.Message}. The output looks private, and signing its URL failed too: {error.Message}", _options.ApiKey), error)
                .WithDetailsOf<FalDownloadException>(refused);
        }

        var json = FalJson.ParseObject(await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false), "sign response", _options.ApiKey);
        var signed = FalJson.GetAbsoluteUri(json, "signed_url");
        if (signed is null || !FalQueueUrls.IsAllowedScheme(signed))
        {
            throw new FalDownloadException($"{refused.Message}. The output looks private, and fal's sign API answered without a usable https signed_url.", refused)
                .WithDetailsOf<FalDownloadException>(refused);
        }

        return signed;
    }

    private static FalDownloadException SizeMismatch(string url, long written, long expected) =>
        new(FormattableString.Invariant($"Downloading {url} gave {written} bytes, but {expected} were expected; the file was not saved."));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover .part file is harmless; it must not hide the real outcome.
        }
    }
}
