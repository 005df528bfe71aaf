using System.Reflection;
#if NET8_0_OR_GREATER
using System.Runtime.Loader;
#endif

namespace FalVideo.Init;

/// <summary>
/// Resolves the module's assemblies the way PSResourceGet does (its <c>ModuleInitAndCleanup.cs</c>), for one build
/// folder (<c>net8.0/</c> or <c>net472/</c>) laid out as:
/// <list type="bullet">
/// <item><c>FalVideo.dll</c>, <c>FalVideo.Core.dll</c>: the module's own assemblies. They load into the process's
/// default context, so scripts can name the output types (<c>[FalVideo.Jobs.FalJob]</c>).</item>
/// <item><c>dependencies/*.dll</c>: third-party assemblies (Polly.Core, System.Net.ServerSentEvents, on net472
/// System.Text.Json and its polyfill packages). PowerShell never probes that folder, so another module's copy of
/// the same assembly cannot be replaced by ours, nor ours by theirs.</item>
/// </list>
/// On .NET (PowerShell 7.4+) a dependency loads into a private <c>AssemblyLoadContext</c> named
/// <see cref="ContextName"/>, unless the host already carries it at an equal or newer version, which is then
/// shared. On .NET Framework (Windows PowerShell 5.1), which has one context per process, it loads with
/// <see cref="Assembly.LoadFrom(string)"/>, and the file shipped answers any version asked for, as a binding
/// redirect would (the packages reference each other at differing versions and powershell.exe has no redirects).
/// Only requests from the module's own assemblies are answered, so other modules' resolution is left alone.
/// </summary>
public static class DependencyLoader
{
    /// <summary>The name of the private load context on .NET.</summary>
    public const string ContextName = "FalVideo.Dependencies";

    private static readonly object s_sync = new();
    private static string? s_binFolder;
    private static string? s_dependencyFolder;
#if NET8_0_OR_GREATER
    private static DependencyLoadContext? s_context;
#endif

    /// <summary>The build folder registered, or null before <see cref="Register"/>.</summary>
    public static string? BinFolder => s_binFolder;

    /// <summary>
    /// Starts answering the module's assembly requests from <paramref name="binFolder"/> (the folder holding
    /// FalVideo.dll). The first folder registered in a process keeps serving: a process holds one copy of an
    /// assembly identity, so a second copy of the module imported later runs the first one's assemblies anyway. The
    /// handler stays for the life of the process, because objects the module emitted may still need its dependencies
    /// after <c>Remove-Module</c>.
    /// </summary>
    /// <param name="binFolder">Path of the build folder.</param>
    /// <returns>The folder that serves: <paramref name="binFolder"/>, or the one registered before it.</returns>
    public static string Register(string binFolder)
    {
        // Without a trailing separator: the same folder written with one is the same folder, and IsOwn appends one.
        var folder = Path.GetFullPath(binFolder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        lock (s_sync)
        {
            if (s_binFolder is not null) return s_binFolder;

            s_binFolder = folder;
            s_dependencyFolder = Path.Combine(folder, "dependencies");
#if NET8_0_OR_GREATER
            s_context = new DependencyLoadContext(s_dependencyFolder);
#endif
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
            return folder;
        }
    }

    /// <summary>The assembly the module ships for <paramref name="name"/> when <paramref name="requester"/> is one
    /// of the module's own (or null, as .NET Framework sometimes reports), else null.</summary>
    /// <param name="name">The requested assembly.</param>
    /// <param name="requester">The assembly whose reference is being resolved.</param>
    public static Assembly? ResolveFor(AssemblyName name, Assembly? requester)
    {
        var bin = s_binFolder;
        var deps = s_dependencyFolder;
        if (bin is null || deps is null || name.Name is null) return null;
        if (requester is not null && !IsOwn(requester, bin)) return null;

        var own = Path.Combine(bin, name.Name + ".dll");
        if (name.Name.StartsWith("FalVideo.", StringComparison.Ordinal) && File.Exists(own))
        {
#if NET8_0_OR_GREATER
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(own);
#else
            return Assembly.LoadFrom(own);
#endif
        }

        var dependency = Path.Combine(deps, name.Name + ".dll");
        if (!File.Exists(dependency)) return null;
#if NET8_0_OR_GREATER
        return s_context!.LoadFromAssemblyName(name);
#else
        return Assembly.LoadFrom(dependency);
#endif
    }

    private static Assembly? Resolve(object? sender, ResolveEventArgs args) =>
        ResolveFor(new AssemblyName(args.Name), args.RequestingAssembly);

    /// <summary>True for an assembly loaded from the build folder or its dependencies folder.</summary>
    private static bool IsOwn(Assembly assembly, string bin)
    {
        if (assembly.IsDynamic) return false;
        var location = assembly.Location;
        return !string.IsNullOrEmpty(location)
            && location.StartsWith(bin + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase);
    }

#if NET8_0_OR_GREATER
    /// <summary>
    /// The dependencies folder as a load context. A dependency's own references resolve here first: from the
    /// host when it carries the assembly at an equal or newer version (shared), else from the folder.
    /// </summary>
    private sealed class DependencyLoadContext(string folder) : AssemblyLoadContext(ContextName, isCollectible: false)
    {
        // The provider's P/Invokes ask once each (about twenty times for SQLite): one load per library.
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IntPtr> _native = new(StringComparer.Ordinal);

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null) return null;
            var path = Path.Combine(folder, name.Name + ".dll");
            if (!File.Exists(path) || HostCarries(name)) return null;
            return LoadFromAssemblyPath(path);
        }

