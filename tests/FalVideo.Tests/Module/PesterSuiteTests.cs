using System.Management.Automation.Language;

namespace FalVideo.Tests.Module;

/// <summary>
/// The Pester suite itself runs in a real pwsh (tests/pester/Invoke-FalVideoPester.ps1, with the Pester 5.9.1 that
/// `dotnet build` restores); this is the quick static guard kept with the xunit tests: every file of tests/pester parses,
/// and every command a *.Tests.ps1 file calls is one the built module or PowerShell exports, a Pester keyword, or a
/// function defined in tests/pester (the shared set-up in Common.ps1, helpers in the test files) or in FalVideo.psm1 (its
/// private functions, which a test calls inside the module's scope), so it does not rot.
/// </summary>
public sealed class PesterSuiteTests
{
    [Fact]
    public void Pester_files_parse_and_call_only_known_commands()
    {
        var folder = Path.Combine(RepoPaths.Root, "tests", "pester");
        var files = Directory.GetFiles(folder, "*.Tests.ps1");
        Assert.NotEmpty(files);
        using var ps = new PowerShellHost(emulator: null);
        var known = ps.Run("Get-Command -CommandType Cmdlet, Function, Alias | ForEach-Object Name").Output
            .Select(o => o.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var pester = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            { "Describe", "Context", "It", "BeforeAll", "AfterAll", "BeforeEach", "AfterEach", "BeforeDiscovery", "Should" };

        // Functions defined anywhere in tests/pester/*.ps1 (Common.ps1 is dot-sourced by every test file) and FalVideo.psm1.
        var defined = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var script in Directory.GetFiles(folder, "*.ps1").Append(Path.Combine(RepoPaths.Root, "src", "FalVideo", "FalVideo.psm1")))
        {
            var ast = Parser.ParseFile(script, out _, out var errors);
            Assert.True(errors.Length == 0, $"{script}: {string.Join("; ", errors.Select(e => e.Message))}");
            foreach (var f in ast.FindAll(a => a is FunctionDefinitionAst, true).Cast<FunctionDefinitionAst>()) defined.Add(f.Name);
        }

        foreach (var file in files)
        {
            var ast = Parser.ParseFile(file, out _, out _);
            var commands = ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>()
                .Select(c => c.GetCommandName()).Where(n => n is not null && !n.Contains('.') && !n.Contains('/')).Distinct();
            var unknown = commands.Where(n => !known.Contains(n!) && !pester.Contains(n!) && !defined.Contains(n!) && n != "dotnet").ToList();
            Assert.True(unknown.Count == 0, $"{file} calls unknown commands: {string.Join(", ", unknown)}");
            Assert.Contains(ast.FindAll(a => a is CommandAst c && c.GetCommandName() == "It", true), _ => true);
        }
    }
}
