using FalVideo.HelpGen;

// Usage: FalVideo.HelpGen --module <module folder> --docs <docs/help> [--assembly FalVideo.dll]
//        [--xml-docs <folder>]... [--out <file>] [--strict]
// Writes <module folder>/en-US/<assembly>-Help.xml (or --out). Problems (a cmdlet without Markdown, a parameter
// without a description, too few examples) are printed as MSBuild warnings so a half-documented new cmdlet never
// breaks the build of everyone else; the help tests fail on them. --strict turns them into errors (exit code 1).
var options = GeneratorOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: FalVideo.HelpGen --module <folder> --docs <folder> [--assembly FalVideo.dll] [--xml-docs <folder>]... [--out <file>] [--strict]");
    return 2;
}

try
{
    var problems = new List<string>();
    var cmdlets = HelpBuilder.Build(options, problems.Add);
    Directory.CreateDirectory(Path.GetDirectoryName(options.OutputPath)!);
    MamlWriter.Write(cmdlets, options.OutputPath);
    var kind = options.Strict ? "error" : "warning";
    foreach (var p in problems) Console.WriteLine($"FalVideo.HelpGen : {kind} FVHELP001: {p}");
    Console.WriteLine($"FalVideo.HelpGen: {cmdlets.Count} cmdlet(s) -> {options.OutputPath}");
    return options.Strict && problems.Count > 0 ? 1 : 0;
}
catch (Exception ex) when (ex is IOException or InvalidDataException or BadImageFormatException or FileNotFoundException)
{
    Console.WriteLine($"FalVideo.HelpGen : error FVHELP001: {ex.Message}");
    return 1;
}

namespace FalVideo.HelpGen
{
    /// <summary>Command-line options of the generator.</summary>
    public sealed class GeneratorOptions
    {
        /// <summary>The assembled module folder holding the cmdlet assembly.</summary>
        public required string ModuleFolder { get; init; }
        /// <summary>Folder of per-cmdlet Markdown sources (<c>Verb-Noun.md</c>).</summary>
        public required string DocsFolder { get; init; }
        /// <summary>File name of the cmdlet assembly in <see cref="ModuleFolder"/>.</summary>
        public string AssemblyFile { get; init; } = "FalVideo.dll";
        /// <summary>Folders searched for XML doc files (<c>AssemblyName.xml</c>) after the module folder.</summary>
        public IReadOnlyList<string> XmlDocFolders { get; init; } = [];
        /// <summary>Where the MAML goes.</summary>
        public required string OutputPath { get; init; }
        /// <summary>Problems are errors (exit code 1) instead of warnings.</summary>
        public bool Strict { get; init; }

        /// <summary>The options in <paramref name="args"/>, or null when they are incomplete.</summary>
        public static GeneratorOptions? Parse(string[] args)
        {
            string? module = null, docs = null, output = null, assembly = null;
            var xmlDocs = new List<string>();
            var strict = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--module": module = Next(); break;
                    case "--docs": docs = Next(); break;
                    case "--out": output = Next(); break;
                    case "--assembly": assembly = Next(); break;
                    case "--xml-docs": xmlDocs.Add(Next()); break;
                    case "--strict": strict = true; break;
                    default: return null;
                }
            }
            if (module is null || docs is null) return null;
            assembly ??= "FalVideo.dll";
            return new GeneratorOptions
            {
                ModuleFolder = Path.GetFullPath(module),
                DocsFolder = Path.GetFullPath(docs),
                AssemblyFile = assembly,
                XmlDocFolders = xmlDocs.Select(Path.GetFullPath).ToList(),
                OutputPath = Path.GetFullPath(output ?? Path.Combine(module, "en-US", assembly + "-Help.xml")),
                Strict = strict,
            };
        }
    }
}
