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
    /// <exception cref="FalDownloadException">HTTP failure, transport failure after the retries, size mismatch, plain
    /// http:// to a non-loopback host, or a local write error.</exception>
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
            var call = new FalHttpCall
            {
                Method = HttpMethod.Get,
                Url = url,
                Authorize = false,
                Accept = "*/*",
                HideQueryInLog = true,
                ConsumeSuccessBody = async (response, token) =>
                    written = await CopyToFileAsync(response, temp, expectedSize, progress, _options.RequestTimeout, token).ConfigureAwait(false),
            };

            using (var response = await _sender.SendAsync(call, ct).ConfigureAwait(false))
            {
                if (!response.IsSuccessStatusCode)
                {
                    var error = await FalErrorMapper.FromResponseAsync(response, $"Downloading {shownUrl}", null, _options.ApiKey).ConfigureAwait(false);
                    throw new FalDownloadException(error.Message, error).WithDetailsOf<FalDownloadException>(error);
                }
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
        HttpResponseMessage response, string temp, long? expectedSize, Action<long, long?>? progress, TimeSpan idleTimeout, CancellationToken ct)
    {
        var total = response.Content.Headers.ContentLength ?? expectedSize;
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
            using var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), idleTimeout);
            var buffer = new byte[81920];
            long written = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                written += read;
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

            return written;
        }
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
