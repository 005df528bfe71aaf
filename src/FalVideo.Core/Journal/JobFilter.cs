using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// Which jobs a prune (<c>Remove-FalJob -Before/-Status</c>) forgets and counts: every condition given must match. A
/// filter with no condition matches nothing (<see cref="IsEmpty"/>): forgetting the whole store by accident would
/// lose every resumable job.
/// </summary>
/// <param name="SubmittedBefore">Jobs submitted before this moment (<see cref="FalJob.SubmittedAt"/>, or when the store
/// first recorded the job if it has none), or null for any time.</param>
/// <param name="Statuses">Jobs whose last known status is one of these, or null for any status.</param>
/// <param name="Owners">Narrows the jobs the other conditions pick to those submitted from these machines by these
/// users (<see cref="JobOwnerFilter"/>), or null for anyone's. Alone it is no condition: <see cref="IsEmpty"/> stays true.</param>
public sealed record JobFilter(DateTimeOffset? SubmittedBefore, IReadOnlyCollection<FalJobStatus>? Statuses, JobOwnerFilter? Owners = null)
{
    /// <summary>True when the filter names no condition on time or status (it then matches no job, whatever
    /// <see cref="Owners"/> says).</summary>
    public bool IsEmpty => SubmittedBefore is null && Statuses is null;

    /// <summary>The owner condition when it names one, else null: what a store adds to its query.</summary>
    public JobOwnerFilter? OwnerCondition => Owners is { IsEmpty: false } owners ? owners : null;

    /// <summary>Whether a job matches.</summary>
    /// <param name="status">The job's last known status.</param>
    /// <param name="submitted">When it was submitted (or first recorded).</param>
    public bool Matches(FalJobStatus status, DateTimeOffset submitted) =>
        !IsEmpty
        && (SubmittedBefore is not { } before || submitted < before)
        && (Statuses is null || Statuses.Contains(status));

    /// <summary>Whether a job matches, its submitter included (<see cref="Owners"/>).</summary>
    /// <param name="status">The job's last known status.</param>
    /// <param name="submitted">When it was submitted (or first recorded).</param>
    /// <param name="machine">The job's <see cref="FalJob.Machine"/>.</param>
    /// <param name="user">The job's <see cref="FalJob.User"/>.</param>
    public bool Matches(FalJobStatus status, DateTimeOffset submitted, string? machine, string? user) =>
        Matches(status, submitted) && (OwnerCondition is not { } owners || owners.Matches(machine, user));

    /// <summary>The moment a job counts as submitted: <see cref="FalJob.SubmittedAt"/>, else <paramref name="firstRecorded"/>.</summary>
    /// <param name="job">The job.</param>
    /// <param name="firstRecorded">When the store first recorded it.</param>
    public static DateTimeOffset SubmittedTime(FalJob job, DateTimeOffset firstRecorded)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.SubmittedAt == default ? firstRecorded : job.SubmittedAt;
    }

    /// <summary>The filter in words, for -WhatIf and -Confirm: "submitted before ... with status Completed or Failed".</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (SubmittedBefore is { } before) parts.Add($"submitted before {before:u}");
        if (Statuses is not null) parts.Add("with status " + string.Join(" or ", Statuses.Distinct()));
        if (parts.Count > 0 && OwnerCondition is { } owners) parts.Add(owners.ToString());
        return parts.Count == 0 ? "(no condition)" : string.Join(" ", parts);
    }
}
