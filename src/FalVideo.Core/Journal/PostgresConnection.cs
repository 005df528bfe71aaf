using System.Data.Common;
using System.Text.RegularExpressions;

namespace FalVideo.Journal;

/// <summary>
/// The PostgreSQL job store's connection string, recognised, normalised and shown without its password. Two forms are
/// accepted: Npgsql's keywords (<c>Host=db.example.com;Username=falvideo;Password=...;Database=falvideo</c>, see
/// https://www.npgsql.org/doc/connection-string-parameters.html) and libpq's URI
/// (<c>postgres://falvideo:...@db.example.com:5432/falvideo?sslmode=verify-full</c>, see
/// https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS).
/// </summary>
public static class PostgresConnection
{
    private static readonly Regex s_keywordForm = new(@"(^|;)\s*(host|server)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>True when <paramref name="value"/> names a PostgreSQL store rather than a file: a
    /// <c>postgres://</c>/<c>postgresql://</c> URI, or keywords with <c>Host=</c> (or <c>Server=</c>).</summary>
    /// <param name="value">A job store setting.</param>
    public static bool IsConnectionString(string? value) =>
        !string.IsNullOrWhiteSpace(value)
        && (value!.TrimStart().StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || value.TrimStart().StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || s_keywordForm.IsMatch(value));

    /// <summary>
    /// The connection string as keywords, with TLS required for a remote host: <c>SSL Mode=Require</c> is added unless
    /// the string names an SSL mode itself (<c>SSL Mode</c>/<c>SslMode</c>, or <c>sslmode</c> in a URI) or every host
    /// is loopback (<c>localhost</c>, <c>127.0.0.0/8</c>, <c>::1</c>) or a Unix socket folder (a path). Npgsql's
    /// <c>Require</c> encrypts without checking the server's certificate (as libpq's does); <c>VerifyFull</c> checks it.
    /// </summary>
    /// <param name="connectionString">Keywords or a URI (see the type's summary).</param>
    /// <exception cref="ArgumentException">The string can't be read (the message never holds the password).</exception>
    public static string Normalize(string connectionString)
    {
        var builder = Parse(connectionString);
        if (!HasKey(builder, "SSL Mode", "SslMode", "sslmode") && !IsLoopback(Get(builder, "Host", "Server") ?? ""))
            builder["SSL Mode"] = "Require";
        return builder.ConnectionString;
    }

    /// <summary>What messages, -Verbose and <c>Get-FalConfiguration</c> show for the store: <c>postgresql://user@host:port/database</c>,
    /// never the password.</summary>
    /// <param name="connectionString">Keywords or a URI.</param>
    public static string Describe(string connectionString)
    {
        DbConnectionStringBuilder builder;
        try { builder = Parse(connectionString); }
        catch (ArgumentException) { return "postgresql://(unreadable connection string)"; }
        var user = Get(builder, "Username", "User Name", "User ID", "UserID", "User", "UID");
        var port = Get(builder, "Port");
        var database = Get(builder, "Database", "DB");
        return "postgresql://" + (string.IsNullOrEmpty(user) ? "" : user + "@") + Get(builder, "Host", "Server")
               + (string.IsNullOrEmpty(port) ? "" : ":" + port) + "/" + database;
    }

    /// <summary>The password of a connection string, or null (for masking what a server or driver says).</summary>
    /// <param name="connectionString">Keywords or a URI.</param>
    public static string? PasswordOf(string connectionString)
    {
        try { return Get(Parse(connectionString), "Password", "PWD", "PSW"); }
        catch (ArgumentException) { return null; }
    }

    /// <summary>The connection string as keywords without its password (what <c>Set-FalConfiguration -Save</c> keeps;
    /// Npgsql then takes the password from PGPASSWORD or a .pgpass file).</summary>
    /// <param name="connectionString">Keywords or a URI.</param>
    /// <exception cref="ArgumentException">The string can't be read.</exception>
    public static string WithoutPassword(string connectionString)
    {
        var builder = Parse(connectionString);
        foreach (var key in new[] { "Password", "PWD", "PSW" }) builder.Remove(key);
        return builder.ConnectionString;
    }

    /// <summary><paramref name="text"/> with <paramref name="connectionString"/>'s password, and any
    /// <c>Password=...</c> keyword, replaced by <c>***</c>.</summary>
    /// <param name="text">A message.</param>
    /// <param name="connectionString">The store's connection string.</param>
    public static string Mask(string text, string? connectionString)
    {
        if (string.IsNullOrEmpty(text)) return text;
        if (connectionString is not null && PasswordOf(connectionString) is { Length: > 0 } password)
            text = text.Replace(password, "***");
        return Regex.Replace(text, @"(?i)\b(password|pwd|psw)\s*=\s*[^;]*", "$1=***");
    }

    /// <summary>True when every host of a comma-separated list is loopback or a Unix socket folder.</summary>
    /// <param name="hosts">Npgsql's <c>Host</c> value.</param>
    public static bool IsLoopback(string hosts)
    {
        var names = hosts.Split([','], StringSplitOptions.RemoveEmptyEntries).Select(h => h.Trim()).ToList();
        return names.Count > 0 && names.All(h =>
        {
            var name = h.StartsWith("[", StringComparison.Ordinal) && h.IndexOf(']') is var end and > 0 ? h.Substring(1, end - 1) : h;
            // host:port in a multi-host list
            if (!name.Contains("::") && name.Count(c => c == ':') == 1) name = name.Substring(0, name.IndexOf(':'));
            if (name.StartsWith("/", StringComparison.Ordinal)) return true;
            if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
            return System.Net.IPAddress.TryParse(name, out var ip) && System.Net.IPAddress.IsLoopback(ip);
        });
    }

    private static DbConnectionStringBuilder Parse(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("The PostgreSQL connection string is empty.");
        var text = connectionString.Trim();
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return FromUri(text);
        var builder = new DbConnectionStringBuilder();
        try { builder.ConnectionString = text; }
        catch (ArgumentException)
        {
            // The framework's message quotes the string, password and all.
            throw new ArgumentException("The PostgreSQL connection string could not be read: write it as keywords (Host=...;Username=...;Password=...;Database=...) " +
                                        "or as a URI (postgres://user:password@host:5432/database).");
        }
        if (string.IsNullOrWhiteSpace(Get(builder, "Host", "Server")))
            throw new ArgumentException("The PostgreSQL connection string names no Host.");
        return builder;
    }

    private static DbConnectionStringBuilder FromUri(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException("The PostgreSQL URI could not be read: write it as postgres://user:password@host:5432/database.");
        var builder = new DbConnectionStringBuilder { ["Host"] = uri.Host.Trim('[', ']') };
        if (!uri.IsDefaultPort && uri.Port > 0) builder["Port"] = uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (uri.UserInfo is { Length: > 0 } info)
        {
            var colon = info.IndexOf(':');
            builder["Username"] = Uri.UnescapeDataString(colon < 0 ? info : info.Substring(0, colon));
            if (colon >= 0) builder["Password"] = Uri.UnescapeDataString(info.Substring(colon + 1));
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder["Database"] = database;
        foreach (var pair in uri.Query.TrimStart('?').Split(['&'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair.Substring(0, eq)).ToLowerInvariant();
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair.Substring(eq + 1));
            switch (name)
            {
                case "sslmode":
                    builder["SSL Mode"] = value.ToLowerInvariant() switch
                    {
                        "disable" => "Disable", "allow" => "Allow", "prefer" => "Prefer", "require" => "Require",
                        "verify-ca" => "VerifyCA", "verify-full" => "VerifyFull",
                        _ => throw new ArgumentException($"The PostgreSQL URI's sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full."),
                    };
                    break;
                case "connect_timeout": builder["Timeout"] = value; break;
                case "application_name": builder["Application Name"] = value; break;
                default: throw new ArgumentException($"The PostgreSQL URI's parameter '{name}' is not supported here (sslmode, connect_timeout, application_name are); use the keyword form for others.");
            }
        }
        return builder;
    }

    private static bool HasKey(DbConnectionStringBuilder builder, params string[] names) => names.Any(builder.ContainsKey);

    private static string? Get(DbConnectionStringBuilder builder, params string[] names)
    {
        foreach (var name in names)
        {
            if (builder.TryGetValue(name, out var value)) return Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }
}
