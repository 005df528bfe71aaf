using FalVideo.Jobs;

namespace FalVideo.Engine;

/// <summary>Safe local file names for downloaded videos.</summary>
public static class VideoFileNames
{
    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>"&lt;Id&gt;-&lt;first 8 of request id&gt;.mp4" when the row had an Id, else "&lt;request id&gt;.mp4"; extension from fal's file name.</summary>
    /// <param name="job">A job with a request id.</param>
    public static string For(FalJob job)
    {
        var ext = Path.GetExtension(job.VideoFileName ?? "");
        if (string.IsNullOrEmpty(ext) || ext.Length > 6 || Sanitize(ext.Substring(1)) != ext.Substring(1)) ext = ".mp4";
        var stem = string.IsNullOrWhiteSpace(job.Id)
            ? Sanitize(job.RequestId)
            : $"{Sanitize(job.Id!)}-{Sanitize(job.RequestId.Length > 8 ? job.RequestId.Substring(0, 8) : job.RequestId)}";
        return stem + ext.ToLowerInvariant();
    }

    /// <summary>Keeps letters, digits, '-', '_' and '.'; never a path separator, '..', or a reserved device name.</summary>
    /// <param name="text">Any text.</param>
    public static string Sanitize(string text)
    {
        var chars = text.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var name = new string(chars).Trim('.', ' ');
        if (name.Length == 0) name = "video";
        if (name.Length > 100) name = name.Substring(0, 100);
        if (s_reserved.Contains(name.Split('.')[0])) name = "_" + name;
        return name;
    }
}
