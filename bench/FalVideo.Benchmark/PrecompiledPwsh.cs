using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using FalVideo.Tools;

namespace FalVideo.Benchmark;

/// <summary>
/// The pwsh every real-pwsh figure runs in (<c>--pwsh precompiled</c>, the default): a copy of the pinned pwsh's
/// <c>$PSHOME</c> in <c>bin/&lt;configuration&gt;/precompiled-pwsh/</c> whose managed assemblies are compiled
/// ReadyToRun with crossgen2 for this machine's runtime identifier and the running .NET, as an installed pwsh's are.
/// </summary>
/// <remarks>
/// PowerShell's release packages (the .deb, .rpm, .msi, .pkg and .tar.gz users install) are published ReadyToRun:
/// <c>PowerShell.Common.props</c> in PowerShell's repository sets <c>PublishReadyToRun</c> for Release builds. The
/// PowerShell dotnet tool pinned in <c>.config/dotnet-tools.json</c> ships the same assemblies as IL only, so a process
/// started from it compiles the whole engine while it is measured: 0.6 s for <c>pwsh -NoProfile -c exit</c> against
/// 0.23 s precompiled (bench/README.md). <c>--pwsh tool</c> measures the pinned tool as it is; <c>FALVIDEO_PWSH</c>
/// names any other pwsh and wins over both. <c>Microsoft.CodeAnalysis*</c> (only <c>Add-Type</c> of source code uses
/// it) stays IL, as the precompiled engine host leaves it (<see cref="ChildHost"/>).
/// </remarks>
internal static class PrecompiledPwsh
{
    /// <summary>Which pwsh the real-pwsh figures ran in, for the report.</summary>
    public static string Description { get; set; } = "the pwsh pinned in `.config/dotnet-tools.json` (the PowerShell dotnet tool, IL only: `--pwsh tool`)";

    /// <summary>
    /// Makes (or finds up to date) the precompiled copy and returns the path of its <c>pwsh</c> executable; null, with
    /// the reason on stderr, when it cannot be made.
    /// </summary>
    public static async Task<string?> PrepareAsync()
    {
        var source = Path.GetDirectoryName(Pwsh.Locate(BuildInfo.RepoRoot))!;
        var target = Path.Combine(BuildInfo.RepoRoot, "bench", "FalVideo.Benchmark", "bin", BuildInfo.Configuration, "precompiled-pwsh");
        var exe = Path.Combine(target, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        var framework = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        // What the copy was made from: a different pwsh, .NET or crossgen2 makes it again.
        var crossgen = FindCrossgen2();
        var stamp = $"{source}\n{framework}\n{crossgen}\n";
        var stampFile = Path.Combine(target, ".precompiled-from");
        Description = $"the pwsh pinned in `.config/dotnet-tools.json` ({Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(source)))))}), " +
                      $"its assemblies compiled ReadyToRun by crossgen2 {Environment.Version} for {RuntimeInformation.RuntimeIdentifier} as an installed pwsh's are (`--pwsh precompiled`, bench/FalVideo.Benchmark/bin/{BuildInfo.Configuration}/precompiled-pwsh)";
        if (File.Exists(exe) && File.Exists(stampFile) && await File.ReadAllTextAsync(stampFile) == stamp) return exe;
        if (crossgen is null)
        {
            Console.Error.WriteLine($"crossgen2 for {RuntimeInformation.RuntimeIdentifier} and .NET {Environment.Version} is not in the NuGet cache " +
                                    "(the precompiled engine host's publish downloads it); run with --pwsh tool to measure the pinned pwsh as it is.");
            return null;
        }

        Console.Error.Write($"Precompiling pwsh ({source}) into {target} with crossgen2 (about half a minute the first time) ... ");
        var clock = Stopwatch.StartNew();
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        CopyDirectory(source, target);
        var inputs = Directory.GetFiles(source, "*.dll").Where(IsIlOnly)
            .Where(f => !Path.GetFileName(f).StartsWith("Microsoft.CodeAnalysis", StringComparison.OrdinalIgnoreCase)).ToList();
        var failures = new List<string>();
        // One crossgen2 per core: each compiles one assembly mostly on one thread.
        await Parallel.ForEachAsync(inputs, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, async (input, ct) =>
        {
            var output = Path.Combine(target, Path.GetFileName(input));
            var start = new ProcessStartInfo(crossgen) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[]
                     {
                         input, "-o", output, "-O",
                         "-r", Path.Combine(framework, "*.dll"), "-r", Path.Combine(source, "*.dll"),
                         "--targetos", OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "osx" : "linux",
                         "--targetarch", RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
                     })
            {
                start.ArgumentList.Add(a);
            }
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                var why = $"{Path.GetFileName(input)}: {await stderr}{await stdout}";
                lock (failures) failures.Add(why);
            }
        });
        if (failures.Count > 0)
        {
            // The IL copy of a file crossgen2 refused stays in place: the runtime compiles it as it runs, as before.
            Console.Error.Write($"{failures.Count} assemblies left IL ({string.Join("; ", failures.Select(f => f.Split('\n')[0]))}) ... ");
        }
        await File.WriteAllTextAsync(stampFile, stamp);
        Console.Error.WriteLine($"{inputs.Count - failures.Count} assemblies, {clock.Elapsed.TotalSeconds:0} s");
        return exe;
    }

    /// <summary>The crossgen2 of the NuGet package for this runtime identifier and this .NET's version (the SDK
    /// restores it for any ReadyToRun publish), or null.</summary>
    private static string? FindCrossgen2()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var tool = Path.Combine(packages, $"microsoft.netcore.app.crossgen2.{RuntimeInformation.RuntimeIdentifier}".ToLowerInvariant(),
            Environment.Version.ToString(3), "tools", OperatingSystem.IsWindows() ? "crossgen2.exe" : "crossgen2");
        return File.Exists(tool) ? tool : null;
    }

    private static bool IsIlOnly(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var pe = new PEReader(stream);
            // Managed, with no ReadyToRun code yet: an R2R image has a managed native header. A file crossgen2 still
            // refuses stays IL (PrepareAsync reports it).
            return pe.PEHeaders.CorHeader is { } cor && cor.ManagedNativeHeaderDirectory.Size == 0;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            var copy = Path.Combine(to, Path.GetFileName(file));
            File.Copy(file, copy);
            // The apphost and other executables keep their mode (File.Copy keeps it on Unix).
        }
        foreach (var dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }
}
