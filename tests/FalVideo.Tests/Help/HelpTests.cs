using System.Reflection;
using System.Diagnostics;
using System.Management.Automation.Runspaces;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FalVideo.Tests.Module;

namespace FalVideo.Tests.Help;

/// <summary>
/// Get-Help for every exported cmdlet of the BUILT module, checked against Get-Command's metadata, so a new cmdlet or
/// parameter without help fails here; plus the Markdown sources, the generated MAML and about_FalVideo.
/// </summary>
public sealed partial class HelpTests : IDisposable
{
    private readonly PowerShellHost _ps = new(emulator: null);
    private static string DocsFolder => Path.Combine(RepoPaths.Root, "docs", "help");
    private static string ModuleFolder => Path.GetDirectoryName(RepoPaths.ModuleManifest)!;

    /// <summary>Where the build left FalVideo.xml (the cmdlets' XML docs, which are not shipped in the module).</summary>
    private static string XmlDocsFolder => Path.Combine(RepoPaths.Root, "src", "FalVideo", "bin",
        typeof(HelpTests).Assembly.GetCustomAttribute<System.Reflection.AssemblyConfigurationAttribute>()?.Configuration ?? "Release", "net8.0");

    public void Dispose() => _ps.Dispose();

    private List<string> ExportedCmdlets()
    {
        var r = _ps.Run("(Get-Module FalVideo).ExportedCmdlets.Keys | Sort-Object");
        r.ThrowIfErrors();
        var names = r.Output.Select(o => o.ToString()).ToList();
        Assert.NotEmpty(names);
        return names;
    }

