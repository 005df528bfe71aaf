using System.Reflection;
using System.Runtime.Loader;

namespace FalVideo.HelpGen;

/// <summary>
/// Loads the module's assemblies from the module folder (and any subfolder, e.g. <c>dependencies/</c>) apart from
/// this tool's own, so the module's System.Text.Json or Polly never meets the PowerShell SDK's copies. PowerShell's
/// assemblies are left to the default context, as pwsh does, so the cmdlet attributes are the real SMA types.
/// Collectible: nothing of the module stays loaded once the help is written.
/// </summary>
public sealed class ModuleLoadContext(string moduleFolder) : AssemblyLoadContext("FalVideo.HelpGen module", isCollectible: true)
{
    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name ?? "";
        if (name == "System.Management.Automation" || name.StartsWith("Microsoft.PowerShell.", StringComparison.Ordinal)) return null;
        var file = Directory.EnumerateFiles(moduleFolder, name + ".dll", SearchOption.AllDirectories).FirstOrDefault();
        return file is null ? null : LoadFromAssemblyPath(file);
    }
}
