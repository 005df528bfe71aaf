using System.Diagnostics;
using System.Text.Json;

namespace FalVideo.Benchmark;

/// <summary>
/// What a contender process says about its own run, printed as one line <c>BENCH-RESULT {json}</c> on stdout.
/// A process measures itself at the end because once it has exited Linux keeps neither its peak RSS nor its CPU
/// time readable by the parent. The Node contender prints the same fields.
/// </summary>
/// <param name="Client">What ran, e.g. the module and PowerShell versions.</param>
/// <param name="WorkSeconds">From just before the first submit to the last result fetched (process start-up excluded).</param>
/// <param name="Completed">Jobs whose result carried a video URL.</param>
/// <param name="Errors">Jobs that failed or errors reported.</param>
/// <param name="PeakRssKb">VmHWM from /proc/self/status.</param>
/// <param name="CpuSeconds">User + system CPU time of the whole process.</param>
public sealed record ChildReport(string Client, double WorkSeconds, int Completed, int Errors, long PeakRssKb, double CpuSeconds)
{
    /// <summary>The marker that starts the result line.</summary>
    public const string Marker = "BENCH-RESULT ";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Builds this process's report from its own counters.</summary>
    public static ChildReport Measure(string client, TimeSpan work, int completed, int errors) =>
        new(client, work.TotalSeconds, completed, errors, ProcStatus.PeakRssKb(Environment.ProcessId) ?? 0,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);

    /// <summary>Prints the result line.</summary>
    public void Print()
    {
        Console.Out.WriteLine(Marker + JsonSerializer.Serialize(this, Json));
        Console.Out.Flush();
    }

    /// <summary>Reads a result line, or null when <paramref name="line"/> is not one.</summary>
    public static ChildReport? TryParse(string line) =>
        line.StartsWith(Marker, StringComparison.Ordinal)
            ? JsonSerializer.Deserialize<ChildReport>(line.AsSpan(Marker.Length), Json)
            : null;
}

/// <summary>Reads Linux <c>/proc/&lt;pid&gt;/status</c> and <c>/proc/&lt;pid&gt;/stat</c>.</summary>
internal static class ProcStatus
{
    /// <summary>Peak resident set size (VmHWM) in KiB, or null when the process is gone or not on Linux.</summary>
    public static long? PeakRssKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
