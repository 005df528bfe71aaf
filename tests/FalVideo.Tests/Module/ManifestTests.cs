using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;

namespace FalVideo.Tests.Module;

/// <summary>The built module folder: exact exports, a format file that loads, help for every cmdlet.</summary>
public sealed class ManifestTests : IDisposable
{
    private readonly PowerShellHost _ps = new(emulator: null);

    public void Dispose() => _ps.Dispose();

    private static string[] CmdletsInAssembly()
    {
        var dll = Path.Combine(Path.GetDirectoryName(RepoPaths.ModuleManifest)!, "net8.0", "FalVideo.dll");
        var context = new MetadataLoadContextLite(dll);
        return context.CmdletNames();
    }

    [Fact]
    public void Manifest_exports_exactly_the_cmdlets_the_dll_defines()
    {
        var r = _ps.Run("(Get-Module FalVideo).ExportedCmdlets.Keys | Sort-Object");
        r.ThrowIfErrors();
        var exported = r.Output.Select(o => o.ToString()).ToArray();
        Assert.Equal(CmdletsInAssembly().OrderBy(n => n, StringComparer.OrdinalIgnoreCase), exported);
        var manifest = _ps.Run("(Import-PowerShellDataFile $args[0]).CmdletsToExport | Sort-Object", RepoPaths.ModuleManifest);
        Assert.Equal(exported, manifest.Output.Select(o => o.ToString()).ToArray());
    }

    [Theory]
    [InlineData("net8.0", ".NETCoreApp,Version=v8.0")]
    [InlineData("net472", ".NETFramework,Version=v4.7.2")]
    public void Each_build_folder_holds_the_modules_assemblies_for_its_framework_and_only_the_dependencies_it_uses(string folder, string framework)
    {
        var build = Path.Combine(Path.GetDirectoryName(RepoPaths.ModuleManifest)!, folder);
        foreach (var own in new[] { "FalVideo.dll", "FalVideo.Core.dll", "FalVideo.Init.dll" })
        {
            var path = Path.Combine(build, own);
            Assert.True(File.Exists(path), $"{path} is missing.");
            Assert.Equal(framework, TargetFrameworkOf(path));
        }
        var dependencies = Directory.GetFiles(Path.Combine(build, "dependencies"), "*.dll").Select(Path.GetFileName).ToList();
        Assert.Contains("Polly.Core.dll", dependencies);
        Assert.DoesNotContain("Polly.dll", dependencies);               // the legacy API is never used
        Assert.DoesNotContain("System.Management.Automation.dll", dependencies);
        // PowerShell 7.4+ runs on .NET 8 or newer, which carries System.Text.Json: the net8.0 build uses that one.
        Assert.Equal(folder == "net472", dependencies.Contains("System.Text.Json.dll"));
    }

    private static string? TargetFrameworkOf(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        foreach (var handle in md.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = md.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != System.Reflection.Metadata.HandleKind.MemberReference) continue;
            var type = md.GetMemberReference((System.Reflection.Metadata.MemberReferenceHandle)attribute.Constructor).Parent;
            if (type.Kind != System.Reflection.Metadata.HandleKind.TypeReference
                || md.GetString(md.GetTypeReference((System.Reflection.Metadata.TypeReferenceHandle)type).Name) != "TargetFrameworkAttribute") continue;
            var blob = md.GetBlobReader(attribute.Value);
            blob.ReadUInt16();                                          // the prolog
            return blob.ReadSerializedString();
        }
        return null;
    }

    [Fact]
    public void Assemblies_carry_the_manifest_version()
    {
        var r = _ps.Run("$m = Get-Module FalVideo; $m.Version.ToString(); [FalVideo.Jobs.FalJob].Assembly.GetName().Version.ToString(3)");
        r.ThrowIfErrors();
        Assert.Equal(r.Output[0].ToString(), r.Output[^1].ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+$", r.Output[0].ToString());
    }

    [Fact]
    public void Jobs_carry_fals_snake_case_names_and_models_their_short_name_as_Model()
    {
        var r = _ps.Run("$j = [FalVideo.Jobs.FalJob]::new(); $j.RequestId = 'r-1'; $j.EndpointId = 'fal-ai/x'; $j.request_id; $j.endpoint_id; (Get-FalModel kling-v3-pro).Model");
        r.ThrowIfErrors();
        Assert.Equal(new[] { "r-1", "fal-ai/x", "kling-v3-pro" }, r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Jobs_use_the_table_view_and_print_as_their_request_id()
    {
        var r = _ps.Run("Get-FormatData -TypeName FalVideo.Jobs.FalJob | ForEach-Object { $_.FormatViewDefinition.Name }");
        Assert.Contains("FalJobTable", r.Output.Select(o => o.ToString()));
        var s = _ps.Run("$j = [FalVideo.Jobs.FalJob]::new(); $j.RequestId = 'abc-123'; \"$j\"");
        Assert.Equal("abc-123", s.Output.Single().ToString());
    }
}

/// <summary>Reads [Cmdlet] attributes from the built DLL without loading it into this process's default context twice.</summary>
internal sealed class MetadataLoadContextLite(string path)
{
    public string[] CmdletNames()
    {
        var context = new System.Runtime.Loader.AssemblyLoadContext("manifest-check", isCollectible: true);
        try
        {
            context.Resolving += (ctx, name) =>
            {
                var candidate = Path.Combine(Path.GetDirectoryName(path)!, name.Name + ".dll");
                return File.Exists(candidate) ? ctx.LoadFromAssemblyPath(candidate) : null;
            };
            var asm = context.LoadFromAssemblyPath(path);
            return asm.GetTypes()
                .Select(t => t.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == typeof(CmdletAttribute).FullName))
                .Where(a => a is not null)
                .Select(a => $"{a!.ConstructorArguments[0].Value}-{a.ConstructorArguments[1].Value}")
                .ToArray();
        }
        finally { context.Unload(); }
    }
}

