using FalVideo.Emulator.Jobs;
using Microsoft.AspNetCore.Http;

namespace FalVideo.Emulator.Media;

/// <summary>A file the emulator's CDN serves: its type, its length and a way to read it.</summary>
/// <param name="ContentType">The media type sent as <c>Content-Type</c>.</param>
/// <param name="Length">The size in bytes, sent as <c>Content-Length</c>.</param>
/// <param name="Open">A fresh, seekable stream over the bytes (so Range requests work), for each response.</param>
internal sealed record MediaFile(string ContentType, long Length, Func<Stream> Open)
{
    public static MediaFile Of(byte[] bytes, string contentType) =>
        new(contentType, bytes.Length, () => new MemoryStream(bytes, writable: false));
}

/// <summary>
/// What lives under <c>/cdn/</c>: job outputs at <c>/cdn/{request_id}/output.mp4</c> and uploads at
/// <c>/cdn/uploads/{token}/{file_name}</c>. Input validation asks the same question the CDN answers,
/// so a model input that names a missing emulator file is refused at submit, as a dead URL would fail at fal.
/// </summary>
internal sealed class LocalMedia(UploadStore uploads, JobScheduler jobs)
{
    public const string Prefix = "/cdn/";

    /// <param name="path">Unescaped URL path starting with <see cref="Prefix"/>.</param>
    public MediaFile? Find(string path)
    {
        if (!path.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var parts = path[Prefix.Length..].Split('/');
        if (parts is ["uploads", var token, var fileName])
        {
            return uploads.Find(token) is { Bytes: { } bytes } upload && upload.FileName == fileName
                ? MediaFile.Of(bytes, upload.ContentType)
                : null;
        }
        if (parts is [var requestId, SampleVideo.FileName])
        {
            return jobs.FindAnyApp(requestId) is { Succeeded: true } job
                ? new MediaFile(SampleVideo.ContentType, job.VideoBytes, () => SampleVideo.Open(job.VideoBytes))
                : null;
        }
        return null;
    }

    /// <summary>True when <paramref name="url"/> points at this emulator's CDN but nothing is there.</summary>
    public bool IsMissingHere(Uri url, HttpContext context)
    {
        var local = context.Connection;
        // localhost, 127.0.0.1 and [::1] all reach a loopback listener, whichever of them the client used.
        var sameServer = url.Port == local.LocalPort
            && ((url.IsLoopback && local.LocalIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip))
                || string.Equals(url.Host, context.Request.Host.Host, StringComparison.OrdinalIgnoreCase));
        var path = Uri.UnescapeDataString(url.AbsolutePath);
        return sameServer && path.StartsWith(Prefix, StringComparison.Ordinal) && Find(path) is null;
    }
}
