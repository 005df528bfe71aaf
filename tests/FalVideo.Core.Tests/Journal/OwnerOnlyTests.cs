using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using FalVideo.Jobs;
using FalVideo.Journal;

namespace FalVideo.Core.Tests.Journal;

/// <summary>
/// Owner-only store files: the access list Windows gets (checked here as data; tools/Test-Windows.ps1 checks the real
/// files on Windows), and the JSON Lines journal's modes on Unix, as the SQLite store's are checked in SqliteJobStoreTests.
/// </summary>
public sealed class OwnerOnlyTests : IDisposable
{
    private const string User = "S-1-5-21-1004336348-1177238915-682003330-1001";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "falvideo-owner-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static string Sddl(string user, bool folder)
    {
        var method = typeof(JobStore).Assembly.GetType("FalVideo.Journal.OwnerOnly")!.GetMethod("WindowsSddl", BindingFlags.NonPublic | BindingFlags.Static)!;
        try { return (string)method.Invoke(null, [user, folder])!; }
        catch (TargetInvocationException ex) { throw ex.InnerException!; }
    }

    [Theory]
    [InlineData(true, "OICI")]
    [InlineData(false, "")]
    public void On_windows_only_the_user_and_system_get_access_and_nothing_is_inherited_from_the_parent(bool folder, string inheritance)
    {
        var sddl = Sddl(User, folder);
        // D:P = a protected list (the parent's entries are not inherited); then exactly two allow entries, full access.
        Assert.StartsWith("D:P(", sddl);
        var entries = sddl.Substring(3).Trim('(', ')').Split([")("], StringSplitOptions.None);
        Assert.Equal([$"A;{inheritance};FA;;;{User}", $"A;{inheritance};FA;;;SY"], entries);
        Assert.DoesNotContain("BA", sddl); // no Administrators
        Assert.DoesNotContain("WD", sddl); // no Everyone
    }

    [Theory]
    [InlineData("")]
    [InlineData("Everyone")]
    public void A_value_that_is_not_a_sid_is_refused(string user) =>
        Assert.Throws<ArgumentException>(() => Sddl(user, folder: false));

    [Fact]
    public void The_json_lines_journal_its_lock_and_a_folder_it_creates_are_owner_only_on_unix()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return; // The access list is checked by tools/Test-Windows.ps1.
        var folder = Path.Combine(_folder, "new");
        var path = Path.Combine(folder, "journal.jsonl");
        new JobJournal(path).Append("submitted", new FalJob { RequestId = "r-1", EndpointId = "fal-ai/x", Status = FalJobStatus.InQueue });

        Assert.Equal("700", Mode(folder));
        Assert.Equal("600", Mode(path));
        Assert.Equal("600", Mode(path + ".lock"));
    }

    private static string Mode(string path)
    {
        var stat = Process.Start(new ProcessStartInfo("stat", $"-c %a \"{path}\"") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var mode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return mode;
    }
}
