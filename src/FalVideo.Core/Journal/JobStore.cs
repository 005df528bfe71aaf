namespace FalVideo.Journal;

/// <summary>Picks the job store for a setting: SQLite by default, the JSON Lines journal for a path ending in <c>.jsonl</c>,
/// the PostgreSQL store for a connection string (<see cref="PostgresConnection.IsConnectionString"/>).</summary>
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
        if (PostgresConnection.IsConnectionString(path)) return OpenShared(path!);
        return path!.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? new JobJournal(path) : new SqliteJobStore(path);
    }

    /// <summary>The error for a store path that names a folder: nothing can be read from it or written to it.</summary>
    /// <param name="path">The store's path.</param>
    public static IOException IsAFolder(string path) =>
        new($"The job store {path} is a folder, not a store file: name a file for the store, or move the folder away.");

    /// <summary>What the net472 build (Windows PowerShell 5.1) says of a PostgreSQL store.</summary>
    public const string SharedStoreNotSupported =
        "The PostgreSQL job store needs PowerShell 7.4 or later (the module's net8.0 build, with Npgsql 10); Windows PowerShell 5.1 " +
        "can't use it. Run the batch in pwsh, or give a file path for the embedded store.";

    /// <summary>True when this build of the module can use a PostgreSQL store (the net8.0 build).</summary>
#if NET8_0_OR_GREATER
    public const bool SupportsSharedStore = true;
#else
    public const bool SupportsSharedStore = false;
#endif

    /// <summary>The PostgreSQL store <paramref name="connectionString"/> names (<see cref="PostgresConnection"/>).</summary>
    /// <exception cref="ArgumentException">The connection string can't be read (the message never holds the password).</exception>
    /// <exception cref="NotSupportedException">The net472 build: <see cref="SharedStoreNotSupported"/>.</exception>
    public static IJobStore OpenShared(string connectionString)
    {
#if NET8_0_OR_GREATER
        return new PostgresJobStore(connectionString);
#else
        throw new NotSupportedException(SharedStoreNotSupported);
#endif
    }

    /// <summary>
    /// Checks that a store can be used before a batch sends anything: a PostgreSQL store connects and creates or checks
    /// its schema (a bad connection string, an unreachable host and a wrong password each get one clear error here);
    /// the embedded stores are checked by their first write, as before.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <exception cref="IOException">The store can't be used (the message names it, never a password).</exception>
    public static void Verify(IJobStore store)
    {
#if NET8_0_OR_GREATER
        if (store is PostgresJobStore shared) shared.Verify();
#endif
    }
}
