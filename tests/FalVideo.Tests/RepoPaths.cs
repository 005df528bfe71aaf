namespace FalVideo.Tests;

/// <summary>Where things are: the repository root (the folder holding FalVideo.sln) and what hangs off it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    public static string ModuleManifest => Path.Combine(Root, "artifacts", "module", "FalVideo", "FalVideo.psd1");
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FalVideo.sln"))) return dir.FullName;
        throw new InvalidOperationException("FalVideo.sln not found above " + AppContext.BaseDirectory);
    }
}
