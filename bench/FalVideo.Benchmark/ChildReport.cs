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

    /// <summary>Builds this process's report from its own counters.</summary>
    public static ChildReport Measure(string client, TimeSpan work, int completed, int errors) =>
        new(client, work.TotalSeconds, completed, errors, ProcStatus.PeakRssKb(Environment.ProcessId) ?? 0,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);

    /// <summary>Prints the result line.</summary>
    public void Print() => MarkedLine.Print(Marker, this);

    /// <summary>Reads a result line, or null when <paramref name="line"/> is not one.</summary>
    public static ChildReport? TryParse(string line) => MarkedLine.TryParse<ChildReport>(Marker, line);
}

/// <summary>
/// A child's one line for the driver on stdout: a marker, then a record as JSON (web defaults: camelCase names), so the
/// driver can pick it out of whatever else the child prints.
/// </summary>
internal static class MarkedLine
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Prints <paramref name="marker"/> and <paramref name="value"/> as one line, flushed.</summary>
    public static void Print<T>(string marker, T value)
    {
        Console.Out.WriteLine(marker + JsonSerializer.Serialize(value, Json));
        Console.Out.Flush();
    }

    /// <summary>The record on <paramref name="line"/>, or null when the line does not start with <paramref name="marker"/>.</summary>
    public static T? TryParse<T>(string marker, string line) where T : class =>
        line.StartsWith(marker, StringComparison.Ordinal)
            ? JsonSerializer.Deserialize<T>(line.AsSpan(marker.Length), Json)
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
