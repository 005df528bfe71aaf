using System.Runtime.InteropServices;

namespace FalVideo.Journal;

/// <summary>
/// Folders and files only their owner can read (0700 and 0600 on Unix): the job store holds prompts, inputs and result
/// URLs. On Windows they inherit the ACL of their parent folder, the user's own local application data by default.
/// </summary>
internal static class OwnerOnly
{
    /// <summary>Creates <paramref name="path"/> (and missing parents) when it does not exist; what it creates is 0700 on
    /// Unix. An existing folder is left as it is: it may be shared on purpose.</summary>
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
#else
        Directory.CreateDirectory(path);
        ChangeMode(path, Convert.ToInt32("700", 8));
#endif
    }

    /// <summary>Creates <paramref name="path"/> empty, 0600 on Unix; does nothing when it exists already.</summary>
    public static void CreateFile(string path)
    {
        try
        {
#if NET8_0_OR_GREATER
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (new FileStream(path, options)) { }
#else
            using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1)) { }
            ChangeMode(path, Convert.ToInt32("600", 8));
#endif
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: it made it owner-only too.
        }
    }

#if !NET8_0_OR_GREATER
    /// <summary>chmod on Unix (Mono), nothing on Windows. The file exists with the umask's mode for the moment between.</summary>
    private static void ChangeMode(string path, int mode)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return;
        if (chmod(path, mode) != 0)
            throw new IOException($"Could not make {path} owner-only (errno {Marshal.GetLastWin32Error()}).");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int chmod(string path, int mode);
#endif
}