        /// <summary>A native library a dependency imports (SQLitePCLRaw's <c>e_sqlite3</c>), from
        /// <c>dependencies/runtimes/&lt;rid&gt;/native/</c>, which the runtime never probes; else the runtime's own search.</summary>
        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            _native.GetOrAdd(unmanagedDllName, name => NativeLibraryPath(folder, name) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero);
    }

    /// <summary>The file in <paramref name="dependencyFolder"/><c>/runtimes/&lt;rid&gt;/native/</c> for the native library
    /// <paramref name="name"/> (as a <c>DllImport</c> names it: <c>e_sqlite3</c>), or null when none is shipped for
    /// this platform.</summary>
    public static string? NativeLibraryPath(string dependencyFolder, string name)
    {
        if (NativeRuntimeId() is not { } rid) return null;
        var native = Path.Combine(dependencyFolder, "runtimes", rid, "native");
        string[] files = OperatingSystem.IsWindows() ? [name, name + ".dll"]
            : OperatingSystem.IsMacOS() ? [name, "lib" + name + ".dylib", name + ".dylib"]
            : [name, "lib" + name + ".so", name + ".so"];
        return files.Select(f => Path.Combine(native, f)).FirstOrDefault(File.Exists);
    }

    /// <summary>The runtime identifier the module ships natives for on this process (<c>linux-x64</c>, <c>osx-arm64</c>,
    /// <c>win-x64</c>...), or null.</summary>
    public static string? NativeRuntimeId()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : OperatingSystem.IsLinux() ? "linux" : null;
        var arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            _ => null,
        };
        return os is null || arch is null ? null : os + "-" + arch;
    }

    /// <summary>True when the runtime's own (trusted platform) assemblies include <paramref name="name"/> at an equal
    /// or newer version.</summary>
    public static bool HostCarries(AssemblyName name)
    {
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not string list) return false;
        foreach (var path in list.Split(Path.PathSeparator))
        {
            if (!string.Equals(Path.GetFileNameWithoutExtension(path), name.Name, StringComparison.OrdinalIgnoreCase)) continue;
            try
            {
                return AssemblyName.GetAssemblyName(path).Version >= (name.Version ?? new Version());
            }
            catch (Exception ex) when (ex is IOException or BadImageFormatException)
            {
                return false;
            }
        }

        return false;
    }
#endif
}
