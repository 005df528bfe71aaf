using System.Runtime.InteropServices;

namespace FalVideo.Journal;

/// <summary>
/// Makes SQLite usable once per process: the e_sqlite3 provider is set (the module ships no SQLitePCLRaw bundle, whose
/// net472 form does not restore), and on .NET Framework the native library is loaded first by its full path.
/// </summary>
/// <remarks>
/// The native library ships inside the module folder, in <c>&lt;build&gt;/dependencies/runtimes/&lt;rid&gt;/native/</c>,
/// which no runtime probes. On .NET the module's load context answers for it (FalVideo.Init's DependencyLoader); .NET
/// Framework and Mono have no such hook, so the file is loaded here before the provider's first call, and the
/// provider's <c>DllImport("e_sqlite3")</c> then binds to the library already in the process. The same search finds
/// the library in a test's output folder (<c>runtimes/&lt;rid&gt;/native/</c> or beside the assembly).
/// </remarks>
internal static class SqliteNative
{
    private static readonly object s_sync = new();
    private static bool s_ready;

    /// <summary>Sets the provider (and on .NET Framework loads the native library) the first time only.</summary>
    public static void EnsureInitialized()
    {
        if (s_ready) return;
        lock (s_sync)
        {
            if (s_ready) return;
#if !NET8_0_OR_GREATER
            Preload();
#endif
            SetProvider();
            s_ready = true;
        }
    }

    // A method of its own, so SQLitePCLRaw's assemblies load only after the native library is in the process.
    private static void SetProvider() => SQLitePCL.raw.SetProvider(new SQLitePCL.SQLite3Provider_e_sqlite3());

    /// <summary>The runtime identifier of the natives shipped for this process (<c>linux-x64</c>, <c>win-arm64</c>...),
    /// or null on a platform the module ships none for.</summary>
    public static string? RuntimeId()
    {
        string? os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx"
            : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "linux" : null;
        string? arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        return os is null || arch is null ? null : os + "-" + arch;
    }

    /// <summary>The file name of the native library on this platform.</summary>
    public static string FileName() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "e_sqlite3.dll"
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libe_sqlite3.dylib"
        : "libe_sqlite3.so";

    /// <summary>Where the native library may be, nearest first, for an assembly in <paramref name="folder"/>: the module's
    /// <c>dependencies/runtimes/&lt;rid&gt;/native</c>, then the same under the folder itself, then the folder.</summary>
    public static IEnumerable<string> Candidates(string folder)
    {
        var file = FileName();
        if (RuntimeId() is { } rid)
        {
            yield return Path.Combine(folder, "dependencies", "runtimes", rid, "native", file);
            yield return Path.Combine(folder, "runtimes", rid, "native", file);
        }
        yield return Path.Combine(folder, file);
    }

#if !NET8_0_OR_GREATER
    private static void Preload()
    {
        var folder = Path.GetDirectoryName(typeof(SqliteNative).Assembly.Location);
        if (string.IsNullOrEmpty(folder)) return;
        var path = Candidates(folder!).FirstOrDefault(File.Exists);
        // None shipped for this platform: leave it to the runtime's own search (a system e_sqlite3, a Mono dllmap).
        if (path is null) return;
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            if (LoadLibraryW(path) == IntPtr.Zero)
                throw new DllNotFoundException($"Could not load {path} (Windows error {Marshal.GetLastWin32Error()}).");
            return;
        }
        IntPtr handle;
        try { handle = DlopenLinux(path, RtldNow | RtldGlobal); }
        catch (DllNotFoundException) { handle = DlopenOther(path, RtldNow | (RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? 8 : RtldGlobal)); }
        if (handle == IntPtr.Zero) throw new DllNotFoundException($"Could not load {path}.");
    }

    private const int RtldNow = 2;
    private const int RtldGlobal = 0x100;

    [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern IntPtr LoadLibraryW(string path);

    [DllImport("libdl.so.2", EntryPoint = "dlopen")]
    private static extern IntPtr DlopenLinux(string path, int flags);

    [DllImport("libdl", EntryPoint = "dlopen")]
    private static extern IntPtr DlopenOther(string path, int flags);
#endif
}
