using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FalVideo.Benchmark;

/// <summary>
/// The precompiled child host (<c>--engine precompiled</c>): this program published ReadyToRun for this machine's
/// runtime identifier into <c>bin/&lt;configuration&gt;/precompiled-host/</c>, so the PowerShell engine the children
/// host is native code from the start, as in an installed pwsh. PowerShell's own build publishes its release
/// packages ReadyToRun (build.psm1 turns it off only for framework-dependent and minimal-size builds); the
/// Microsoft.PowerShell.SDK package this program references ships the same assemblies as IL only, which would make
/// every FalVideo figure include compiling the engine.
/// </summary>
internal static class ChildHost
{
    /// <summary>The dotnet host that runs the children.</summary>
    public static string Dotnet { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h
        : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    /// <summary>
    /// Publishes (or brings up to date: the SDK's ReadyToRun step is incremental) the precompiled host and returns
    /// the path of its FalVideo.Benchmark.dll; null, with the reason on stderr, when the publish fails.
    /// </summary>
    public static async Task<string?> PrepareAsync()
    {
        var project = Path.Combine(BuildInfo.RepoRoot, "bench", "FalVideo.Benchmark", "FalVideo.Benchmark.csproj");
        var output = Path.Combine(BuildInfo.RepoRoot, "bench", "FalVideo.Benchmark", "bin", BuildInfo.Configuration, "precompiled-host");
        var start = new ProcessStartInfo(Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "publish", project, "-c", BuildInfo.Configuration, "-r", RuntimeInformation.RuntimeIdentifier,
                     // The project references (module, emulator) are built for the runtime identifier too: the
                     // emulator reference brings its runtime-specific files along. The module folder they assemble is
                     // the same one.
                     "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", output, "--nologo", "-v", "quiet",
                 })
        {
            start.ArgumentList.Add(a);
        }

        Console.Error.Write($"Publishing the precompiled engine host to {output} (ReadyToRun; about a minute the first time) ... ");
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var dll = Path.Combine(output, "FalVideo.Benchmark.dll");
        if (process.ExitCode != 0 || !File.Exists(dll))
        {
            Console.Error.WriteLine("FAILED");
            Console.Error.WriteLine(await stdout);
            Console.Error.WriteLine(await stderr);
            Console.Error.WriteLine("Run with --engine il to measure with the IL-only engine instead.");
            return null;
        }
        Console.Error.WriteLine($"{clock.Elapsed.TotalSeconds:0} s");
        return dll;
    }
}
