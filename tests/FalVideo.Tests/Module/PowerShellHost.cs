using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace FalVideo.Tests.Module;

/// <summary>
/// A real PowerShell 7.6 engine in this process with the BUILT module imported from artifacts/module,
/// pointed at an emulator by session settings (never by process-wide environment variables, so test
/// classes can run in parallel).
/// </summary>
public sealed class PowerShellHost : IDisposable
{
    private readonly Runspace _runspace;
    private readonly StringWriter _hostText = new();

    /// <summary>Everything the engine wrote to the host (e.g. -WhatIf lines) since the last call; then clears it.</summary>
    public string TakeHostText()
    {
        lock (_hostText)
        {
            var text = _hostText.ToString();
            _hostText.GetStringBuilder().Clear();
            return text;
        }
    }

    public PowerShellHost(Uri? emulator, string apiKey = "test-key-0123456789")
    {
        Assert.True(File.Exists(RepoPaths.ModuleManifest), $"Built module not found at {RepoPaths.ModuleManifest}; run dotnet build first.");
        _runspace = RunspaceFactory.CreateRunspace(new TextHost(_hostText), InitialSessionState.CreateDefault2());
        _runspace.Open();
        var setup = Run("Import-Module $args[0] -ErrorAction Stop", RepoPaths.ModuleManifest);
        setup.ThrowIfErrors();
        JournalPath = Path.Combine(Path.GetTempPath(), $"falvideo-journal-{Guid.NewGuid():N}.jsonl");
        Run("Set-FalConfiguration -JournalPath $args[0]", JournalPath).ThrowIfErrors();
        if (emulator is not null)
            Run("Set-FalConfiguration -BaseUrl $args[0] -ApiKey $args[1] -MaxRetries 2", emulator.ToString(), apiKey).ThrowIfErrors();
    }

    /// <summary>This session's job journal (a temp file, never the user's).</summary>
    public string JournalPath { get; }

    /// <summary>Runs a script; <c>$args</c> holds <paramref name="args"/>. Never throws for non-terminating errors.</summary>
    public PsResult Run(string script, params object?[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        foreach (var a in args) ps.AddArgument(a);
        Collection<PSObject> output;
        Exception? terminating = null;
        try { output = ps.Invoke(); }
        catch (RuntimeException ex) { output = new(); terminating = ex; }
        return new PsResult(output.ToList(), ps.Streams.Error.ToList(), ps.Streams.Warning.Select(w => w.Message).ToList(),
            ps.Streams.Verbose.Select(v => v.Message).ToList(), ps.Streams.Progress.ToList(), ps.Streams.Information.ToList(), terminating);
    }

    public void Dispose()
    {
        _runspace.Dispose();
        try { File.Delete(JournalPath); } catch (IOException) { }
    }
}

public sealed record PsResult(
    List<PSObject> Output, List<ErrorRecord> Errors, List<string> Warnings, List<string> Verbose,
    List<ProgressRecord> Progress, List<InformationRecord> Information, Exception? Terminating)
{
    public void ThrowIfErrors()
    {
        if (Terminating is not null) throw new Xunit.Sdk.XunitException("Terminating error: " + Terminating);
        if (Errors.Count > 0) throw new Xunit.Sdk.XunitException("Errors: " + string.Join(" | ", Errors.Select(Describe)));
    }

    public static string Describe(ErrorRecord e) => $"[{e.FullyQualifiedErrorId}] {e.ErrorDetails?.Message ?? e.Exception.Message}";

    public string ErrorText => string.Join(Environment.NewLine, Errors.Select(Describe));

    public T Prop<T>(int index, string name) => (T)LanguagePrimitives.ConvertTo(Output[index].Properties[name]?.Value, typeof(T));
}
