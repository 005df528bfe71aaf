using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FalVideo.Benchmark;

/// <summary>
/// The rows every contender submits. The same endpoint and the same input for each, so the emulator does the same
/// work; <c>tests/js/bench-official.mjs</c> builds identical inputs.
/// </summary>
internal static class Workload
{
    /// <summary>Kling v3 Pro text-to-video: <c>New-KlingVideo</c>'s default model.</summary>
    public const string EndpointId = "fal-ai/kling-video/v3/pro/text-to-video";

    /// <summary>The catalog name FalVideo's CSV rows use for <see cref="EndpointId"/>.</summary>
    public const string ModelName = "kling-v3-pro";

    public const string Duration = "5";

    /// <summary>The batch FalVideo runs over a CSV of these rows (parameter <c>$Csv</c>): what a user types for one.</summary>
    public const string FalVideoBatch = "param($Csv) Import-Csv $Csv | New-KlingVideo | Wait-FalJob";

    /// <summary>Row <paramref name="i"/>'s prompt (1-based); distinct per row, as a real batch would be.</summary>
    public static string Prompt(int i) =>
        string.Create(CultureInfo.InvariantCulture, $"Row {i}: a paper boat drifting down a rain-soaked street at night, slow tracking shot");

    /// <summary>The JSON body the module sends for a row (checked against the journal's recorded input).</summary>
    /// <param name="i">The row number, 1-based.</param>
    /// <param name="promptPrefix">Put before the prompt, e.g. an emulator marker.</param>
    public static string InputJson(int i, string promptPrefix = "") => new JsonObject
    {
        ["prompt"] = promptPrefix + Prompt(i),
        ["duration"] = Duration,
        ["generate_audio"] = false,
    }.ToJsonString();

    /// <summary>Writes the rows as the CSV a FalVideo user would import.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="rows">How many rows.</param>
    /// <param name="first">The first row's number: batches of one session use ranges that do not overlap, so the job
    /// store's idempotency check finds no earlier job for any of their rows.</param>
    /// <param name="promptPrefix">Put before each prompt, e.g. an emulator marker.</param>
    public static void WriteCsv(string path, int rows, int first = 1, string promptPrefix = "")
    {
        var csv = new StringBuilder("Id,Model,Prompt,Duration,GenerateAudio\n");
        for (var i = first; i < first + rows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"row{i},{ModelName},\"{promptPrefix}{Prompt(i)}\",{Duration},false\n");
        }
        File.WriteAllText(path, csv.ToString());
    }
}
