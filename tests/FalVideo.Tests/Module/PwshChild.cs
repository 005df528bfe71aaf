using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using FalVideo.Tools;

namespace FalVideo.Tests.Module;

/// <summary>
/// A script run by real pwsh in a child process (<c>pwsh -NoProfile -NonInteractive -File</c>, started by
/// <see cref="Pwsh"/> as the benchmark starts its own), for tests that need a process of their own: one to kill,
/// several writing at once, or one without this process's assemblies loaded. The script imports the built module
/// itself (<see cref="ImportModule"/>). Its stdout and stderr are collected as they come, so a full pipe never blocks
/// it and a failing test can show them.
/// </summary>
public sealed class PwshChild : IDisposable
{
    private readonly StringBuilder _output = new();

    /// <param name="script">The .ps1 file to run.</param>
    /// <param name="environment">Added to the inherited environment (a null value removes the variable), e.g.
    /// FALVIDEO_BASE_URL, FAL_KEY, FALVIDEO_JOURNAL.</param>
    /// <param name="args">The script's arguments.</param>
    public PwshChild(string script, IEnumerable<KeyValuePair<string, string?>>? environment = null, params string[] args)
        : this(Pwsh.StartInfo(RepoPaths.Root, script, args, environment))
    {
    }

    private PwshChild(ProcessStartInfo start)
    {
        Process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>
    /// Like the constructor, with SIGINT handled by pwsh whatever this process inherited: a process started in the
    /// background by a non-interactive shell (as CI runners and job wrappers do) ignores SIGINT, its children inherit
    /// that, and pwsh would never see <see cref="Interrupt"/>. GNU env resets it and execs pwsh in the same process.
    /// </summary>
    public static PwshChild Interruptible(string script, IEnumerable<KeyValuePair<string, string?>>? environment = null, params string[] args)
    {
        var pwsh = Pwsh.StartInfo(RepoPaths.Root, script, args, environment);
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--default-signal=INT", pwsh.FileName, .. pwsh.ArgumentList]) start.ArgumentList.Add(a);
        foreach (var (name, value) in pwsh.Environment) start.Environment[name] = value;
        return new PwshChild(start);
    }

    /// <summary>SIGINT, what Ctrl+C sends in a terminal (Unix only).</summary>
    public void Interrupt()
    {
        if (Kill(Process.Id, 2) != 0) throw new InvalidOperationException($"kill(SIGINT) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The first line of every child script: imports the built module by its manifest path.</summary>
    public static string ImportModule => $"Import-Module '{RepoPaths.ModuleManifest}' -ErrorAction Stop";

    /// <summary>The pwsh process itself (no launcher in between: killing it kills PowerShell).</summary>
    public Process Process { get; }

    /// <summary>Its stdout and stderr so far, interleaved as received.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Waits for the exit (and the end of its output); the exit code.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await Process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"pwsh did not exit within {timeout.TotalSeconds:0} s. Its output:\n{Output}");
        }
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: the process ends at once, with no chance to clean up.</summary>
    public async Task KillAsync()
    {
        Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
