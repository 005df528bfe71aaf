namespace FalVideo.HelpGen;

/// <summary>Everything Get-Help shows for one cmdlet, merged from the DLL, its XML docs and its Markdown.</summary>
public sealed class CmdletHelp
{
    /// <summary>Verb-Noun.</summary>
    public required string Name { get; init; }
    /// <summary>The verb.</summary>
    public required string Verb { get; init; }
    /// <summary>The noun.</summary>
    public required string Noun { get; init; }
    /// <summary>One-line purpose.</summary>
    public List<string> Synopsis { get; init; } = [];
    /// <summary>The long description.</summary>
    public List<string> Description { get; init; } = [];
    /// <summary>One entry per parameter set, the default set first.</summary>
    public List<SyntaxItem> Syntax { get; init; } = [];
    /// <summary>Every parameter, WhatIf and Confirm included when the cmdlet supports ShouldProcess.</summary>
    public List<ParameterHelp> Parameters { get; init; } = [];
    /// <summary>What can be piped in.</summary>
    public List<TypeHelp> Inputs { get; init; } = [];
    /// <summary>What comes out ([OutputType]).</summary>
    public List<TypeHelp> Outputs { get; init; } = [];
    /// <summary>NOTES.</summary>
    public List<string> Notes { get; init; } = [];
    /// <summary>EXAMPLES.</summary>
    public List<HelpExample> Examples { get; init; } = [];
    /// <summary>RELATED LINKS.</summary>
    public List<HelpLink> Links { get; init; } = [];
}

/// <summary>One parameter set as Get-Help's SYNTAX shows it.</summary>
public sealed record SyntaxItem(string SetName, List<ParameterHelp> Parameters);

/// <summary>A type in INPUTS or OUTPUTS, with what it means here.</summary>
public sealed record TypeHelp(string TypeName, List<string> Description);

/// <summary>One parameter (in one parameter set, inside a <see cref="SyntaxItem"/>).</summary>
public sealed record ParameterHelp
{
    /// <summary>Name without the dash.</summary>
    public required string Name { get; init; }
    /// <summary>Type as PowerShell shows it (Nullable unwrapped), e.g. <c>Int32</c>, <c>FalJob[]</c>.</summary>
    public required string TypeName { get; init; }
    /// <summary>Full type name, e.g. <c>System.Int32</c>.</summary>
    public required string TypeFullName { get; init; }
    /// <summary>A switch takes no value.</summary>
    public bool IsSwitch { get; init; }
    /// <summary>Mandatory.</summary>
    public bool Required { get; init; }
    /// <summary>A number, or <c>named</c>.</summary>
    public string Position { get; init; } = "named";
    /// <summary><c>False</c>, <c>True (ByValue)</c>, <c>True (ByPropertyName)</c> or both.</summary>
    public string PipelineInput { get; init; } = "False";
    /// <summary>Aliases, e.g. the API's snake_case names.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>Accepts wildcards ([SupportsWildcards]).</summary>
    public bool Globbing { get; init; }
    /// <summary>Default value text, <c>None</c> when there is none.</summary>
    public string DefaultValue { get; init; } = "None";
    /// <summary>Allowed values (enum names or ValidateSet), shown in SYNTAX as {a | b}.</summary>
    public IReadOnlyList<string> AllowedValues { get; init; } = [];
    /// <summary>Paragraphs.</summary>
    public List<string> Description { get; init; } = [];
}
