using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FalVideo.Tests.Reliability;

/// <summary>
/// Writes one record per fault test to <c>artifacts/reliability/&lt;fault&gt;.json</c>: the fault, what happened and
/// what was lost, as measured by the test. <c>tools/Render-ReliabilityTable.ps1</c> renders them: <c>test.sh</c> into
/// <c>artifacts/reliability.md</c>, <c>./build.ps1 -Task Reliability</c> into <c>docs/reliability.md</c>. Records are
/// written before the test's assertions, so a failing test
/// still leaves an honest row. The folder is emptied once per test run, before the first record.
/// </summary>
internal static class ReliabilityRecorder
{
    public static string Folder { get; } = Path.Combine(RepoPaths.Root, "artifacts", "reliability");

    private static readonly Lazy<string> s_cleared = new(() =>
    {
        if (Directory.Exists(Folder))
        {
            foreach (var old in Directory.GetFiles(Folder, "*.json")) File.Delete(old);
        }
        Directory.CreateDirectory(Folder);
        return Folder;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Request ids, ports and temp paths differ on every run; the committed table should change only when
    /// the behaviour does.</summary>
    private static string Steady(string text)
    {
        text = Regex.Replace(text, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<request id>");
        text = Regex.Replace(text, "[0-9a-f]{32}", "<id>");
        text = Regex.Replace(text, @"(127\.0\.0\.1|localhost):[0-9]+", "$1:<port>");
        return text.Replace(Path.GetTempPath().TrimEnd(Path.DirectorySeparatorChar), "<temp>", StringComparison.Ordinal);
    }

    /// <summary>The part of an error message after its "what was attempted" prefix, cut to about 90 characters.</summary>
    public static string Gist(string? message)
    {
        if (string.IsNullOrEmpty(message)) return "";
        message = Steady(message);
        var failed = message.IndexOf(" failed: ", StringComparison.Ordinal);
        var text = failed >= 0 ? message[(failed + 9)..] : message[(message.IndexOf(": ", StringComparison.Ordinal) + 2)..];
        return text.Length <= 90 ? text : text[..87] + "...";
    }

    /// <summary>Writes the record of one fault.</summary>
    /// <param name="order">Position in the table (groups: 100 submit, 200 status/result, 300 download, 400 upload/cancel,
    /// 500 process-level, 600 journal, 700 security/input).</param>
    /// <param name="fault">The fault, e.g. "429 storm on submit (3 × Retry-After: 1)".</param>
    /// <param name="happened">What the module did, with the measured numbers.</param>
    /// <param name="lost">What was lost ("nothing" when nothing was).</param>
    public static void Record(int order, string fault, string happened, string lost, [CallerFilePath] string file = "", [CallerMemberName] string test = "")
    {
        var folder = s_cleared.Value;
        var slug = string.Concat(fault.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-'));
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        slug = $"{order:000}-{slug.Trim('-')}";
        if (slug.Length > 80) slug = slug[..80].TrimEnd('-');
        var record = new JsonObject
        {
            ["order"] = order,
            ["fault"] = fault,
            ["happened"] = Steady(happened),
            ["lost"] = lost,
            ["test"] = $"{Path.GetFileNameWithoutExtension(file)}.{test}",
        };
        File.WriteAllText(Path.Combine(folder, slug + ".json"), record.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
