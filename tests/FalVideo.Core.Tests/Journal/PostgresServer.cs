#if NET8_0_OR_GREATER
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace FalVideo.Tests.Postgres;

/// <summary>
/// A throw-away PostgreSQL cluster for tests: Debian's server binaries (<c>/usr/lib/postgresql/&lt;version&gt;/bin</c>,
/// the newest version found; test.sh installs the <c>postgresql</c> package when none is) run <c>initdb</c> on a
/// temporary folder and <c>pg_ctl</c> starts it on a free loopback port, listening on 127.0.0.1 only, with password
/// (SCRAM) authentication over TCP. PostgreSQL refuses to run as root, so as root the folder belongs to the
/// <c>postgres</c> user the package creates and the binaries run through <c>runuser -u postgres --</c>. Disposing
/// stops the server (immediate mode) and deletes the folder.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    /// <summary>The superuser's name and password.</summary>
    public const string SuperUser = "postgres", SuperPassword = "pg-test-superuser-secret";

    private readonly string _bin;
    private readonly bool _asRoot;
    private int _databases;

    /// <summary>The cluster's folder (data and socket).</summary>
    public string Folder { get; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Creates and starts the cluster.</summary>
    /// <exception cref="InvalidOperationException">No PostgreSQL server binaries, or initdb/pg_ctl failed (their output is in the message).</exception>
    public PostgresServer()
    {
        _bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL's server binaries were not found under /usr/lib/postgresql/<version>/bin: install Debian's postgresql package (test.sh does).");
        _asRoot = Environment.UserName == "root";
        Folder = Path.Combine(Path.GetTempPath(), "falvideo-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        var data = Path.Combine(Folder, "data");
        var pwfile = Path.Combine(Folder, "pw");
        File.WriteAllText(pwfile, SuperPassword + "\n");
        if (_asRoot) Run("chown", "-R", "postgres:postgres", Folder);
        Port = FreePort();
        Pg("initdb", "-D", data, "-U", SuperUser, "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync");
        Start();
    }

    private string Data => Path.Combine(Folder, "data");

    /// <summary>Starts the server (again) and waits until it accepts connections.</summary>
    public void Start() =>
        Pg("pg_ctl", "-D", Data, "-l", Path.Combine(Folder, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {Folder} -c fsync=on", "start");

    /// <summary>Stops the server (fast mode: open connections are cut, as in a failover or a restart).</summary>
    public void Stop() => Pg("pg_ctl", "-D", Data, "-w", "-t", "60", "-m", "fast", "stop");

    /// <summary>Restarts the server: every open connection is cut.</summary>
    public void Restart() => Pg("pg_ctl", "-D", Data, "-w", "-t", "60", "-m", "fast", "restart");

    /// <summary>A connection string for the superuser to <paramref name="database"/>.</summary>
    public string SuperConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Password={SuperPassword};Database={database};Pooling=false";

    /// <summary>
    /// A new database owned by the superuser and a role that can only connect to it and use its <c>public</c> schema
    /// (no superuser, no CREATEDB, no CREATEROLE): what a team's store is given. Returns the role's connection string.
    /// </summary>
    /// <param name="password">The role's password.</param>
    public string NewDatabase(string password = "pg-role-secret")
    {
        var n = Interlocked.Increment(ref _databases);
        var db = $"falvideo_{n}";
        var role = $"falvideo_worker_{n}";
        Execute(SuperConnectionString(), $"CREATE DATABASE {db}");
        Execute(SuperConnectionString(), $"CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE");
        Execute(SuperConnectionString(), $"REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT ON DATABASE {db} TO {role}");
        // PostgreSQL 15 no longer lets every role create in public: the role gets that right on its database only.
        Execute(SuperConnectionString(db), $"REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT USAGE, CREATE ON SCHEMA public TO {role}");
        return $"Host=127.0.0.1;Port={Port};Username={role};Password={password};Database={db}";
    }

    /// <summary>Runs SQL on a connection string (not pooled).</summary>
    public static void Execute(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row of a query (not pooled).</summary>
    public static object? Scalar(string connectionString, string sql)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        using var connection = new NpgsqlConnection(builder.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try { Pg("pg_ctl", "-D", Data, "-w", "-t", "30", "-m", "immediate", "stop"); }
        catch (InvalidOperationException) { /* already stopped */ }
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "pg_ctl")))
                .OrderByDescending(d => d.Version).Select(d => d.Dir).FirstOrDefault()
            : null;

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void Pg(string tool, params string[] args)
    {
        var exe = Path.Combine(_bin, tool);
        if (_asRoot) Run("runuser", ["-u", "postgres", "--", exe, .. args]);
        else Run(exe, args);
    }

    private static void Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} did not finish in 120 s.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {stdout.Result}{stderr.Result}");
    }
}
#endif
