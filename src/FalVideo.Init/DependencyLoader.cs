using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace FalVideo.Init;

/// <summary>
/// Keeps the module's dependencies (FalVideo.Core, Polly and what they pull in) apart from whatever other
/// modules have loaded, the way PSResourceGet does (its <c>ModuleInitAndCleanup.cs</c>): they live in the
/// module's <c>dependencies/</c> folder, which PowerShell never probes, and the default load context's request
/// for FalVideo.Core is answered from a private <see cref="AssemblyLoadContext"/> in which Core's own references
/// resolve. Another module's Polly or System.Text.Json, loaded before or after, cannot replace ours.
/// The manifest lists this assembly in NestedModules, so it is imported before FalVideo.dll is analysed.
/// </summary>
public sealed class DependencyLoader : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string s_folder =
        Path.Combine(Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location) ?? ".", "dependencies");
    private static readonly Lazy<DependencyLoadContext> s_context = new(() => new DependencyLoadContext(s_folder));
    private static int s_registered;

    /// <summary>Registers the resolver (once per process; every runspace shares the load contexts).</summary>
    public void OnImport()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0) AssemblyLoadContext.Default.Resolving += Resolve;
    }

    /// <summary>Nothing to undo: assemblies stay loaded for the life of the process, as .NET requires for the default context.</summary>
    public void OnRemove(PSModuleInfo module) { }

    private static Assembly? Resolve(AssemblyLoadContext requester, AssemblyName name)
    {
        // Only the module's own dependency is asked for from the default context; its references resolve inside ours.
        if (!string.Equals(name.Name, "FalVideo.Core", StringComparison.Ordinal)) return null;
        return File.Exists(Path.Combine(s_folder, "FalVideo.Core.dll")) ? s_context.Value.LoadFromAssemblyName(name) : null;
    }

    /// <summary>The private context: our dependencies from the folder; the framework and PowerShell from the default.</summary>
    private sealed class DependencyLoadContext(string folder) : AssemblyLoadContext("FalVideo.Dependencies", isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            var path = Path.Combine(folder, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
