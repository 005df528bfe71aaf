using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using FalVideo.Jobs;

namespace FalVideo.Journal;

/// <summary>
/// Whose jobs a listing, a spend total or a prune takes: jobs submitted from one of <see cref="Machines"/> and by one of
/// <see cref="Users"/> (<see cref="FalJob.Machine"/>, <see cref="FalJob.User"/>). Each is a list of wildcard patterns, as
/// <c>Get-Process -Name</c> takes them: <c>*</c> any run of characters, <c>?</c> one character, <c>[abc]</c> and
/// <c>[a-c]</c> one of a set, a backtick before a character to take it literally; matched case-insensitively against the
/// whole name. A job recorded without a machine or user (older records) has an empty one: only <c>*</c> matches it.
/// </summary>
/// <param name="Machines">Machine name patterns (any matches), or null for any machine.</param>
/// <param name="Users">User name patterns (any matches), or null for any user.</param>
public sealed record JobOwnerFilter(IReadOnlyCollection<string>? Machines, IReadOnlyCollection<string>? Users)
{
    private static readonly ConcurrentDictionary<string, Regex> s_patterns = new(StringComparer.Ordinal);

    /// <summary>A filter of the patterns given (a cmdlet's <c>-Machine</c> and <c>-User</c>), or null when neither is.</summary>
    /// <param name="machines">Machine name patterns, or null.</param>
    /// <param name="users">User name patterns, or null.</param>
    public static JobOwnerFilter? Of(string[]? machines, string[]? users) =>
        machines is null && users is null ? null : new JobOwnerFilter(machines, users);

    /// <summary>True when neither list is given: every job matches.</summary>
    public bool IsEmpty => Machines is null && Users is null;

    /// <summary>Whether a job submitted from <paramref name="machine"/> by <paramref name="user"/> matches (null reads as empty).</summary>
    /// <param name="machine">The job's <see cref="FalJob.Machine"/>.</param>
    /// <param name="user">The job's <see cref="FalJob.User"/>.</param>
    public bool Matches(string? machine, string? user) =>
        (Machines is null || Machines.Any(p => IsMatch(p, machine))) && (Users is null || Users.Any(p => IsMatch(p, user)));

    /// <summary>Whether <paramref name="job"/> matches.</summary>
    /// <param name="job">The job.</param>
    public bool Matches(FalJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Matches(job.Machine, job.User);
    }

    /// <summary>Whether <paramref name="value"/> (null reads as empty) matches the wildcard <paramref name="pattern"/>,
    /// case-insensitively and in full.</summary>
    /// <param name="pattern">A wildcard pattern (see <see cref="JobOwnerFilter"/>).</param>
    /// <param name="value">A machine or user name.</param>
    public static bool IsMatch(string pattern, string? value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var regex = s_patterns.GetOrAdd(pattern, p => new Regex(ToRegex(p), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
        return regex.IsMatch(value ?? "");
    }

    /// <summary>
    /// The wildcard <paramref name="pattern"/> as an anchored regular expression that .NET and PostgreSQL (its advanced
    /// regular expressions, <c>~*</c>) read alike: letters, digits and <c>_</c> as they are, every other character escaped
    /// with a backslash (a literal in both dialects), <c>*</c> as <c>.*</c>, <c>?</c> as <c>.</c>, a set as a bracket
    /// expression. A <c>[</c> without its <c>]</c> is taken literally.
    /// </summary>
    /// <param name="pattern">A wildcard pattern.</param>
    public static string ToRegex(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length) Literal(regex, pattern[++i]);
            else if (c == '*') regex.Append(".*");
            else if (c == '?') regex.Append('.');
            else if (c == '[' && Set(pattern, i) is { } end)
            {
                regex.Append('[');
                for (var j = i + 1; j < end; j++)
                {
                    var s = pattern[j];
                    if (s == '`' && j + 1 < end) s = pattern[++j];
                    // A dash between two members is a range, as in the wildcard; anywhere else it is a member.
                    else if (s == '-' && j > i + 1 && j + 1 < end)
                    {
                        regex.Append('-');
                        continue;
                    }
                    Literal(regex, s);
                }
                regex.Append(']');
                i = end;
            }
            else Literal(regex, c);
        }
        return regex.Append('$').ToString();
    }

    /// <summary>The index of the <c>]</c> that closes the set opened at <paramref name="open"/>, or null.</summary>
    private static int? Set(string pattern, int open)
    {
        for (var j = open + 1; j < pattern.Length; j++)
        {
            if (pattern[j] == '`') j++;
            else if (pattern[j] == ']') return j > open + 1 ? j : null;
        }
        return null;
    }

    private static void Literal(StringBuilder regex, char c)
    {
        if (!(char.IsLetterOrDigit(c) || c == '_')) regex.Append('\\');
        regex.Append(c);
    }

    /// <summary>The filter in words, for -Verbose, -WhatIf and -Confirm: <c>from machine build-01 or build-02 by user alice</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (Machines is not null) parts.Add("from machine " + string.Join(" or ", Machines));
        if (Users is not null) parts.Add("by user " + string.Join(" or ", Users));
        return string.Join(" ", parts);
    }
}
