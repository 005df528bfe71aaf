namespace FalVideo.Journal;

/// <summary>Picks the job store for a path: SQLite by default, the JSON Lines journal for a path ending in <c>.jsonl</c>.</summary>
public static class JobStore
{
    /// <summary>File name of the default store, in the folder the journal's default file was in.</summary>
    public const string DefaultFileName = "jobs.db";

    /// <summary>File name the journal had by default; imported once into a new default store.</summary>
    public const string DefaultJournalFileName = "journal.jsonl";

    /// <summary>The module's folder under the user's local application data (on Linux <c>~/.local/share/FalVideo</c>).</summary>
    public static string DefaultFolder() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "FalVideo");

    /// <summary>
    /// The store at <paramref name="path"/>: a <see cref="JobJournal"/> when it ends in <c>.jsonl</c>, else a
    /// <see cref="SqliteJobStore"/>. Without a path, the default store <c>&lt;local app data&gt;/FalVideo/jobs.db</c>,
    /// which imports <c>journal.jsonl</c> from the same folder on first use when that journal exists.
    /// </summary>
    /// <param name="path">The store's file (from a setting or <see cref="JobJournal.PathVariable"/>), or null for the default.</param>
    public static IJobStore Open(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            var folder = DefaultFolder();
            return new SqliteJobStore(Path.Combine(folder, DefaultFileName), Path.Combine(folder, DefaultJournalFileName));
        }
        return path!.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? new JobJournal(path) : new SqliteJobStore(path);
    }
}
