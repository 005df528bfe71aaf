using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace FalVideo.HelpGen;

/// <summary>
/// Reads every cmdlet of the module assembly by reflection (in a <see cref="ModuleLoadContext"/>) and merges it with
/// the XML doc comments and the Markdown sources into <see cref="CmdletHelp"/> objects.
/// </summary>
public static class HelpBuilder
{
    private const string AllSets = "__AllParameterSets";

    /// <summary>Builds the help of every cmdlet; <paramref name="problem"/> hears what is missing.</summary>
    public static List<CmdletHelp> Build(GeneratorOptions options, Action<string> problem)
    {
        var assemblyPath = Path.Combine(options.ModuleFolder, options.AssemblyFile);
        if (!File.Exists(assemblyPath)) throw new FileNotFoundException($"{assemblyPath} not found; build the module first.", assemblyPath);
        var context = new ModuleLoadContext(options.ModuleFolder);
        try
        {
            var assembly = context.LoadFromAssemblyPath(assemblyPath);
            var cmdletTypes = assembly.GetExportedTypes()
                .Where(t => !t.IsAbstract && t.GetCustomAttribute<CmdletAttribute>() is not null)
                .ToList();
            var docAssemblies = assembly.GetReferencedAssemblies().Select(a => a.Name!).Prepend(assembly.GetName().Name!);
            var docs = new XmlDocs(docAssemblies, options.XmlDocFolders.Prepend(options.ModuleFolder));

            var result = new List<CmdletHelp>();
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var type in cmdletTypes)
            {
                var attr = type.GetCustomAttribute<CmdletAttribute>()!;
                var name = $"{attr.VerbName}-{attr.NounName}";
                names.Add(name);
                var mdPath = Path.Combine(options.DocsFolder, name + ".md");
                MarkdownHelp? md = null;
                if (File.Exists(mdPath))
                {
                    md = MarkdownHelp.Load(mdPath, problem);
                    if (!string.Equals(md.Name, name, StringComparison.OrdinalIgnoreCase))
                        problem($"{name}.md: its title is '# {md.Name}', expected '# {name}'.");
                }
                else problem($"{name}: no help source {mdPath}; copy another cmdlet's Markdown and describe this one.");
                var help = BuildOne(type, attr, name, md ?? new MarkdownHelp(), docs);
                Check(help, md, problem);
                result.Add(help);
            }
            foreach (var orphan in Directory.Exists(options.DocsFolder) ? Directory.EnumerateFiles(options.DocsFolder, "*-*.md") : [])
                if (!names.Contains(Path.GetFileNameWithoutExtension(orphan)))
                    problem($"{Path.GetFileName(orphan)}: no cmdlet of that name in {options.AssemblyFile}.");
            return result.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();
        }
        finally { context.Unload(); }
    }

    private static CmdletHelp BuildOne(Type type, CmdletAttribute attr, string name, MarkdownHelp md, XmlDocs docs)
    {
        var metadata = new CommandMetadata(type);
        var instance = CreateInstance(type);
        try
        {
            var ordered = metadata.Parameters.Values.Select((p, i) => (Meta: p, Index: i)).ToList();
            var setNames = ordered.SelectMany(p => p.Meta.ParameterSets.Keys).Where(s => s != AllSets).Distinct().ToList();
            if (setNames.Count == 0) setNames.Add(AllSets);
            var defaultSet = attr.DefaultParameterSetName is { Length: > 0 } d && setNames.Contains(d) ? d : setNames[0];
            setNames = setNames.OrderBy(s => s == defaultSet ? 0 : 1).ToList();

            var baseHelp = new Dictionary<string, ParameterHelp>(StringComparer.OrdinalIgnoreCase);
            foreach (var (meta, _) in ordered)
                baseHelp[meta.Name] = Describe(type, meta, instance, md, docs);

            var syntax = new List<SyntaxItem>();
            foreach (var set in setNames)
            {
                var inSet = ordered
                    .Select(p => (p.Meta, p.Index, Set: p.Meta.ParameterSets.TryGetValue(set, out var s) ? s
                        : p.Meta.ParameterSets.TryGetValue(AllSets, out var all) ? all : null))
                    .Where(p => p.Set is not null)
                    // PowerShell's own order: positional by position, then mandatory, then the rest as declared.
                    .OrderBy(p => p.Set!.Position >= 0 ? 0 : p.Set.IsMandatory ? 1 : 2)
                    .ThenBy(p => p.Set!.Position >= 0 ? p.Set.Position : 0)
                    .ThenBy(p => p.Index)
                    .Select(p => ForSet(baseHelp[p.Meta.Name], p.Set!))
                    .ToList();
                if (attr.SupportsShouldProcess) inSet.AddRange(ShouldProcessParameters(md));
                syntax.Add(new SyntaxItem(set, inSet));
            }

            // The parameter list follows the default set's order, then parameters of the other sets; WhatIf and Confirm last.
            var parameters = syntax.SelectMany(s => s.Parameters).Select(p => p.Name).Distinct(StringComparer.OrdinalIgnoreCase)
                .Where(baseHelp.ContainsKey).Select(n => baseHelp[n])
                .ToList();
            if (attr.SupportsShouldProcess) parameters.AddRange(ShouldProcessParameters(md));

            var typeId = XmlDocs.TypeId(type);
            return new CmdletHelp
            {
                Name = name, Verb = attr.VerbName, Noun = attr.NounName,
                Synopsis = md.Synopsis.Count > 0 ? md.Synopsis : docs.TypedParagraphs(typeId, "synopsis").ToList(),
                Description = md.Description.Count > 0 ? md.Description : docs.TypedParagraphs(typeId, "description").ToList(),
                Syntax = syntax,
                Parameters = parameters,
                Inputs = Inputs(ordered.Select(p => p.Meta).ToList(), md),
                Outputs = Outputs(type, md, docs),
                Notes = md.Notes,
                Examples = md.Examples,
                Links = md.Links,
            };
        }
        finally { (instance as IDisposable)?.Dispose(); }
    }

    private static ParameterHelp Describe(Type cmdlet, ParameterMetadata meta, object? instance, MarkdownHelp md, XmlDocs docs)
    {
        // The most derived declaration: GetProperty(name) would throw on a property hidden with 'new'.
        var property = cmdlet.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name == meta.Name)
            .OrderByDescending(p => Depth(p.DeclaringType!))
            .First();
        var description = new List<string>(docs.Summary(XmlDocs.PropertyId(property)));
        if (md.Parameters.TryGetValue(meta.Name, out var extra)) description.AddRange(extra);

        var type = meta.ParameterType;
        var element = Nullable.GetUnderlyingType(type) ?? type;
        if (element.IsArray) element = element.GetElementType()!;
        element = Nullable.GetUnderlyingType(element) ?? element;
        var allowed = new List<string>();
        if (meta.Attributes.OfType<ValidateSetAttribute>().FirstOrDefault() is { } set) allowed.AddRange(set.ValidValues);
        else if (element.IsEnum) allowed.AddRange(Enum.GetNames(element));
        if (allowed.Count > 0) description.Add($"Allowed values: {string.Join(", ", allowed)}.");
        if (meta.Attributes.OfType<ValidateRangeAttribute>().FirstOrDefault() is { } range)
            description.Add(range.MaxRange is int max && max == int.MaxValue
                ? $"Allowed range: {Format(range.MinRange)} or more."
                : $"Allowed range: {Format(range.MinRange)} to {Format(range.MaxRange)}.");
        if (meta.Attributes.OfType<ArgumentCompleterAttribute>().FirstOrDefault() is { Type: { } completer })
        {
            var what = docs.Summary(XmlDocs.TypeId(completer));
            if (what.Count > 0) description.Add($"Tab completion: {what[0]}");
        }

        var first = meta.ParameterSets.Values.First();
        return new ParameterHelp
        {
            Name = meta.Name,
            TypeName = ShortName(type),
            TypeFullName = FullName(type),
            IsSwitch = meta.SwitchParameter,
            Required = meta.ParameterSets.Values.All(s => s.IsMandatory),
            Position = first.Position >= 0 ? first.Position.ToString(CultureInfo.InvariantCulture) : "named",
            PipelineInput = Pipeline(meta.ParameterSets.Values.Any(s => s.ValueFromPipeline), meta.ParameterSets.Values.Any(s => s.ValueFromPipelineByPropertyName)),
            Aliases = meta.Aliases.ToList(),
            Globbing = meta.Attributes.OfType<SupportsWildcardsAttribute>().Any(),
            DefaultValue = md.DefaultValues.TryGetValue(meta.Name, out var dv) ? dv : DefaultOf(property, instance),
            AllowedValues = allowed,
            Description = description,
        };
    }

    private static ParameterHelp ForSet(ParameterHelp help, ParameterSetMetadata set) => help with
    {
        Required = set.IsMandatory,
        Position = set.Position >= 0 ? set.Position.ToString(CultureInfo.InvariantCulture) : "named",
        PipelineInput = Pipeline(set.ValueFromPipeline, set.ValueFromPipelineByPropertyName),
    };

    private static IEnumerable<ParameterHelp> ShouldProcessParameters(MarkdownHelp md)
    {
        ParameterHelp Switch(string name, string alias, string text) => new()
        {
            Name = name, TypeName = "SwitchParameter", TypeFullName = typeof(SwitchParameter).FullName!, IsSwitch = true,
            Aliases = [alias], DefaultValue = "False",
            Description = [text, .. md.Parameters.TryGetValue(name, out var extra) ? extra : []],
        };
        yield return Switch("WhatIf", "wi", "Shows what would happen if the cmdlet runs. The cmdlet is not run.");
        yield return Switch("Confirm", "cf", "Prompts you for confirmation before running the cmdlet.");
    }

    private static List<TypeHelp> Inputs(List<ParameterMetadata> parameters, MarkdownHelp md)
    {
        var inputs = new List<TypeHelp>();
        foreach (var p in parameters.Where(p => p.ParameterSets.Values.Any(s => s.ValueFromPipeline)))
        {
            var t = p.ParameterType.IsArray ? p.ParameterType.GetElementType()! : p.ParameterType;
            inputs.Add(new TypeHelp(FullName(t), [$"You can pipe {ShortName(t)} objects to -{p.Name}."]));
        }
        var byName = parameters.Where(p => p.ParameterSets.Values.Any(s => s.ValueFromPipelineByPropertyName)).ToList();
        if (byName.Count > 0)
        {
            var names = byName.Select(p => p.Aliases.Count > 0 ? $"{p.Name} ({string.Join(", ", p.Aliases)})" : p.Name);
            inputs.Add(new TypeHelp(typeof(PSObject).FullName!,
                [$"Any object, such as an Import-Csv row, whose properties bind by name: {string.Join(", ", names)}."]));
        }
        foreach (var (typeName, text) in md.Inputs)
        {
            var i = inputs.FindIndex(x => SameType(x.TypeName, typeName));
            if (i >= 0) inputs[i] = inputs[i] with { Description = text };
            else inputs.Add(new TypeHelp(typeName, text));
        }
        if (inputs.Count == 0) inputs.Add(new TypeHelp("None", ["You can't pipe objects to this cmdlet."]));
        return inputs;
    }

    private static List<TypeHelp> Outputs(Type cmdlet, MarkdownHelp md, XmlDocs docs)
    {
        var outputs = new List<TypeHelp>();
        foreach (var attr in cmdlet.GetCustomAttributes<OutputTypeAttribute>())
            foreach (var t in attr.Type)
            {
                var text = t.Type is { } real ? docs.Summary(XmlDocs.TypeId(real)).ToList() : [];
                outputs.Add(new TypeHelp(t.Name, text));
            }
        foreach (var (typeName, text) in md.Outputs)
        {
            var i = outputs.FindIndex(x => SameType(x.TypeName, typeName));
            if (i >= 0) outputs[i] = outputs[i] with { Description = text };
            else outputs.Add(new TypeHelp(typeName, text));
        }
        if (outputs.Count == 0) outputs.Add(new TypeHelp("None", ["This cmdlet returns no output."]));
        return outputs;
    }

    private static void Check(CmdletHelp help, MarkdownHelp? md, Action<string> problem)
    {
        if (help.Synopsis.Count == 0) problem($"{help.Name}: no synopsis.");
        if (help.Description.Count == 0) problem($"{help.Name}: no description.");
        foreach (var p in help.Parameters.Where(p => p.Description.Count == 0))
            problem($"{help.Name}: parameter -{p.Name} has no description (a /// summary or a '### -{p.Name}' section).");
        if (md is null) return;
        if (help.Examples.Count < 2) problem($"{help.Name}.md: {help.Examples.Count} example(s); write at least two.");
        if (!help.Examples.Any(e => e.Code.Contains("Import-Csv", StringComparison.OrdinalIgnoreCase)))
            problem($"{help.Name}.md: no example starts from Import-Csv.");
        if (help.Links.Count == 0) problem($"{help.Name}.md: no RELATED LINKS.");
        foreach (var name in md.Parameters.Keys.Concat(md.DefaultValues.Keys).Distinct(StringComparer.OrdinalIgnoreCase))
            if (!help.Parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
                problem($"{help.Name}.md: '### -{name}' names no parameter of {help.Name}.");
    }

    private static object? CreateInstance(Type type)
    {
        // Property initializers (e.g. ThrottleLimit = 32) are the defaults; a cmdlet that can't be built
        // without a pipeline just has no computed defaults.
        try { return Activator.CreateInstance(type); }
        catch (Exception ex) when (ex is TargetInvocationException or MissingMethodException or MemberAccessException) { return null; }
    }

    private static string DefaultOf(PropertyInfo property, object? instance)
    {
        if (instance is null) return "None";
        object? value;
        try { value = property.GetValue(instance); }
        catch (TargetInvocationException) { return "None"; }
        return value switch
        {
            null => "None",
            SwitchParameter s => s.IsPresent ? "True" : "False",
            string { Length: 0 } => "None",
            System.Collections.IEnumerable e and not string => string.Join(", ", e.Cast<object>().Select(Format)) is { Length: > 0 } j ? j : "None",
            _ => Format(value),
        };
    }

    private static string Format(object? value) => value switch
    {
        null => "None",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "None",
    };

    private static int Depth(Type type)
    {
        var depth = 0;
        for (var t = type.BaseType; t is not null; t = t.BaseType) depth++;
        return depth;
    }

    private static string Pipeline(bool byValue, bool byName) => (byValue, byName) switch
    {
        (true, true) => "True (ByValue, ByPropertyName)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    private static bool SameType(string a, string b) =>
        string.Equals(a, b, StringComparison.OrdinalIgnoreCase)
        || string.Equals(a.Split('.')[^1], b.Split('.')[^1], StringComparison.OrdinalIgnoreCase);

    private static string ShortName(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsArray ? ShortName(t.GetElementType()!) + "[]" : t.Name;
    }

    private static string FullName(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsArray ? FullName(t.GetElementType()!) + "[]" : (t.FullName ?? t.Name).Replace('+', '.');
    }
}
