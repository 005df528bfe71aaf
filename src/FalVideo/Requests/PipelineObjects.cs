using System.Collections;
using System.Globalization;
using System.Management.Automation;
using FalVideo.Planning;

namespace FalVideo.PowerShell.Requests;

/// <summary>
/// Reads shots and elements from whatever the pipeline gives: PSCustomObjects (CSV rows), hashtables, or
/// Group-Object's groups of rows. Property names are matched case-insensitively, cell text is trimmed.
/// </summary>
internal static class PipelineObjects
{
    /// <summary>Shots from objects with Prompt and Duration (and an optional Shot number to order them).</summary>
    public static IReadOnlyList<ShotSpec>? ToShots(object[]? items, List<string> problems)
    {
        if (items is null || items.Length == 0) return null;
        var shots = new List<(int Order, ShotSpec Shot)>();
        for (var i = 0; i < items.Length; i++)
        {
            var prompt = Text(items[i], "Prompt", "prompt") ?? "";
            var durationText = Text(items[i], "Duration", "duration");
            int? duration = null;
            if (durationText is not null)
            {
                if (int.TryParse(durationText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)) duration = d;
                else problems.Add($"Shot {i + 1}: Duration '{durationText}' is not a whole number; allowed: 1 second or more.");
            }
            var order = int.TryParse(Text(items[i], "Shot", "Order"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var o) ? o : i + 1;
            shots.Add((order, new ShotSpec(prompt, duration)));
        }
        return shots.OrderBy(s => s.Order).Select(s => s.Shot).ToList();
    }

    /// <summary>Elements from objects with FrontalImage + ReferenceImages (array, or text split on ';'), or Video; and VoiceId.</summary>
    public static IReadOnlyList<ElementSpec>? ToElements(object[]? items)
    {
        if (items is null || items.Length == 0) return null;
        return items.Select(item => new ElementSpec(
            Text(item, "FrontalImage", "frontal_image_url"),
            List(item, "ReferenceImages", "reference_image_urls"),
            Text(item, "Video", "video_url"),
            Text(item, "VoiceId", "voice_id"))).ToList();
    }

    /// <summary>
    /// The one value of the column <paramref name="name"/> that the rows of a group (a shot list) share, e.g. the Model every
    /// row of a multi-shot group names; null when no row has it. Rows naming different values are a problem.
    /// </summary>
    public static string? SharedText(object[]? items, string name, List<string> problems)
    {
        if (items is null) return null;
        var values = items.Select(i => Text(i, name)).Where(v => v is not null).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (values.Count > 1)
            problems.Add($"The shots name {values.Count} different {name} values ({string.Join(", ", values)}); one request has one {name}.");
        return values.Count == 1 ? values[0] : null;
    }

    private static object? Value(object? item, params string[] names)
    {
        item = item is PSObject pso ? pso.BaseObject is IDictionary ? pso.BaseObject : pso : item;
        foreach (var name in names)
        {
            if (item is IDictionary dict)
            {
                foreach (DictionaryEntry e in dict)
                    if (string.Equals(e.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase)) return Unwrap(e.Value);
            }
            else if (item is not null && PSObject.AsPSObject(item).Properties[name] is { } prop)
                return Unwrap(prop.Value);
        }
        return null;
    }

    private static object? Unwrap(object? v) => v is PSObject p ? p.BaseObject : v;

    private static string? Text(object? item, params string[] names) =>
        Value(item, names) is { } v && Convert.ToString(v, CultureInfo.InvariantCulture) is { } s && s.Trim().Length > 0 ? s.Trim() : null;

    private static IReadOnlyList<string> List(object? item, params string[] names) => Value(item, names) switch
    {
        null => [],
        string s => s.Split(';').Select(x => x.Trim()).Where(x => x.Length > 0).ToList(),
        IEnumerable e => e.Cast<object?>().Select(x => Convert.ToString(Unwrap(x), CultureInfo.InvariantCulture)?.Trim())
            .Where(x => !string.IsNullOrEmpty(x)).Select(x => x!).ToList(),
        var v => [Convert.ToString(v, CultureInfo.InvariantCulture)!],
    };
}
