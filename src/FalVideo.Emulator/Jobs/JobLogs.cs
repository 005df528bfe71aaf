namespace FalVideo.Emulator.Jobs;

/// <summary>One entry of a status body's <c>logs</c> array (PROTOCOL.md, "Status").</summary>
internal sealed record JobLog(string Message, string Level, DateTimeOffset Timestamp);

/// <summary>
/// Plausible runner logs, derived from a job's timestamps alone. Lines only ever get appended as time
/// passes, so the status stream can send just the lines a client has not seen yet.
/// </summary>
internal static class JobLogs
{
    private const string Level = "INFO";

    public static IReadOnlyList<JobLog> For(EmulatedJob job)
    {
        if (job.StartedAt is not { } started) return [];
        var logs = new List<JobLog>(3) { new($"Runner assigned; generating video for {job.EndpointId}", Level, started) };
        var halfway = started + TimeSpan.FromSeconds(job.RunSeconds / 2);
        if (job.RunSeconds > 0 && job.ObservedAt >= halfway)
            logs.Add(new("Generating frames: 50%", Level, halfway));
        if (job.CompletedAt is { } ended)
        {
            logs.Add(job.Error is null
                ? new("Video ready: output.mp4", Level, ended)
                : new(job.Error, "ERROR", ended));
        }
        return logs;
    }
}
