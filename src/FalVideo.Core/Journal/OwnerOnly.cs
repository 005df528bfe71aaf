using System.Runtime.InteropServices;
using System.Security.AccessControl;
using System.Security.Principal;
#if NET8_0_OR_GREATER
using System.Runtime.Versioning;
#endif

namespace FalVideo.Journal;

/// <summary>
/// Folders and files only their owner can read: the job store holds prompts, inputs and result URLs. On Unix, 0700 and
/// 0600. On Windows, an explicit access list that no longer inherits from the parent folder: full control for the
/// current user and for SYSTEM, nobody else (<see cref="WindowsSddl"/>). SYSTEM stays because it is the operating
/// system itself (Volume Shadow Copy and backup, the search indexer, antivirus scans run as SYSTEM), and a process
/// running as SYSTEM can read any file through its privileges anyway: leaving it out would break those services and
/// hide nothing. Administrators are left out, as they are from another user's files: an administrator who must read
/// the store takes ownership first, which the system audits. A folder's entries are inherited by what is created in it
/// later, so the <c>-wal</c> and <c>-shm</c> files SQLite creates itself are owner-only too.
/// </summary>
internal static class OwnerOnly
{
    /// <summary>Well-known SID of the LocalSystem account.</summary>
    internal const string SystemSid = "S-1-5-18";

    /// <summary>Creates <paramref name="path"/> (and missing parents) when it does not exist; what it creates is 0700 on
    /// Unix and user-only on Windows. An existing folder is left as it is: it may be shared on purpose.</summary>
    public static void CreateDirectory(string path)
    {
        if (Directory.Exists(path)) return;
#if NET8_0_OR_GREATER
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return;
        }
        Directory.CreateDirectory(path);
        RestrictOnWindows(path, folder: true);
#else
        Directory.CreateDirectory(path);
        if (IsWindows) RestrictOnWindows(path, folder: true);
        else ChangeMode(path, Convert.ToInt32("700", 8));
#endif
    }

    /// <summary>Creates <paramref name="path"/> empty, 0600 on Unix and user-only on Windows; does nothing when it
    /// exists already.</summary>
    public static void CreateFile(string path)
    {
        try
        {
#if NET8_0_OR_GREATER
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (new FileStream(path, options)) { }
            if (OperatingSystem.IsWindows()) RestrictOnWindows(path, folder: false);
#else
            using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1)) { }
            if (IsWindows) RestrictOnWindows(path, folder: false);
            else ChangeMode(path, Convert.ToInt32("600", 8));
#endif
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: it made it owner-only too.
        }
    }

    /// <summary>Makes an existing file user-only on Windows (the store's <c>-wal</c> and <c>-shm</c>, which SQLite
    /// creates; in a folder this module did not create they would inherit that folder's list). Nothing elsewhere: on
    /// Unix SQLite gives them the database file's mode.</summary>
    public static void RestrictExisting(string path)
    {
        if (!IsWindows || !File.Exists(path)) return;
#if NET8_0_OR_GREATER
        if (OperatingSystem.IsWindows()) RestrictOnWindows(path, folder: false);
#else
        RestrictOnWindows(path, folder: false);
#endif
    }

    /// <summary>
    /// The access list of an owner-only file or folder on Windows in SDDL: protected from inheritance (<c>P</c>), full
    /// access (<c>FA</c>) for <paramref name="userSid"/> and SYSTEM (<c>SY</c>), and for a folder inherited by its
    /// files and subfolders (<c>OICI</c>). Plain data, so it is tested on every platform.
    /// </summary>
    /// <param name="userSid">The current user's SID (S-1-5-21-...).</param>
    /// <param name="folder">True for a folder.</param>
    internal static string WindowsSddl(string userSid, bool folder)
    {
        if (string.IsNullOrEmpty(userSid) || !userSid.StartsWith("S-1-", StringComparison.Ordinal))
            throw new ArgumentException($"Not a SID: '{userSid}'.", nameof(userSid));
        var inherit = folder ? "OICI" : "";
        return $"D:P(A;{inherit};FA;;;{userSid})(A;{inherit};FA;;;SY)";
    }

    private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

#if NET8_0_OR_GREATER
    [SupportedOSPlatform("windows")]
#endif
    private static void RestrictOnWindows(string path, bool folder)
    {
        using var identity = WindowsIdentity.GetCurrent();
        var sddl = WindowsSddl(identity.User!.Value, folder);
        try
        {
#if NET8_0_OR_GREATER
            if (folder)
            {
                var security = new DirectorySecurity();
                security.SetSecurityDescriptorSddlForm(sddl, AccessControlSections.Access);
                new DirectoryInfo(path).SetAccessControl(security);
            }
            else
            {
                var security = new FileSecurity();
                security.SetSecurityDescriptorSddlForm(sddl, AccessControlSections.Access);
                new FileInfo(path).SetAccessControl(security);
            }
#else
            if (folder)
            {
                var security = new DirectorySecurity();
                security.SetSecurityDescriptorSddlForm(sddl, AccessControlSections.Access);
                Directory.SetAccessControl(path, security);
            }
            else
            {
                var security = new FileSecurity();
                security.SetSecurityDescriptorSddlForm(sddl, AccessControlSections.Access);
                File.SetAccessControl(path, security);
            }
#endif
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or PrivilegeNotHeldException or InvalidOperationException)
        {
            // A store that can't be made private is not used: its write-ahead would fail closed on the caller's side.
            throw new IOException($"Could not make {path} owner-only: {ex.Message}", ex);
        }
    }

#if !NET8_0_OR_GREATER
    /// <summary>chmod on Unix (Mono). The file exists with the umask's mode for the moment between.</summary>
    private static void ChangeMode(string path, int mode)
    {
        if (chmod(path, mode) != 0)
            throw new IOException($"Could not make {path} owner-only (errno {Marshal.GetLastWin32Error()}).");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int chmod(string path, int mode);
#endif
}
