using System.Text.RegularExpressions;

namespace FalVideo.HelpGen;

/// <summary>One example: a title, the code, and what it does.</summary>
public sealed record HelpExample(string Title, string Code, IReadOnlyList<string> Remarks);

/// <summary>A related link: its text and, when it points outside the module, a URI.</summary>
public sealed record HelpLink(string Text, string? Uri);

/// <summary>
/// The hand-written part of one cmdlet's help, from <c>docs/help/Verb-Noun.md</c>: a platyPS-like layout
/// (<c># Name</c>, then <c>## SYNOPSIS</c>, <c>## DESCRIPTION</c>, <c>## EXAMPLES</c> with <c>### Example N: title</c>
/// and a fenced code block, <c>## PARAMETERS</c> with <c>### -Name</c>, <c>## INPUTS</c>/<c>## OUTPUTS</c> with
/// <c>### TypeName</c>, <c>## NOTES</c>, <c>## RELATED LINKS</c>). What the DLL knows (syntax, types, positions,
/// pipeline binding, aliases) is never written here, so it can't drift.
/// </summary>
public sealed partial class MarkdownHelp
{
    /// <summary>The H1 title: the cmdlet name.</summary>
    public string Name { get; private set; } = "";
    /// <summary>SYNOPSIS paragraphs.</summary>
    public List<string> Synopsis { get; } = [];
    /// <summary>DESCRIPTION paragraphs.</summary>
    public List<string> Description { get; } = [];
    /// <summary>EXAMPLES in order.</summary>
    public List<HelpExample> Examples { get; } = [];
    /// <summary>Extra paragraphs per parameter (key without the dash, case-insensitive).</summary>
    public Dictionary<string, List<string>> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>A <c>Default value:</c> line per parameter, for defaults the code resolves at run time.</summary>
    public Dictionary<string, string> DefaultValues { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>INPUTS: type name to paragraphs.</summary>
    public List<(string Type, List<string> Text)> Inputs { get; } = [];
    /// <summary>OUTPUTS: type name to paragraphs.</summary>
    public List<(string Type, List<string> Text)> Outputs { get; } = [];
    /// <summary>NOTES paragraphs.</summary>
    public List<string> Notes { get; } = [];
    /// <summary>RELATED LINKS in order.</summary>
    public List<HelpLink> Links { get; } = [];

    /// <summary>Parses <paramref name="path"/>; <paramref name="problem"/> hears about sections it does not know.</summary>
    public static MarkdownHelp Load(string path, Action<string> problem)
    {
        var help = new MarkdownHelp();
        var file = Path.GetFileName(path);
        string? section = null, sub = null;
        var block = new List<string>();

        void Flush()
        {
            if (section is null) { block.Clear(); return; }
            switch (section)
            {
                case "SYNOPSIS": help.Synopsis.AddRange(ToParagraphs(block)); break;
                case "DESCRIPTION": help.Description.AddRange(ToParagraphs(block)); break;
                case "NOTES": help.Notes.AddRange(ToParagraphs(block)); break;
                case "SYNTAX": break; // generated from the DLL
                case "EXAMPLES" when sub is not null: help.Examples.Add(ToExample(sub, block, file, problem)); break;
                case "PARAMETERS" when sub is not null:
                    var name = sub.TrimStart('-').Trim();
                    var lines = block.Where(l =>
                    {
                        var m = DefaultLine().Match(l);
                        if (m.Success) help.DefaultValues[name] = m.Groups[1].Value.Trim();
                        return !m.Success;
                    }).ToList();
                    help.Parameters[name] = ToParagraphs(lines);
                    break;
                case "INPUTS" when sub is not null: help.Inputs.Add((sub.Trim(), ToParagraphs(block))); break;
                case "OUTPUTS" when sub is not null: help.Outputs.Add((sub.Trim(), ToParagraphs(block))); break;
                case "RELATED LINKS":
                    foreach (var line in block.Select(l => l.Trim().TrimStart('-', '*').Trim()).Where(l => l.Length > 0))
                    {
                        var m = LinkLine().Match(line);
                        help.Links.Add(m.Success
                            ? new HelpLink(m.Groups[1].Value.Trim(), m.Groups[2].Value.Trim() is { Length: > 0 } u ? u : null)
                            : new HelpLink(line, null));
                    }
                    break;
                default:
                    if (block.Any(l => l.Trim().Length > 0))
                        problem($"{file}: text under '## {section}'{(sub is null ? "" : $" / '### {sub}'")} is not used.");
                    break;
            }
            block.Clear();
        }

        var inFence = false;
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (!inFence && line.StartsWith("# ", StringComparison.Ordinal)) { Flush(); help.Name = line[2..].Trim(); section = null; sub = null; continue; }
            if (!inFence && line.StartsWith("## ", StringComparison.Ordinal)) { Flush(); section = line[3..].Trim().ToUpperInvariant(); sub = null; continue; }
            if (!inFence && line.StartsWith("### ", StringComparison.Ordinal)) { Flush(); sub = line[4..].Trim(); continue; }
            block.Add(line);
        }
        Flush();
        return help;
    }

    private static HelpExample ToExample(string title, List<string> block, string file, Action<string> problem)
    {
        var start = block.FindIndex(l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        var end = start < 0 ? -1 : block.FindIndex(start + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
        if (start < 0 || end < 0)
        {
            problem($"{file}: example '{title}' has no fenced code block.");
            return new HelpExample(title, "", ToParagraphs(block));
        }
        var code = string.Join("\n", block.Skip(start + 1).Take(end - start - 1));
        var remarks = ToParagraphs(block.Take(start).Concat(block.Skip(end + 1)).ToList());
        return new HelpExample(title, code, remarks);
    }

    /// <summary>
    /// Blank lines separate paragraphs; each list item is a paragraph of its own (Get-Help would otherwise run them
    /// together). Links become "text (uri)"; emphasis markers go; inline code keeps its backticks, as platyPS does.
    /// </summary>
    public static List<string> ToParagraphs(IReadOnlyList<string> lines)
    {
        var paragraphs = new List<string>();
        var current = new List<string>();
        var inFence = false;
        void End()
        {
            if (current.Count > 0) paragraphs.Add(Inline(string.Join(inFence ? "\n" : " ", current)));
            current.Clear();
        }
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd();
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                // A code block inside prose stays one paragraph with its line breaks.
                End();
                inFence = !inFence;
                continue;
            }
            if (inFence) { current.Add(line); continue; }
            if (line.Trim().Length == 0) { End(); continue; }
            if (ListItem().IsMatch(line)) End();
            current.Add(line.Trim());
        }
        End();
        return paragraphs;
    }

    private static string Inline(string text)
    {
        text = InlineLink().Replace(text, m => m.Groups[2].Value.Length == 0 ? m.Groups[1].Value : $"{m.Groups[1].Value} ({m.Groups[2].Value})");
        return text.Replace("**", "");
    }

    [GeneratedRegex(@"^\s*Default value:\s*(.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex DefaultLine();

    [GeneratedRegex(@"^\[([^\]]+)\]\(([^)]*)\)$")]
    private static partial Regex LinkLine();

    [GeneratedRegex(@"\[([^\]]+)\]\(([^)]*)\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s*([-*]|\d+\.)\s+")]
    private static partial Regex ListItem();
}
