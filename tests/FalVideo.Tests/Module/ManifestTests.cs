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
        var dll = Path.Combine(Path.GetDirectoryName(RepoPaths.ModuleManifest)!, "FalVideo.dll");
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

    [Fact]
    public void A_release_build_ships_precompiled_assemblies_that_still_carry_their_IL()
    {
        // The module folder is the one built with these tests: precompiled in Release, IL only in Debug.
        var release = typeof(ManifestTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration == "Release";
        var folder = Path.GetDirectoryName(RepoPaths.ModuleManifest)!;
        foreach (var file in new[] { "FalVideo.dll", "FalVideo.Init.dll", "dependencies/FalVideo.Core.dll", "dependencies/Polly.Core.dll", "dependencies/Polly.dll" })
        {
            using var stream = File.OpenRead(Path.Combine(folder, file));
            using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
            var cor = pe.PEHeaders.CorHeader!;
            // A ReadyToRun image has a managed native header; its IL and metadata stay, so other platforms JIT it.
            Assert.True(release == cor.ManagedNativeHeaderDirectory.Size > 0,
                release ? $"{file} is not a ReadyToRun image." : $"{file} is precompiled in a Debug build.");
            Assert.True(pe.HasMetadata, $"{file} lost its metadata.");
        }
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

/// <summary>The package a PowerShell repository takes: built by `dotnet pack`, with the module folder at its root.</summary>
public sealed class PackageTests
{
    [Fact]
    public void Dotnet_pack_makes_a_gallery_shaped_nupkg_of_the_module_folder()
    {
        var output = Directory.CreateTempSubdirectory("falvideo-pack-").FullName;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        // --no-build: the solution build already assembled the module folder, which other tests are importing right now.
        foreach (var a in new[] { "pack", Path.Combine(RepoPaths.Root, "tools", "FalVideo.Package"), "--no-build", "-o", output, "--nologo", "-v", "quiet" })
            start.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(start)!;
        var log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, log);
        var package = Assert.Single(Directory.GetFiles(output, "FalVideo.*.nupkg"));
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("FalVideo.psd1", names);
        Assert.Contains("FalVideo.dll", names);
        Assert.Contains("dependencies/FalVideo.Core.dll", names);
        Assert.Contains("en-US/FalVideo.dll-Help.xml", names);
        using var nuspec = new StreamReader(zip.GetEntry("FalVideo.nuspec")!.Open());
        var text = nuspec.ReadToEnd();
        Assert.Contains("PSModule", text);
        Assert.Contains("PSCmdlet_New-KlingVideo", text);
        Assert.Matches(@"<version>\d+\.\d+\.\d+</version>", text);
        try { Directory.Delete(output, true); } catch (IOException) { }
    }
}
