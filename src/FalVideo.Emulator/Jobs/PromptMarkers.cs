using System.Globalization;
using System.Text.RegularExpressions;

namespace FalVideo.Emulator.Jobs;

/// <summary>
/// Rehearsal markers written anywhere in the input (normally the prompt):
/// <c>[emulator:fail]</c> or <c>[emulator:fail=&lt;error_type&gt;]</c> makes the job fail,
/// <c>[emulator:seconds=N]</c> sets its run time in seconds.
/// </summary>
internal readonly partial record struct PromptMarkers(string? FailureType, double? Seconds)
{
    // The raw JSON text is scanned so that markers inside multi_prompt shots count too.
    public static PromptMarkers Find(string inputJson)
    {
        var fail = FailMarker().Match(inputJson);
        var seconds = SecondsMarker().Match(inputJson);
        return new PromptMarkers(
            fail.Success ? (fail.Groups[1].Success ? fail.Groups[1].Value : Failures.DefaultType) : null,
            seconds.Success ? double.Parse(seconds.Groups[1].Value, CultureInfo.InvariantCulture) : null);
    }

    [GeneratedRegex(@"\[emulator:fail(?:=([A-Za-z0-9_]+))?\]")]
    private static partial Regex FailMarker();

    [GeneratedRegex(@"\[emulator:seconds=([0-9]{1,7}(?:\.[0-9]+)?)\]")]
    private static partial Regex SecondsMarker();
}
