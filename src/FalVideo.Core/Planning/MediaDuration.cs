using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace FalVideo.Planning;

/// <summary>
/// The length of a local video, for pricing requests whose output follows it (Kling motion control bills per second of
/// output, and the output is as long as the reference video: MODELS.md). Read with FFmpeg's <c>ffprobe</c> when it is on
/// the PATH; null when it is not, when the file is not a video it can read, or after 10 s. Then the estimate is the most
/// the request can cost (fal's longest output) rather than a guess.
/// </summary>
/// <remarks>
/// Why a process and not a library: the one well-kept .NET reader of MP4 metadata that runs on every target here
/// (MetadataExtractor) is offered by the package registry only as 2.4.3, and would bring XmpCore into the module folder
/// and its loader; ffprobe is the field's standard tool and reads every container fal accepts (.mp4, .mov, .webm, .m4v).
/// Results are kept per path, size and last-write time, so a batch reusing one reference video probes it once.
/// </remarks>
public static class MediaDuration
{
    private static readonly ConcurrentDictionary<(string, long, DateTime), double?> s_cache = new();

    /// <summary>The program run to read durations; <c>ffprobe</c> on the PATH unless set (tests point it elsewhere).</summary>
    public static string Probe { get; set; } = "ffprobe";

    /// <summary>Length of the local video <paramref name="path"/> in seconds; null when it can't be read (see the class).</summary>
    public static double? TryGetSeconds(string path)
    {
        FileInfo file;
        try
        {
            file = new FileInfo(path);
            if (!file.Exists) return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
        return s_cache.GetOrAdd((file.FullName, file.Length, file.LastWriteTimeUtc), _ => Run(file.FullName));
    }

    private static double? Run(string path)
    {
        try
        {
            var start = new ProcessStartInfo(Probe)
            {
                // One number on stdout: the container's duration in seconds.
                Arguments = $"-v error -show_entries format=duration -of default=noprint_wrappers=1:nokey=1 \"{path}\"",
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
            };
            using var process = Process.Start(start);
            if (process is null) return null;
            var stdout = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(10_000))
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                return null;
            }
            if (process.ExitCode != 0) return null;
            return double.TryParse(stdout.Result.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return null; // no ffprobe on the PATH
        }
    }
}
