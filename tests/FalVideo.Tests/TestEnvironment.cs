using System.Runtime.CompilerServices;

namespace FalVideo.Tests;

/// <summary>Keeps the tests away from the user's own FalVideo files: the saved configuration points at a file that does not
/// exist, and a session with no journal setting of its own (after <c>Set-FalConfiguration -Reset</c>, say) writes to a
/// job store in the temp folder, never to the user's default one.</summary>
internal static class TestEnvironment
{
    [ModuleInitializer]
    internal static void Isolate()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"falvideo-tests-{Guid.NewGuid():N}");
        Environment.SetEnvironmentVariable("FALVIDEO_CONFIG", Path.Combine(folder, "config.json"));
        Environment.SetEnvironmentVariable("FALVIDEO_JOURNAL", Path.Combine(folder, "jobs.db"));
    }
}
