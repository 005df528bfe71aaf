using FalVideo.Tests.Module;

namespace FalVideo.Tests.Help;

/// <summary>
/// Compares what <c>Get-Help -Full</c> says about a command with what <c>Get-Command</c> knows of it, and lists every
/// gap: no synopsis (or only the syntax PowerShell makes up when there is no help), no description, fewer than two
/// examples or none starting from Import-Csv, a parameter without help or whose help disagrees with the metadata
/// (type, required, pipeline input, aliases), no outputs, no related links.
/// </summary>
public static class HelpChecker
{
    private const string Script = """
        param($Name)
        $problems = [System.Collections.Generic.List[string]]::new()
        $cmd = Get-Command $Name -ErrorAction Stop
        $help = Get-Help $Name -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters
        function Text($x) { ((@($x) | Where-Object { $_ } | ForEach-Object { if ($_.Text) { $_.Text } else { "$_" } }) -join "`n").Trim() }

        $synopsis = "$($help.Synopsis)".Trim()
        if (-not $synopsis) { $problems.Add("${Name}: no synopsis") }
        elseif ($synopsis -match "^$([regex]::Escape($Name))(\s|$)" -or $synopsis.Contains('[<CommonParameters>]')) {
            $problems.Add("${Name}: the synopsis is only the syntax (no help was found)")
        }
        if (-not (Text $help.description)) { $problems.Add("${Name}: no description") }

        $examples = @($help.examples.example | Where-Object { $_ })
        if ($examples.Count -lt 2) { $problems.Add("${Name}: $($examples.Count) example(s), at least 2 expected") }
        if (-not ($examples | Where-Object { "$($_.code)" -match 'Import-Csv' })) { $problems.Add("${Name}: no example with Import-Csv") }
        foreach ($e in $examples) { if (-not "$($e.code)".Trim()) { $problems.Add("${Name}: example '$($e.title)' has no code") } }

        $documented = @{}
        foreach ($p in @($help.parameters.parameter | Where-Object { $_ })) { $documented["$($p.name)"] = $p }
        foreach ($p in $cmd.Parameters.Values) {
            if ($common -contains $p.Name) { continue }
            $h = $documented[$p.Name]
            if (-not $h) { $problems.Add("${Name}: parameter -$($p.Name) has no help"); continue }
            if (-not (Text $h.description)) { $problems.Add("${Name}: parameter -$($p.Name) has no description") }
            $type = [Nullable]::GetUnderlyingType($p.ParameterType) ?? $p.ParameterType
            if ("$($h.type.name)" -ne $type.FullName) { $problems.Add("${Name}: -$($p.Name) is documented as '$($h.type.name)', is $($type.FullName)") }
            $sets = @($p.ParameterSets.Values)
            $required = @($sets | Where-Object IsMandatory).Count -eq $sets.Count
            if ("$($h.required)" -ne "$required".ToLowerInvariant()) { $problems.Add("${Name}: -$($p.Name) documented required=$($h.required), is $required") }
            $byValue = [bool]($sets | Where-Object ValueFromPipeline)
            $byName = [bool]($sets | Where-Object ValueFromPipelineByPropertyName)
            $pipe = "$($h.pipelineInput)"
            if ($byValue -ne $pipe.Contains('ByValue') -or $byName -ne $pipe.Contains('ByPropertyName')) {
                $problems.Add("${Name}: -$($p.Name) documented pipeline input '$pipe', is ByValue=$byValue ByPropertyName=$byName")
            }
            $aliases = @("$($h.aliases)" -split ',\s*' | Where-Object { $_ -and $_ -ne 'none' } | Sort-Object)
            if (($aliases -join ',') -ne (@($p.Aliases | Sort-Object) -join ',')) {
                $problems.Add("${Name}: -$($p.Name) documented aliases '$($aliases -join ', ')', has '$(@($p.Aliases) -join ', ')'")
            }
        }
        foreach ($n in $documented.Keys) { if (-not $cmd.Parameters.ContainsKey($n)) { $problems.Add("${Name}: help documents -$n, which the command does not have") } }

        $syntax = @($help.syntax.syntaxItem | Where-Object { $_ })
        if ($syntax.Count -ne $cmd.ParameterSets.Count) { $problems.Add("${Name}: $($syntax.Count) syntax item(s) for $($cmd.ParameterSets.Count) parameter set(s)") }

        $outputs = @($help.returnValues.returnValue | Where-Object { $_ })
        $outputNames = @($outputs | ForEach-Object { "$($_.type.name)" })
        if ($outputs.Count -eq 0) { $problems.Add("${Name}: no outputs") }
        foreach ($t in $cmd.OutputType) { if ($outputNames -notcontains $t.Name) { $problems.Add("${Name}: output type $($t.Name) is not in the help") } }
        foreach ($o in $outputs) { if (-not (Text $o.description)) { $problems.Add("${Name}: output $($o.type.name) has no description") } }

        if (@($help.relatedLinks.navigationLink | Where-Object { "$($_.linkText)".Trim() }).Count -eq 0) { $problems.Add("${Name}: no related links") }
        $problems
        """;

    /// <summary>The problems with <paramref name="command"/>'s help in <paramref name="ps"/>; empty when it is complete.</summary>
    public static List<string> Problems(PowerShellHost ps, string command)
    {
        var r = ps.Run($"& {{ {Script} }} $args[0]", command);
        r.ThrowIfErrors();
        return r.Output.Select(o => o.ToString()).ToList();
    }

    /// <summary>The same, in a bare runspace (for a module copy other than the built one).</summary>
    public static List<string> Problems(System.Management.Automation.Runspaces.Runspace runspace, string command)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"& {{ {Script} }} $args[0]").AddArgument(command);
        var output = ps.Invoke();
        if (ps.Streams.Error.Count > 0) throw new Xunit.Sdk.XunitException(string.Join(" | ", ps.Streams.Error));
        return output.Select(o => o.ToString()).ToList();
    }
}
