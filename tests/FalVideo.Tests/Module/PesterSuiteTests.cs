using System.Management.Automation.Language;

namespace FalVideo.Tests.Module;

/// <summary>
/// Pester is not on this machine's registries, so the Pester suite cannot run here; this checks that each
/// file parses and that every cmdlet it calls is one the built module or PowerShell exports, so it does not rot.
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
            { "Describe", "Context", "It", "BeforeAll", "AfterAll", "BeforeEach", "AfterEach", "Should" };
        foreach (var file in files)
        {
            var ast = Parser.ParseFile(file, out _, out var errors);
            Assert.True(errors.Length == 0, $"{file}: {string.Join("; ", errors.Select(e => e.Message))}");
            var commands = ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>()
                .Select(c => c.GetCommandName()).Where(n => n is not null && !n.Contains('.') && !n.Contains('/')).Distinct();
            var unknown = commands.Where(n => !known.Contains(n!) && !pester.Contains(n!) && n != "dotnet").ToList();
            Assert.True(unknown.Count == 0, $"{file} calls unknown commands: {string.Join(", ", unknown)}");
            Assert.Contains(ast.FindAll(a => a is CommandAst c && c.GetCommandName() == "It", true), _ => true);
        }
    }
}