    [Fact]
    public void Every_exported_cmdlet_has_complete_help()
    {
        var problems = ExportedCmdlets().SelectMany(name => HelpChecker.Problems(_ps, name)).ToList();
        Assert.True(problems.Count == 0, "Help problems:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Every_exported_cmdlet_has_a_markdown_source_that_names_only_its_parameters()
    {
        var problems = new List<string>();
        foreach (var name in ExportedCmdlets())
        {
            var path = Path.Combine(DocsFolder, name + ".md");
            if (!File.Exists(path)) { problems.Add($"{name}: docs/help/{name}.md is missing"); continue; }
            var text = File.ReadAllText(path);
            if (!text.StartsWith($"# {name}\n", StringComparison.Ordinal) && !text.StartsWith($"# {name}\r\n", StringComparison.Ordinal))
                problems.Add($"{name}.md does not start with '# {name}'");
            var parameters = _ps.Run("(Get-Command $args[0]).Parameters.Keys", name).Output.Select(o => o.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (Match m in ParameterHeading().Matches(text))
                if (!parameters.Contains(m.Groups[1].Value)) problems.Add($"{name}.md documents -{m.Groups[1].Value}, which {name} does not have");
        }
        var exported = ExportedCmdlets().ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var file in Directory.EnumerateFiles(DocsFolder, "*-*.md"))
            if (!exported.Contains(Path.GetFileNameWithoutExtension(file))) problems.Add($"{Path.GetFileName(file)} names no exported cmdlet");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_checker_fails_a_command_without_help()
    {
        // What a cmdlet without a Markdown source or a parameter summary looks like to Get-Help.
        _ps.Run("function Test-NoHelp { [CmdletBinding()] param([Parameter(ValueFromPipelineByPropertyName)][string]$Prompt) }").ThrowIfErrors();
        var problems = HelpChecker.Problems(_ps, "Test-NoHelp");
        Assert.Contains(problems, p => p.Contains("synopsis is only the syntax"));
        Assert.Contains(problems, p => p.Contains("no description"));
        Assert.Contains(problems, p => p.Contains("-Prompt has no"));
        Assert.Contains(problems, p => p.Contains("no example with Import-Csv"));
        Assert.Contains(problems, p => p.Contains("no related links"));
    }

    [Fact]
    public void Maml_ships_in_the_module_folder_with_one_command_per_exported_cmdlet()
    {
        var maml = Path.Combine(ModuleFolder, "en-US", "FalVideo.dll-Help.xml");
        Assert.True(File.Exists(maml), $"{maml} was not built");
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        var names = XDocument.Load(maml).Descendants(command + "details").Select(d => (string)d.Element(command + "name")!).Order().ToList();
        Assert.Equal(ExportedCmdlets().Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Parameter_help_carries_types_defaults_pipeline_binding_aliases_and_allowed_values()
    {
        string Field(string cmdlet, string parameter, string field)
        {
            var r = _ps.Run("$p = Get-Help $args[0] -Parameter $args[1]; \"$($p.($args[2]))\"", cmdlet, parameter, field);
            r.ThrowIfErrors();
            return r.Output.Single().ToString();
        }
        string Description(string cmdlet, string parameter)
        {
            var r = _ps.Run("(Get-Help $args[0] -Parameter $args[1]).description.Text -join \"`n\"", cmdlet, parameter);
            r.ThrowIfErrors();
            return r.Output.Single().ToString();
        }

        Assert.Equal("32", Field("Wait-FalJob", "ThrottleLimit", "defaultValue"));               // from the property initializer
        Assert.Contains("Allowed range: 1 to 1024.", Description("Wait-FalJob", "ThrottleLimit")); // from [ValidateRange]
        Assert.Equal("True (ByPropertyName)", Field("Get-FalJob", "RequestId", "pipelineInput"));
        Assert.Equal("request_id", Field("Get-FalJob", "RequestId", "aliases"));
        Assert.Contains("Tab completion: Request ids from the job journal", Description("Get-FalJob", "RequestId"));
        Assert.Equal("4", Field("Save-FalVideo", "ThrottleLimit", "defaultValue"));
        Assert.Contains("Allowed range: 1 to 32.", Description("Save-FalVideo", "ThrottleLimit"));
        Assert.Equal("True (ByValue)", Field("Save-FalVideo", "Job", "pipelineInput"));
        Assert.Equal("Path, OutputDirectory", Field("Save-FalVideo", "Directory", "aliases"));
        Assert.Equal("0", Field("Save-FalVideo", "Directory", "position"));
        Assert.Equal("the folder an earlier save of the job was asked for (as the journal recorded it), else the current location",
            Field("Save-FalVideo", "Directory", "defaultValue")); // a Markdown "Default value:" line
        Assert.Equal("true", Field("Get-FalJob", "Model", "globbing"));                          // [SupportsWildcards]
        Assert.Contains("Allowed values: Unknown, InQueue, InProgress, Completed, Failed, Cancelled, Rejected.", Description("Get-FalJob", "Status"));
        Assert.Contains("Allowed range: 0 to 20.", Description("Set-FalConfiguration", "MaxRetries"));
        var type = _ps.Run("(Get-Help New-KlingVideo -Parameter Duration).type.name");             // Nullable<int> shown as Int32
        Assert.Equal("System.Int32", type.Output.Single().ToString());

        // SYNTAX shows the enum values, as for a ValidateSet.
        var syntax = _ps.Run("Get-Help Get-FalJob | Out-String -Width 400");
        Assert.Contains("[-Status {Unknown | InQueue | InProgress | Completed | Failed | Cancelled | Rejected}]", syntax.Output.Single().ToString());
    }

    [Fact]
    public void Inputs_and_outputs_come_from_the_pipeline_parameters_and_OutputType()
    {
        var r = _ps.Run("""
            $h = Get-Help Wait-FalJob -Full
            ($h.inputTypes.inputType | ForEach-Object { $_.type.name }) -join '|'
            ($h.returnValues.returnValue | ForEach-Object { $_.type.name }) -join '|'
            """);
        r.ThrowIfErrors();
        Assert.Equal("FalVideo.Jobs.FalJob|System.Management.Automation.PSObject", r.Output[0].ToString());
        Assert.Equal("FalVideo.Jobs.FalJob", r.Output[1].ToString());
    }

    [Fact]
    public void About_FalVideo_covers_jobs_costs_the_journal_the_emulator_and_configuration()
    {
        var r = _ps.Run("Get-Help about_FalVideo | Out-String");
        r.ThrowIfErrors();
        var text = r.Output.Single().ToString();
        Assert.Contains("about_FalVideo", text);
        foreach (var heading in new[] { "JOBS", "COSTS", "THE JOB JOURNAL", "THE EMULATOR", "CONFIGURATION" })
            Assert.Contains(heading, text);
    }

    [Fact]
    public void A_cmdlet_without_markdown_fails_the_help_check_end_to_end()
    {
        // Generate the MAML again from docs/help without Stop-FalJob.md into a copy of the module, and check it.
        var temp = Directory.CreateTempSubdirectory("falvideo-help-");
        try
        {
            var module = Path.Combine(temp.FullName, "FalVideo");
            CopyFolder(ModuleFolder, module);
            var docs = Path.Combine(temp.FullName, "docs");
            CopyFolder(DocsFolder, docs);
            File.Delete(Path.Combine(docs, "Stop-FalJob.md"));
            File.Delete(Path.Combine(module, "en-US", "FalVideo.dll-Help.xml"));

            var (exit, output) = RunGenerator("--module", Path.Combine(module, "net8.0"), "--out", Path.Combine(module, "en-US", "FalVideo.dll-Help.xml"), "--docs", docs, "--strict",
                "--xml-docs", XmlDocsFolder);
            Assert.Equal(1, exit);
            Assert.Contains("Stop-FalJob: no help source", output);
            Assert.DoesNotContain("New-KlingVideo:", output);
            Assert.True(File.Exists(Path.Combine(module, "en-US", "FalVideo.dll-Help.xml")), output);

            using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            using (var import = System.Management.Automation.PowerShell.Create())
            {
                import.Runspace = runspace;
                import.AddScript("Import-Module $args[0] -ErrorAction Stop").AddArgument(Path.Combine(module, "FalVideo.psd1")).Invoke();
            }
            var problems = HelpChecker.Problems(runspace, "Stop-FalJob");
            Assert.Contains(problems, p => p.Contains("example(s), at least 2 expected"));
            Assert.Empty(HelpChecker.Problems(runspace, "Wait-FalJob"));
        }
        finally { temp.Delete(recursive: true); }
    }

    private static (int Exit, string Output) RunGenerator(params string[] args)
    {
        var dll = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "tools", "FalVideo.HelpGen", "bin"), "FalVideo.HelpGen.dll", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
        Assert.True(dll is not null, "FalVideo.HelpGen.dll was not built");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(dll!);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the generator did not finish");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    [GeneratedRegex(@"^### -(\w+)", RegexOptions.Multiline)]
    private static partial Regex ParameterHeading();
}
