using System.Reflection;
#if NET8_0_OR_GREATER
using System.Runtime.Loader;
#endif
using FalVideo.Init;

namespace FalVideo.Core.Tests.Init;

/// <summary>
/// A build folder laid out as the module's (<c>bin/</c> with <c>bin/dependencies/</c>), registered once for the
/// process: <see cref="DependencyLoader.Register"/> is process-wide and keeps the first folder. The dependency is a
/// real one, Polly.Core.dll, copied from this test's output; the requester the module "owns" is a second copy of it
/// loaded from <c>bin/</c>, so its location is inside the build folder.
/// </summary>
public sealed class LoaderFolder
{
    public LoaderFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), $"falvideo-loader-{Guid.NewGuid():N}");
        Bin = Path.Combine(Root, "bin");
        Dependencies = Path.Combine(Bin, "dependencies");
        Directory.CreateDirectory(Dependencies);
        var polly = Path.Combine(AppContext.BaseDirectory, "Polly.Core.dll");
        File.Copy(polly, Path.Combine(Dependencies, "Polly.Core.dll"));
        File.Copy(polly, Path.Combine(Bin, "Polly.Core.dll"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, SharedName + ".dll"), Path.Combine(Dependencies, SharedName + ".dll"));
        DependencyLoader.Register(Bin);
        OwnRequester = LoadSeparately(Path.Combine(Bin, "Polly.Core.dll"));
    }

    public string Root { get; }
    public string Bin { get; }
    public string Dependencies { get; }

    /// <summary>An assembly loaded from the build folder, as FalVideo.dll would be.</summary>
    public Assembly OwnRequester { get; }

    /// <summary>A shipped dependency the host (this test's output) carries at the same version. Not Polly.Core: once
    /// the private context has loaded Polly.Core it answers that name itself, whatever the version asked for.</summary>
    public const string SharedName = "xunit.v3.common";

    /// <summary>Polly.Core's name at the version this test's output carries.</summary>
    public static AssemblyName PollyName => typeof(Polly.ResiliencePipeline).Assembly.GetName();

    private static Assembly LoadSeparately(string path)
    {
#if NET8_0_OR_GREATER
        return new AssemblyLoadContext("requester", isCollectible: true).LoadFromAssemblyPath(path);
#else
        return Assembly.LoadFile(path);
#endif
    }
}

public sealed class DependencyLoaderTests(LoaderFolder folder) : IClassFixture<LoaderFolder>
{
    [Fact]
    public void The_registered_folder_is_kept_and_registering_it_again_is_harmless()
    {
        Assert.Equal(Path.GetFullPath(folder.Bin), DependencyLoader.BinFolder);
        DependencyLoader.Register(folder.Bin);
        DependencyLoader.Register(folder.Bin + Path.DirectorySeparatorChar);
        Assert.Equal(Path.GetFullPath(folder.Bin), DependencyLoader.BinFolder);
    }

    [Fact]
    public void Another_build_folder_in_the_same_process_leaves_the_first_one_serving()
    {
        // A process holds one copy of an assembly identity: a second copy of the module runs the first one's anyway,
        // and FalVideo.psm1 warns with the folder Register returns.
        var other = Path.Combine(folder.Root, "other-bin");
        Assert.Equal(Path.GetFullPath(folder.Bin), DependencyLoader.Register(other));
        Assert.Equal(Path.GetFullPath(folder.Bin), DependencyLoader.BinFolder);
    }

    [Fact]
    public void The_requester_stands_where_the_module_would()
    {
        Assert.StartsWith(folder.Bin + Path.DirectorySeparatorChar, folder.OwnRequester.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void A_foreign_requester_gets_no_answer()
    {
        Assert.Null(DependencyLoader.ResolveFor(NewerPolly(), typeof(DependencyLoaderTests).Assembly));
        Assert.Null(DependencyLoader.ResolveFor(LoaderFolder.PollyName, typeof(Assert).Assembly));
    }

    [Fact]
    public void An_assembly_the_module_does_not_ship_gets_no_answer()
    {
        Assert.Null(DependencyLoader.ResolveFor(new AssemblyName("FalVideo.NoSuchDependency"), folder.OwnRequester));
        Assert.Null(DependencyLoader.ResolveFor(new AssemblyName("NoSuch.Dependency, Version=1.0.0.0"), folder.OwnRequester));
    }

    [Fact]
    public void An_own_requester_gets_the_shipped_dependency()
    {
        var resolved = DependencyLoader.ResolveFor(NewerPolly(), folder.OwnRequester);

        Assert.NotNull(resolved);
        Assert.Equal("Polly.Core", resolved.GetName().Name);
#if NET8_0_OR_GREATER
        // The host carries an older Polly.Core than asked for, so the shipped copy loads into the private context.
        Assert.Equal(DependencyLoader.ContextName, AssemblyLoadContext.GetLoadContext(resolved)!.Name);
        Assert.Equal(Path.Combine(folder.Dependencies, "Polly.Core.dll"), resolved.Location);
        Assert.NotSame(typeof(Polly.ResiliencePipeline).Assembly, resolved);
        // Asked again, the same context answers with the same assembly.
        Assert.Same(resolved, DependencyLoader.ResolveFor(NewerPolly(), folder.OwnRequester));
#endif
    }

    [Fact]
    public void A_null_requester_counts_as_own()
    {
        // .NET Framework sometimes reports no requesting assembly.
        Assert.NotNull(DependencyLoader.ResolveFor(NewerPolly(), null));
    }

#if NET8_0_OR_GREATER
    [Fact]
    public void A_dependency_the_host_carries_at_the_same_version_is_shared()
    {
        var name = AssemblyName.GetAssemblyName(Path.Combine(folder.Dependencies, LoaderFolder.SharedName + ".dll"));
        Assert.True(DependencyLoader.HostCarries(name));

        var resolved = DependencyLoader.ResolveFor(name, folder.OwnRequester);

        Assert.NotNull(resolved);
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(resolved));
        Assert.Same(AssemblyLoadContext.Default.LoadFromAssemblyName(name), resolved);
    }

    [Fact]
    public void The_host_does_not_carry_a_newer_version_than_its_own()
    {
        Assert.False(DependencyLoader.HostCarries(NewerPolly()));
        Assert.False(DependencyLoader.HostCarries(new AssemblyName("NoSuch.Dependency")));
    }
#endif

    /// <summary>Polly.Core at a version no host carries: the module's copy has to answer.</summary>
    private static AssemblyName NewerPolly()
    {
        var name = (AssemblyName)LoaderFolder.PollyName.Clone();
        name.Version = new Version(99, 0, 0, 0);
        return name;
    }
}
