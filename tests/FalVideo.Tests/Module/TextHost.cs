using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace FalVideo.Tests.Module;

/// <summary>
/// A minimal, non-interactive PowerShell host that writes what the engine shows a user (-WhatIf lines,
/// warnings, Write-Host) to a TextWriter. Prompts fail: nothing here can answer them.
/// </summary>
public sealed class TextHost(TextWriter writer) : PSHost
{
    private readonly TextHostUserInterface _ui = new(writer);

    public override string Name => "FalVideo.TextHost";
    public override Version Version { get; } = new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override void EnterNestedPrompt() => throw new NotSupportedException("This host is not interactive.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("This host is not interactive.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }
}

/// <summary>The UI half of <see cref="TextHost"/>.</summary>
public sealed class TextHostUserInterface(TextWriter writer) : PSHostUserInterface
{
    private readonly object _gate = new();

    public override PSHostRawUserInterface? RawUI => null;
    public override void Write(string value) { lock (_gate) writer.Write(value); }
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
    public override void WriteLine(string value) { lock (_gate) writer.WriteLine(value); }
    public override void WriteErrorLine(string value) => WriteLine("ERROR: " + value);
    public override void WriteDebugLine(string message) => WriteLine("DEBUG: " + message);
    public override void WriteVerboseLine(string message) => WriteLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => WriteLine("WARNING: " + message);
    public override void WriteProgress(long sourceId, ProgressRecord record) { }
    public override string ReadLine() => throw NotInteractive();
    public override SecureString ReadLineAsSecureString() => throw NotInteractive();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NotInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NotInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NotInteractive();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NotInteractive();

    private static PSInvalidOperationException NotInteractive() =>
        new("This host is not interactive; pass -Confirm:$false or give every value as a parameter.");
}
