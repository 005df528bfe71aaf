using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FalVideo.Benchmark;

/// <summary>The machine line of the report: cores, CPU model, memory, OS, runtimes.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = ReadField("/proc/meminfo", "MemTotal") is { } m && long.TryParse(m.Split(' ')[0], out var kb) ? kb : 0;
        var memory = memKb > 0 ? $"{memKb / 1024.0 / 1024.0:0.0} GiB memory" : "memory unknown";
        return $"{Environment.ProcessorCount} cores ({cpu}), {memory}, {RuntimeInformation.OSDescription}, " +
               $"{RuntimeInformation.FrameworkDescription}, Node.js {NodeVersion() ?? "not found"}{LoadAverage()}";
    }

    /// <summary>The L3 cache size the OS reports, in MiB, or "unknown".</summary>
    public static string L3CacheMb()
    {
        try
        {
            var text = File.ReadAllText("/sys/devices/system/cpu/cpu0/cache/index3/size").Trim();
            return text.EndsWith('K') && long.TryParse(text[..^1], out var kb) ? (kb / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture) : text;
        }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>Other work on the machine skews every number, so the report says how busy it was at the start.</summary>
    private static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"; load average at start {parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static string? ReadField(string file, string name)
    {
        try
        {
            return File.ReadLines(file)
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && p[0].Trim() == name)
                .Select(p => p[1].Trim())
                .FirstOrDefault();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string? NodeVersion()
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true, UseShellExecute = false });
            if (node is null) return null;
            var version = node.StandardOutput.ReadToEnd().Trim();
            node.WaitForExit();
            return version;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
