using System.Runtime.InteropServices;

namespace FalVideo.Core.Tests.Runtime;

/// <summary>Which runtime the tests ran on, for tests/run-core-tests.sh: it sets FALVIDEO_EXPECT_RUNTIME (".NET 8.0.",
/// "Mono ") so a leg that silently ran elsewhere fails, and FALVIDEO_RUNTIME_FILE to have the description written out.</summary>
public sealed class RuntimeTests
{
    [Fact]
    public void Runs_on_the_expected_runtime()
    {
        var description = RuntimeInformation.FrameworkDescription;
        Assert.False(string.IsNullOrWhiteSpace(description));

        if (Environment.GetEnvironmentVariable("FALVIDEO_EXPECT_RUNTIME") is { Length: > 0 } expected)
        {
            Assert.StartsWith(expected, description, StringComparison.Ordinal);
        }

        if (Environment.GetEnvironmentVariable("FALVIDEO_RUNTIME_FILE") is { Length: > 0 } file)
        {
            File.WriteAllText(file, description);
        }
    }

    [Fact]
    public void The_build_matches_the_runtime()
    {
        var onMono = Type.GetType("Mono.Runtime") is not null;
#if NETFRAMEWORK
        Assert.True(onMono || RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal),
            RuntimeInformation.FrameworkDescription);
#else
        Assert.False(onMono);
        Assert.Equal(Environment.Version.Major, new Version(RuntimeInformation.FrameworkDescription.Split(' ')[1].Split('-')[0]).Major);
#endif
    }
}
