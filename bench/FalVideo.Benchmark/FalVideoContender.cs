using System.Diagnostics;
using FalVideo.Tools;

namespace FalVideo.Benchmark;

/// <summary>
/// The FalVideo contender: <c>Import-Csv rows.csv | New-KlingVideo | Wait-FalJob</c> in real PowerShell, started as
/// <c>pwsh -NoProfile -NonInteractive -File FalVideoContender.ps1</c> (the pwsh pinned in
/// <c>.config/dotnet-tools.json</c>, or <c>FALVIDEO_PWSH</c>; see <see cref="Pwsh"/>) with the built module from
/// <c>artifacts/module/FalVideo</c>. The driver sets <c>FALVIDEO_BASE_URL</c>, <c>FAL_KEY</c> and
/// <c>FALVIDEO_JOURNAL</c>; the script prints the <see cref="ChildReport"/> line.
/// </summary>
internal static class FalVideoContender
{
    /// <summary>The script pwsh runs.</summary>
    public static string Script => Path.Combine(BuildInfo.RepoRoot, "bench", "FalVideo.Benchmark", "FalVideoContender.ps1");

    /// <summary>
    /// Writes the rows to <paramref name="csv"/> and returns how to start the contender over them; the caller deletes
    /// the file after the run.
    /// </summary>
    public static ProcessStartInfo Prepare(int rows, string csv)
    {
        var manifest = Path.Combine(BuildInfo.RepoRoot, "artifacts", "module", "FalVideo", "FalVideo.psd1");
        if (!File.Exists(manifest)) throw new FileNotFoundException($"The built module is missing: {manifest}");
        Workload.WriteCsv(csv, rows);
        return Pwsh.StartInfo(BuildInfo.RepoRoot, Script, ["-Manifest", manifest, "-Csv", csv, "-Batch", Workload.FalVideoBatch]);
    }
}
