using System.Globalization;
using System.Text.RegularExpressions;

namespace FalVideo.Emulator.Jobs;

/// <summary>
/// Rehearsal markers written anywhere in the input (normally the prompt):
/// <c>[emulator:fail]</c> or <c>[emulator:fail=&lt;error_type&gt;]</c> makes the job fail,
/// <c>[emulator:seconds=N]</c> sets its run time in seconds, <c>[emulator:video-mb=N]</c> makes its video N MB
/// (the sample video padded with zero bytes, streamed without being held in memory, for download and memory tests).
/// </summary>
internal readonly partial record struct PromptMarkers(string? FailureType, double? Seconds, long? VideoBytes)
{
    /// <summary>The largest <c>video-mb</c> honoured: 64 GB is more than any test needs and fits the disk checks of none.</summary>
    public const int MaxVideoMegabytes = 65536;

    // The raw JSON text is scanned so that markers inside multi_prompt shots count too.
    public static PromptMarkers Find(string inputJson)
    {
        var fail = FailMarker().Match(inputJson);
        var seconds = SecondsMarker().Match(inputJson);
        var size = VideoSizeMarker().Match(inputJson);
        long? videoBytes = size.Success && int.TryParse(size.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var mb) && mb is > 0 and <= MaxVideoMegabytes
            ? mb * 1024L * 1024L
            : null;
        return new PromptMarkers(
            fail.Success ? (fail.Groups[1].Success ? fail.Groups[1].Value : Failures.DefaultType) : null,
            seconds.Success ? double.Parse(seconds.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            videoBytes);
    }

    [GeneratedRegex(@"\[emulator:fail(?:=([A-Za-z0-9_]+))?\]")]
    private static partial Regex FailMarker();

    [GeneratedRegex(@"\[emulator:seconds=([0-9]{1,7}(?:\.[0-9]+)?)\]")]
    private static partial Regex SecondsMarker();

    [GeneratedRegex(@"\[emulator:video-mb=([0-9]{1,5})\]")]
    private static partial Regex VideoSizeMarker();
}
