using System.Diagnostics;

namespace FalVideo.Tools;

/// <summary>
/// Real PowerShell for child processes, run as a user runs a script: <c>pwsh -NoProfile -NonInteractive -File
/// script args</c>. The pwsh is the one pinned in <c>.config/dotnet-tools.json</c> (<c>dotnet tool restore</c>), or
/// the one <c>FALVIDEO_PWSH</c> names (e.g. an installed <c>/usr/bin/pwsh</c>). Compiled into the tests and the
/// benchmark, so both start the same pwsh the same way.
/// </summary>
internal static class Pwsh
{
    private static readonly Lock Gate = new();
    private static string? s_path;

    /// <summary>
    /// The pwsh executable: <c>FALVIDEO_PWSH</c>, or the apphost in <c>$PSHOME</c> of the pinned tool, asked once per
    /// process from <c>dotnet pwsh</c> in <paramref name="repoRoot"/> (where the tool manifest is). Restores the tool
    /// when <c>dotnet pwsh</c> cannot run yet.
    /// </summary>
    /// <exception cref="InvalidOperationException">The pinned pwsh cannot be found or restored.</exception>
    public static string Locate(string repoRoot)
    {
        lock (Gate)
        {
            return s_path ??= Environment.GetEnvironmentVariable("FALVIDEO_PWSH") is { Length: > 0 } given ? given : FindPinned(repoRoot);
        }
    }

    /// <summary>Makes <paramref name="pwsh"/> the pwsh every later <see cref="Locate"/> returns in this process (the
    /// benchmark's precompiled copy of the pinned pwsh).</summary>
    public static void Use(string pwsh)
    {
        lock (Gate) s_path = pwsh;
    }

    /// <summary>
    /// How to start <c>pwsh -NoProfile -NonInteractive -File <paramref name="script"/> <paramref name="args"/></c> with
    /// stdout and stderr redirected, with <paramref name="environment"/> added to the
    /// inherited environment (a null value removes that variable).
    /// </summary>
    public static ProcessStartInfo StartInfo(string repoRoot, string script, IEnumerable<string> args,
        IEnumerable<KeyValuePair<string, string?>>? environment = null)
    {
        var start = new ProcessStartInfo(Locate(repoRoot))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-NoProfile", "-NonInteractive", "-File", script, .. args]) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? [])
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        return start;
    }

    /// <summary>Starts <see cref="StartInfo"/>; the caller reads (or drains) the redirected output.</summary>
    public static Process Start(string repoRoot, string script, IEnumerable<string> args,
        IEnumerable<KeyValuePair<string, string?>>? environment = null) =>
        Process.Start(StartInfo(repoRoot, script, args, environment)) ?? throw new InvalidOperationException($"Could not start {Locate(repoRoot)}.");

    private static string FindPinned(string repoRoot)
    {
        var (code, output, errors) = Dotnet(repoRoot, "pwsh", "-NoProfile", "-NonInteractive", "-Command", "$PSHOME");
        if (code != 0)
        {
            var restore = Dotnet(repoRoot, "tool", "restore");
            if (restore.Code != 0) throw new InvalidOperationException($"dotnet tool restore failed in {repoRoot}:\n{restore.Output}{restore.Errors}");
            (code, output, errors) = Dotnet(repoRoot, "pwsh", "-NoProfile", "-NonInteractive", "-Command", "$PSHOME");
        }
        var home = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        var pwsh = home is null ? null : Path.Combine(home, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        return code == 0 && File.Exists(pwsh)
            ? pwsh
            : throw new InvalidOperationException($"The pwsh pinned in .config/dotnet-tools.json was not found (dotnet pwsh exited {code}):\n{output}{errors}");
    }

    private static (int Code, string Output, string Errors) Dotnet(string workingDirectory, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dotnet}.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
