namespace FalVideo.Fal;

/// <summary>MIME types of the local files a video model takes as input (start/end frames, reference videos).</summary>
public static class FalContentTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".png"] = "image/png",
        [".webp"] = "image/webp",
        [".gif"] = "image/gif",
        [".avif"] = "image/avif",
        [".mp4"] = "video/mp4",
        [".mov"] = "video/quicktime",
        [".webm"] = "video/webm",
        [".mp3"] = "audio/mpeg",
        [".wav"] = "audio/wav",
    };

    /// <summary>The MIME type for a file name's extension.</summary>
    /// <param name="fileName">A file name or path.</param>
    /// <returns>e.g. <c>image/png</c>; <c>application/octet-stream</c> for an unknown extension.</returns>
    public static string FromFileName(string fileName) =>
        ByExtension.TryGetValue(Path.GetExtension(fileName), out var type) ? type : "application/octet-stream";
}
