using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>How a PostgreSQL job store setting is recognised, normalised (TLS for remote hosts) and shown without its password.</summary>
public sealed class PostgresConnectionTests
{
    [Theory]
    [InlineData("Host=db.example.com;Username=u;Password=p", true)]
    [InlineData("  server = db;Database=x", true)]
    [InlineData("postgres://u:p@db.example.com/x", true)]
    [InlineData("postgresql://db.example.com", true)]
    [InlineData("/home/me/jobs.db", false)]
    [InlineData("C:\\Users\\me\\Host=weird\\jobs.db", false)]
    [InlineData("journal.jsonl", false)]
    public void A_connection_string_is_told_from_a_file_path(string value, bool expected) =>
        Assert.Equal(expected, PostgresConnection.IsConnectionString(value));

    [Fact]
    public void A_remote_host_requires_tls_unless_the_string_says_otherwise()
    {
        Assert.Contains("SSL Mode=Require", PostgresConnection.Normalize("Host=db.example.com;Username=u;Password=p"), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("SSL Mode=Disable", PostgresConnection.Normalize("Host=db.example.com;SSL Mode=Disable"), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Require", PostgresConnection.Normalize("Host=db.example.com;SslMode=VerifyFull"), StringComparison.OrdinalIgnoreCase);
        // A list with one remote host is remote.
        Assert.Contains("SSL Mode=Require", PostgresConnection.Normalize("Host=127.0.0.1,db.example.com"), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=5432")]
    [InlineData("Host=localhost")]
    [InlineData("Host=::1")]
    [InlineData("Host=/var/run/postgresql")]
    [InlineData("postgres://u:p@127.0.0.1:6000/x")]
    public void A_loopback_host_or_socket_is_left_as_given(string value) =>
        Assert.DoesNotContain("SSL Mode", PostgresConnection.Normalize(value), StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void A_uri_becomes_keywords_with_its_escaped_password_and_ssl_mode()
    {
        var normalized = PostgresConnection.Normalize("postgres://team%2Dworker:p%40ss%3Bword@db.example.com:6432/fal_jobs?sslmode=verify-full");
        var builder = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = normalized };
        Assert.Equal("db.example.com", builder["Host"]);
        Assert.Equal("6432", builder["Port"]);
        Assert.Equal("team-worker", builder["Username"]);
        Assert.Equal("p@ss;word", builder["Password"]);
        Assert.Equal("fal_jobs", builder["Database"]);
        Assert.Equal("VerifyFull", builder["SSL Mode"]);
        Assert.Contains("SSL Mode=Require", PostgresConnection.Normalize("postgresql://u:p@db.example.com/x"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_store_is_shown_and_masked_without_its_password()
    {
        const string cs = "Host=db.example.com;Port=6432;Username=worker;Password=s3cr3t-Pa55;Database=jobs";
        Assert.Equal("postgresql://worker@db.example.com:6432/jobs", PostgresConnection.Describe(cs));
        Assert.Equal("postgresql://worker@db.example.com/jobs", PostgresConnection.Describe("postgres://worker:s3cr3t-Pa55@db.example.com/jobs"));
        Assert.Equal("could not reach *** with Password=***", PostgresConnection.Mask("could not reach s3cr3t-Pa55 with Password=other", cs));
    }

    [Theory]
    [InlineData("Host=db;Password='unterminated")]
    [InlineData("postgres://u:p@db/x?sslmode=sometimes")]
    [InlineData("postgres://u:p@db/x?options=-c")]
    [InlineData("Database=x;Password=s3cr3t-Pa55;Host=")]
    public void An_unreadable_string_is_refused_without_echoing_its_password(string value)
    {
        var error = Assert.Throws<ArgumentException>(() => PostgresConnection.Normalize(value));
        Assert.DoesNotContain("s3cr3t", error.Message);
        Assert.DoesNotContain("unterminated", error.Message);
    }
}
