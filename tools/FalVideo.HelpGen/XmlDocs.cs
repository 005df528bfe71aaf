using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FalVideo.HelpGen;

/// <summary>
/// The compiler's XML doc files (<c>FalVideo.xml</c>, <c>FalVideo.Core.xml</c>), read as plain help text:
/// <c>&lt;c&gt;</c> and <c>&lt;see cref&gt;</c> become their words, <c>&lt;para&gt;</c> starts a paragraph.
/// </summary>
public sealed partial class XmlDocs
{
    private readonly Dictionary<string, XElement> _members = new(StringComparer.Ordinal);

    /// <summary>Loads every doc file found for <paramref name="assemblyNames"/> in <paramref name="folders"/> (first folder wins).</summary>
    public XmlDocs(IEnumerable<string> assemblyNames, IEnumerable<string> folders)
    {
        foreach (var assembly in assemblyNames)
        {
            var file = folders.Select(f => Path.Combine(f, assembly + ".xml")).FirstOrDefault(File.Exists);
            if (file is null) continue;
            foreach (var member in XDocument.Load(file).Descendants("member"))
                if (member.Attribute("name")?.Value is { } name) _members.TryAdd(name, member);
        }
    }

    /// <summary>Paragraphs of the summary of member <paramref name="id"/> (e.g. <c>P:Ns.Type.Prop</c>); empty when undocumented.</summary>
    public IReadOnlyList<string> Summary(string id) =>
        _members.TryGetValue(id, out var m) && m.Element("summary") is { } s ? Paragraphs(s) : [];

    /// <summary>Paragraphs of the <c>&lt;para type="<paramref name="type"/>"&gt;</c> elements of a type's summary (the cmdlet help convention).</summary>
    public IReadOnlyList<string> TypedParagraphs(string typeId, string type) =>
        _members.TryGetValue(typeId, out var m) && m.Element("summary") is { } s
            ? s.Elements("para").Where(p => (string?)p.Attribute("type") == type).SelectMany(Paragraphs).ToList()
            : [];

    /// <summary>The doc id of a property: <c>P:</c> and its declaring type's full name.</summary>
    public static string PropertyId(System.Reflection.PropertyInfo p) => $"P:{p.DeclaringType!.FullName!.Replace('+', '.')}.{p.Name}";

    /// <summary>The doc id of a type.</summary>
    public static string TypeId(Type t) => $"T:{t.FullName!.Replace('+', '.')}";

    private const char Break = '\u2029';

    private static List<string> Paragraphs(XElement element)
    {
        var text = new StringBuilder();
        Render(element, text);
        return text.ToString().Split(Break)
            .Select(p => Whitespace().Replace(p, " ").Trim())
            .Where(p => p.Length > 0)
            .ToList();
    }

    private static void Render(XElement element, StringBuilder text)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t: text.Append(t.Value); break;
                case XElement { Name.LocalName: "para" } p: text.Append(Break); Render(p, text); text.Append(Break); break;
                case XElement { Name.LocalName: "see" or "seealso" } see:
                    var word = (string?)see.Attribute("langword") ?? (string?)see.Attribute("href");
                    if (word is null && (string?)see.Attribute("cref") is { } cref)
                        word = cref[(cref.LastIndexOf('.') + 1)..];
                    text.Append(see.IsEmpty ? word : see.Value);
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } r: text.Append((string?)r.Attribute("name")); break;
                case XElement e: Render(e, text); break;
            }
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
