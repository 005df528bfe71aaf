using System.Reflection;

namespace FalVideo.Benchmark;

/// <summary>Paths baked in at build time (see the project file), so the driver runs from any working directory.</summary>
internal static class BuildInfo
{
    public static string RepoRoot { get; } = Metadata("RepoRoot");

    public static string EmulatorDirectory { get; } = Metadata("EmulatorDirectory");

    /// <summary>Debug or Release: the configuration this program, the module and the emulator were built in.</summary>
    public static string Configuration { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private static string Metadata(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing; rebuild the benchmark.");
}
