using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace FalVideo.Fal;

public sealed partial class FalQueueClient
{
    /// <summary>Assumed slowest useful upload rate; a per-attempt timeout for a large PUT grows with its size.</summary>
    private const double MinUploadBytesPerSecond = 256 * 1024;

    /// <summary>
    /// Uploads a local file to fal's CDN and returns its public URL, for inputs such as <c>start_image_url</c>
    /// (PROTOCOL.md "Upload of local files"; fal-js <c>libs/client/src/storage.ts</c>):
    /// 1. <c>POST {rest}/storage/upload/initiate?storage_type=fal-cdn-v3</c> with auth and
    /// <c>{"content_type", "file_name"}</c> → <c>{"upload_url", "file_url"}</c>;
    /// 2. <c>PUT upload_url</c> with the bytes, streamed from disk, and NO auth header (the URL is signed).
    /// Both steps are retried on 408/429/5xx and transport errors. Uploaded files are public by URL.
    /// Multipart upload (fal-js uses it above 90 MiB) is not implemented: one PUT is sent whatever the size.
    /// </summary>
    /// <param name="path">The local file.</param>
    /// <param name="contentType">The MIME type; null picks it from the extension (jpg, jpeg, png, webp, gif, avif,
    /// mp4, mov, webm; else <c>application/octet-stream</c>).</param>
    /// <param name="progress">Called as the file is sent with (bytes sent so far, file size in bytes); a retried PUT
    /// starts again from 0. Called on a thread-pool thread.</param>
    /// <param name="ct">Cancels the upload, retries included.</param>
    /// <returns>The <c>file_url</c>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FalProtocolException">The initiate answer lacks usable <c>upload_url</c>/<c>file_url</c>.</exception>
    /// <exception cref="FalException">HTTP failures of either step (see <see cref="FalException.ErrorId"/>), no answer
    /// after the retries (<see cref="FalNetworkException"/>), or no key (<see cref="FalConfigurationException"/>).</exception>
    public async Task<Uri> UploadFileAsync(string path, string? contentType = null, Action<long, long>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RequireKey();
        var file = new FileInfo(Path.GetFullPath(path));
        if (!file.Exists)
        {
            throw new FileNotFoundException($"The file to upload does not exist: {file.FullName}", file.FullName);
        }

        var type = string.IsNullOrWhiteSpace(contentType) ? FalContentTypes.FromFileName(file.Name) : contentType.Trim();
        var (uploadUrl, fileUrl) = await InitiateUploadAsync(file.Name, type, ct).ConfigureAwait(false);

        var action = $"Uploading {file.Name}";
        var put = new FalHttpCall
        {
            Method = HttpMethod.Put,
            Url = uploadUrl,
            Authorize = false,
            Accept = "*/*",
            HideQueryInLog = true,
            AttemptTimeout = _options.RequestTimeout + TimeSpan.FromSeconds(file.Length / MinUploadBytesPerSecond),
            Content = () =>
            {
                // A fresh stream per attempt: a retried PUT must send the file from its first byte.
                Stream source = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
                if (progress is not null)
                {
                    progress(0, file.Length);
                    source = new ProgressReadStream(source, file.Length, progress);
                }
                var content = new StreamContent(source);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
                content.Headers.ContentLength = file.Length;
                return content;
            },
        };

        using var response = await SendAsync(put, action, ct).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, action, null).ConfigureAwait(false);
        return fileUrl;
    }

    private async Task<(Uri UploadUrl, Uri FileUrl)> InitiateUploadAsync(string fileName, string contentType, CancellationToken ct)
    {
        var action = $"Starting the upload of {fileName}";
        var body = new JsonObject { ["content_type"] = contentType, ["file_name"] = fileName }.ToJsonString();
        var call = new FalHttpCall
        {
            Method = HttpMethod.Post,
            Url = FalQueueUrls.UploadInitiate(_options.RestBaseUrl),
            Authorize = true,
            Content = () => new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await SendAsync(call, action, ct).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, action, null).ConfigureAwait(false);
        var json = FalJson.ParseObject(await FalHttpSender.ReadBodyAsync(response, ct).ConfigureAwait(false), "upload initiate response", _options.ApiKey);
        var uploadUrl = FalJson.GetAbsoluteUri(json, "upload_url");
        var fileUrl = FalJson.GetAbsoluteUri(json, "file_url");
        if (uploadUrl is null || fileUrl is null)
        {
            throw new FalProtocolException("The upload initiate response lacks an absolute upload_url or file_url.");
        }

        if (!FalQueueUrls.IsAllowedScheme(uploadUrl))
        {
            throw new FalProtocolException("The upload URL uses plain http:// on a non-loopback host; refusing to send the file unencrypted.");
        }

        return (uploadUrl, fileUrl);
    }
}
