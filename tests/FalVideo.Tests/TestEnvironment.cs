using System.Runtime.CompilerServices;

namespace FalVideo.Tests;

/// <summary>Keeps the tests away from the user's own FalVideo files: the saved configuration points at a file that does not exist.</summary>
internal static class TestEnvironment
{
    [ModuleInitializer]
    internal static void Isolate()
    {
        Environment.SetEnvironmentVariable("FALVIDEO_CONFIG", Path.Combine(Path.GetTempPath(), $"falvideo-tests-{Guid.NewGuid():N}", "config.json"));
    }
}
