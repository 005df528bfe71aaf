# Get-Help for every exported cmdlet (synopsis, description, the examples of docs/help/<cmdlet>.md) and tab completion
# (TabExpansion2) for the parameters that have completers.

BeforeDiscovery {
    $cmdlets = (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../FalVideo.psd1')).CmdletsToExport | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

AfterAll { Complete-FalTest }

Describe 'Get-Help <Name>' -ForEach $cmdlets {
    It 'has a synopsis, a description and the examples of docs/help/<Name>.md' {
        $help = Get-Help $Name -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$Name *"          # a real synopsis, not the generated syntax line
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        $markdown = Get-Content (Join-Path $script:RepoRoot "docs/help/$Name.md") -Raw
        $expected = [regex]::Matches($markdown, '(?m)^### (Example \d+: .+)$') | ForEach-Object { $_.Groups[1].Value.Trim() }
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterOrEqual 2
        $examples.Count | Should -Be $expected.Count
        ($examples.Title -replace '^-+\s*|\s*-+$', '') | Should -Be $expected
        ($examples.Code -join "`n") | Should -Match 'Import-Csv|Get-FalJob'
        foreach ($p in (Get-Command $Name).Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_.Name -notin 'WhatIf', 'Confirm' }) {
            ($help.Parameters.Parameter | Where-Object Name -eq $p.Name).Description | Should -Not -BeNullOrEmpty -Because "-$($p.Name) needs a description"
        }
    }
}

Describe 'Tab completion' {
    It 'New-KlingVideo -Model offers the active Kling models and their endpoint ids, no Sora or Hailuo' {
        $names = (Get-Completion 'New-KlingVideo -Model ').ListItemText
        $names | Should -Contain 'kling-v3-pro'
        $names | Should -Contain 'fal-ai/kling-video/v3/pro/text-to-video'
        $names | Where-Object { $_ -like 'hailuo*' -or $_ -like 'sora*' } | Should -BeNullOrEmpty
        (Get-Completion 'New-KlingVideo -Model kling-v3-s').CompletionText | Should -Contain 'kling-v3-standard'
    }

    It 'New-HailuoVideo -Duration offers the durations of the model given with -Model' {
        (Get-Completion 'New-HailuoVideo -Model hailuo-2.3-standard -Duration ').CompletionText | Should -Be @('6', '10')
    }

    It 'New-KlingVideo -Duration and -AspectRatio follow the default Kling model' {
        (Get-Completion 'New-KlingVideo -Duration ').CompletionText | Should -Be ((Get-FalModel kling-v3-pro).Durations | ForEach-Object { "$_" })
        (Get-Completion 'New-KlingVideo -AspectRatio ').ListItemText | Should -Be (Get-FalModel kling-v3-pro).AspectRatios
    }

    It 'New-KlingMotionVideo -CharacterOrientation offers image and video' {
        (Get-Completion 'New-KlingMotionVideo -CharacterOrientation ').CompletionText | Should -Be @('image', 'video')
    }

    It 'New-FalVideo -Require and Get-FalModel -Feature offer the routing requirements' {
        $require = (Get-Completion 'New-FalVideo -Require ').CompletionText
        $require | Should -Contain 'audio'
        $require | Should -Contain '1080p'
        (Get-Completion 'Get-FalModel -Feature mul').CompletionText | Should -Contain 'multi-shot'
    }

    It 'Get-FalModel -Family and -Name, and Measure-VideoCost -Model, complete from the catalog' {
        (Get-Completion 'Get-FalModel -Family ').CompletionText | Should -Be @('Kling', 'Hailuo', 'Sora')
        (Get-Completion 'Get-FalModel -Name sora').CompletionText | Should -Contain 'sora-2-pro'
        (Get-Completion 'Measure-VideoCost -Model hailuo-2.3-f').CompletionText | Should -Be @('hailuo-2.3-fast-pro', 'hailuo-2.3-fast-standard')
    }

    It 'New-KlingVideo -ShotType offers customize and intelligent' {
        (Get-Completion 'New-KlingVideo -ShotType ').CompletionText | Should -Be @('customize', 'intelligent')
    }

    It '-RequestId of Get-FalJob, Wait-FalJob, Stop-FalJob and Save-FalVideo completes from the journal, newest first' {
        $null = Use-NewJournal 'completion.jsonl'
        $older = New-KlingVideo -Prompt 'The older one' -Duration 3
        $newer = New-HailuoVideo -Prompt 'The newer one'
        foreach ($command in 'Get-FalJob', 'Wait-FalJob', 'Stop-FalJob', 'Save-FalVideo') {
            $found = Get-Completion "$command -RequestId "
            $found.CompletionText | Should -Be @($newer.RequestId, $older.RequestId) -Because $command
            $found[0].ToolTip | Should -Match 'hailuo-2.3-pro'
            $found[0].ToolTip | Should -Match 'The newer one'
        }
        (Get-Completion "Get-FalJob -EndpointId $($older.EndpointId) -RequestId ").CompletionText | Should -Be @($older.RequestId)
    }
}
