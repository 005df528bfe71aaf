# What a user sees: default views at 80 columns (an 80-column terminal, and `pwsh -File` with redirected output),
# costs to two decimals in views with exact properties, -WhatIf's batch line, labels that name the user's row, the
# string form of a job's logs, fal's snake_case aliases kept out of listings, and value completion.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest

    # Every line of a rendering is at most 80 characters wide on screen; returns the lines. ANSI styling (table headers
    # in a terminal that announces colour, TERM=xterm, even with redirected output) takes no columns and is removed.
    function Assert-Fits80([string] $Text) {
        $lines = ($Text -replace "`e\[[0-9;]*m", '') -split "`r?`n"
        $long = @($lines | Where-Object { $_.Length -gt 80 })
        $long | Should -BeNullOrEmpty -Because "no line may exceed 80 columns:`n$($long -join "`n")"
        $lines
    }

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }

    # A second runspace in this process, so its progress records can be read (Streams.Progress).
    function Invoke-WithProgress([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$script:ModuleManifest'; Set-FalConfiguration -BaseUrl '$script:BaseUrl' -ApiKey 'pester-key' -JournalPath '$script:Journal'; `$ProgressPreference = 'Continue'; $Script")
            $output = $ps.Invoke()
            [pscustomobject]@{ Output = $output; Progress = @($ps.Streams.Progress); Errors = @($ps.Streams.Error) }
        }
        finally { $ps.Dispose() }
    }

    Get-SharedCsv seed-prompts.csv | Export-Csv prompts.csv
    Get-SharedCsv seed-shots.csv | Export-Csv shots.csv
}

AfterAll { Complete-FalTest }

Describe 'Default views fit 80 columns with the column that matters visible' {
    It 'Import-Csv | Measure-VideoCost shows every row''s cost and the Total at 80 columns' {
        $estimates = Import-Csv prompts.csv | Measure-VideoCost
        $lines = Assert-Fits80 ($estimates | Out-String -Width 80)
        foreach ($row in $estimates | Where-Object { $_.Kind -eq 'Row' -and $null -ne $_.EstimatedCostUsd -and -not $_.Refused }) {
            $cost = $row.EstimatedCostUsd.ToString('0.00')
            @($lines | Where-Object { $_ -match "^\s*$($row.Row)\s+$([regex]::Escape($row.Id.Substring(0, [Math]::Min(13, $row.Id.Length))))" -and $_ -match "\s$([regex]::Escape($cost))\s" }).Count |
                Should -Be 1 -Because "row $($row.Row) ($($row.Id)) shows its cost $cost"
        }
        $total = $estimates[-1]
        $lines | Where-Object { $_ -match '^Total\s' } | Should -Match ([regex]::Escape($total.EstimatedCostUsd.ToString('0.00')))
    }

    It 'Get-FalJob shows the row Id, model, status, cost and the start of the prompt at 80 columns' {
        $jobs = Import-Csv prompts.csv | Where-Object Model -like 'kling*' | Select-Object -First 2 | New-KlingVideo
        $lines = Assert-Fits80 (Get-FalJob | Where-Object RequestId -in $jobs.RequestId | Out-String -Width 80)
        $lines[1] | Should -Match '^Id\s+Model\s+Status\s+USD\s+Billed\s+Prompt'
        foreach ($job in $jobs) {
            $line = $lines | Where-Object { $_ -like "$($job.Id) *" }
            $line | Should -Match ([regex]::Escape($job.Prompt.Substring(0, 15)))          # the prompt, cut with an ellipsis
            $line | Should -Match "…$"
            $line | Should -Match ([regex]::Escape($job.EstimatedCostUsd.ToString('0.00')))
        }
        # Wider terminals see more of the prompt; the request ids have their own view.
        (Get-FalJob | Where-Object RequestId -eq $jobs[0].RequestId | Out-String -Width 200) | Should -Match ([regex]::Escape($jobs[0].Prompt.Substring(0, 60)))
        (Get-FalJob | Where-Object RequestId -eq $jobs[0].RequestId | Format-Table -View RequestId | Out-String -Width 120) | Should -Match $jobs[0].RequestId
    }

    It 'Get-FalModel shows readable prices at 80 columns' {
        $lines = Assert-Fits80 (Get-FalModel | Out-String -Width 80)
        $lines | Where-Object { $_ -like 'kling-v3-pro *' } | Should -Match '\$0\.112/s\+'
        $lines | Where-Object { $_ -like 'hailuo-2.3-pro *' } | Should -Match '\$0\.49/video'
        $lines | Where-Object { $_ -like 'kling-o3-pro *' } | Should -Match 'unknown'
        ($lines -join "`n") | Should -Not -Match '\$0…'
        (Get-FalModel kling-v3-pro).PriceFrom | Should -Be '$0.112/s+'
    }

    It 'Get-FalJobCost, Compare-FalPrice and Get-FalConfiguration fit 80 columns with their key columns' {
        $jobs = Get-FalJob | Select-Object -First 2
        $costs = $jobs | Get-FalJobCost -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
        $lines = Assert-Fits80 ($costs | Out-String -Width 80)
        $lines[1] | Should -Match '^Id\s+Model\s+Status\s+Units\s+Estimate\s+Billed'
        $lines | Where-Object { $_ -like "$($jobs[0].Id) *" } | Should -Not -BeNullOrEmpty

        $compared = Compare-FalPrice -Model kling-v3-pro -WarningAction SilentlyContinue
        $lines = Assert-Fits80 ($compared | Out-String -Width 80)
        $lines | Where-Object { $_ -match 'kling-video/v3/pro/text-to-video' } | Should -Match '0\.112\s+0\.112'

        $lines = Assert-Fits80 (Get-FalConfiguration | Out-String -Width 80)
        $lines | Where-Object { $_ -match '^QueueUrl\s+:' } | Should -Match ([regex]::Escape($script:BaseUrl))
    }

    It 'under pwsh -File with redirected output (80 columns) the cost table still shows the costs' {
        # The pwsh running this suite: a dotnet tool (dotnet + pwsh.dll) or an installed pwsh.
        $host0 = [Environment]::ProcessPath
        $pwsh = if ([IO.Path]::GetFileNameWithoutExtension($host0) -eq 'dotnet') { @($host0, (Join-Path $PSHOME 'pwsh.dll')) } else { @($host0) }
        $script = Join-Path $script:Work 'views-child.ps1'
        Set-Content $script @"
Import-Module '$script:ModuleManifest'
Import-Csv '$(Join-Path $script:Work 'prompts.csv')' | Measure-VideoCost | Out-Default
Get-FalModel kling-v3-pro, hailuo-2.3-pro | Out-Default
"@
        $lines = (& $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $script) -replace "`e\[[0-9;]*m", ''
        $LASTEXITCODE | Should -Be 0
        $null = Assert-Fits80 ($lines -join "`n")
        $expected = Import-Csv prompts.csv | Measure-VideoCost | Where-Object Kind -eq 'Total'
        $lines | Where-Object { $_ -match '^Total\s' } | Should -Match ([regex]::Escape($expected.EstimatedCostUsd.ToString('0.00')))
        $lines | Where-Object { $_ -like 'pottery*' -or $_ -match '^\s+1 pottery' } | Should -Match '0\.67'
        $lines | Where-Object { $_ -like 'hailuo-2.3-pro *' } | Should -Match '\$0\.49/video'
    }
}

Describe 'Costs show one way: two decimals in views, exact in properties' {
    It 'a 0.504 estimate stays 0.504 in the property and shows 0.50 in the table and list views' {
        $row = [pscustomobject]@{ Id = 'short'; Model = 'kling-v3-pro'; Prompt = 'x'; Duration = 3; GenerateAudio = 'true' }
        $estimates = $row | Measure-VideoCost
        $estimates[0].EstimatedCostUsd | Should -Be 0.504
        $table = $estimates | Out-String -Width 80
        $table | Should -Match '\s0\.50\s'
        $table | Should -Not -Match '0\.504'
        ($estimates[0] | Format-List | Out-String) | Should -Match 'EstimatedCostUsd\s+:\s+0\.50\r?\n'
        ($estimates[0] | Format-List * | Out-String) | Should -Match 'EstimatedCostUsd\s+:\s+0\.504'
        ($estimates | Export-Csv -NoTypeInformation -Path est.csv); (Import-Csv est.csv)[0].EstimatedCostUsd | Should -Be '0.504'
    }

    It 'the Total reads the same in the list view and the table view' {
        $estimates = Import-Csv prompts.csv | Measure-VideoCost
        $total = $estimates[-1]
        $shown = $total.EstimatedCostUsd.ToString('0.00')
        ($estimates | Out-String -Width 80) -split "`n" | Where-Object { $_ -match '^Total\s' } | Should -Match ([regex]::Escape($shown))
        ($total | Format-List | Out-String) | Should -Match ("EstimatedCostUsd\s+:\s+{0}\r?\n" -f [regex]::Escape($shown))
    }

    It 'a job''s cost shows two decimals in its table and list views' {
        $job = New-KlingVideo -Prompt 'A short clip for the views' -Duration 3 -GenerateAudio $true
        $job.EstimatedCostUsd | Should -Be 0.504
        ($job | Out-String -Width 80) | Should -Match '\s0\.50\s'
        ($job | Format-List | Out-String) | Should -Match 'EstimatedCostUsd\s+:\s+0\.50\r?\n'
    }
}

Describe '-WhatIf ends with one batch line' {
    It 'New-KlingVideo -WhatIf ends with the number of requests and the estimated total' {
        $kling = Import-Csv prompts.csv | Where-Object Model -like 'kling*'
        # -Force: rows submitted by earlier tests count as requests again.
        $whatIf = Invoke-WhatIf { $kling | New-KlingVideo -WhatIf -Force }
        $whatIf.Lines.Count | Should -Be $kling.Count
        $whatIf.Batch.Count | Should -Be 1
        $total = ($kling | Measure-VideoCost)[-1].EstimatedCostUsd
        $whatIf.Batch[0] | Should -Be ("What if: Batch: {0} request(s), estimated total {1} USD" -f $kling.Count, $total.ToString('0.00', [cultureinfo]::InvariantCulture))
    }

    It 'says "price unknown" when no request has a price' {
        $whatIf = Invoke-WhatIf { Invoke-FalModel -EndpointId 'fal-ai/not-in-the-catalog/text-to-video' -Arguments @{ prompt = 'x' } -WhatIf -WarningAction SilentlyContinue }
        $whatIf.Batch | Should -Be 'What if: Batch: 1 request(s), price unknown'
    }

    It 'a multi-shot row says how many shots' {
        $whatIf = Invoke-WhatIf { Import-Csv shots.csv | Group-Object Id | New-KlingVideo -WhatIf }
        $whatIf.Lines.Count | Should -Be 2
        $whatIf.Lines | ForEach-Object { $_ | Should -Match '\b3 shots\b' }
        $whatIf.Batch | Should -Match '^What if: Batch: 2 request\(s\), estimated total \d+\.\d\d USD$'
    }
}

Describe 'Labels name the user''s row' {
    It 'Stop-FalJob and Remove-FalJob -WhatIf name the row''s Id and the start of its prompt' {
        $job = [pscustomobject]@{ Id = 'label-row'; Prompt = 'A lighthouse keeper climbs the spiral stairs at dusk [emulator:seconds=60]' } | New-KlingVideo -Duration 3
        $stop = (Invoke-WhatIf { $job | Stop-FalJob -WhatIf }).Lines
        $stop | Should -HaveCount 1
        $stop[0] | Should -Match 'label-row "A lighthouse keeper climbs'
        $stop[0] | Should -Match $job.RequestId
        $remove = (Invoke-WhatIf { $job | Remove-FalJob -WhatIf }).Lines
        $remove | Should -HaveCount 1
        $remove[0] | Should -Match 'label-row "A lighthouse keeper climbs'
        $job | Stop-FalJob -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
    }

    It 'Wait-FalJob''s progress bars name each row and use the parent''s words' {
        $run = Invoke-WithProgress @'
[pscustomobject]@{ Id = 'progress-row'; Prompt = 'Waves roll onto a pebble beach [emulator:seconds=2]' } | New-KlingVideo -Duration 3 | Wait-FalJob
'@
        $run.Errors | Should -BeNullOrEmpty
        $parent = $run.Progress | Where-Object ParentActivityId -eq -1 | Where-Object Activity -eq 'Waiting for fal jobs'
        $parent | Should -Not -BeNullOrEmpty
        $children = @($run.Progress | Where-Object { $_.ParentActivityId -ne -1 -and $_.Activity -like 'progress-row*' })
        $children | Should -Not -BeNullOrEmpty
        $children[0].Activity | Should -Be 'progress-row "Waves roll onto a pebble beac…"'
        # The child's status words are the parent's: "in queue", "in progress", "finished".
        foreach ($child in $children) { $child.StatusDescription | Should -Match '^(in queue|in progress|finished)' }
        $parent[0].StatusDescription | Should -Match 'finished, \d+ in progress, \d+ in queue'
    }

    It 'Save-FalVideo''s progress bar names the row' {
        $run = Invoke-WithProgress @"
[pscustomobject]@{ Id = 'save-row'; Prompt = 'A paper boat drifts down a gutter stream' } | New-KlingVideo -Duration 3 -Wait | Save-FalVideo -Directory '$(Join-Path $script:Work 'saved-views')'
"@
        $run.Errors | Should -BeNullOrEmpty
        $save = @($run.Progress | Where-Object Activity -like 'Saving *')
        $save | Should -Not -BeNullOrEmpty
        $save[0].Activity | Should -Be 'Saving save-row "A paper boat drifts down a gu…"'
    }

    It 'request-id completion lists the row''s Id and prompt, and the start of an Id completes to its request id' {
        $job = [pscustomobject]@{ Id = 'complete-me'; Prompt = 'A kettle starts to steam on an old stove' } | New-KlingVideo -Duration 3
        $all = Get-Completion 'Wait-FalJob -RequestId '
        $mine = $all | Where-Object CompletionText -eq $job.RequestId
        $mine | Should -Not -BeNullOrEmpty
        $mine.ListItemText | Should -Match '^complete-me "A kettle starts to steam'
        $byId = Get-Completion 'Wait-FalJob -RequestId complete-'
        @($byId).Count | Should -Be 1
        $byId[0].CompletionText | Should -Be $job.RequestId
    }
}

Describe 'Logs read as text; snake_case aliases stay out of listings' {
    It 'a log entry prints as time, level and message' {
        $entry = [FalVideo.Fal.FalLogEntry]@{ Message = 'Generating frames'; Level = 'INFO'; Timestamp = [DateTimeOffset]'2026-12-01T03:04:05Z' }
        "$entry" | Should -Be '2026-12-01 03:04:05Z INFO Generating frames'
        $job = [FalVideo.Jobs.FalJob]::new()
        $job.Logs = @($entry, [FalVideo.Fal.FalLogEntry]@{ Message = 'Done' })
        ($job | Format-List | Out-String) | Should -Match "Logs\s+:\s+2026-12-01 03:04:05Z INFO Generating frames\r?\n\s+Done"
        ($job | Format-List * | Out-String) | Should -Match 'Logs\s+:\s+\{2026-12-01 03:04:05Z INFO Generating frames, Done\}'
    }

    It 'Format-List * and Export-Csv show each value once; $job.request_id still reads' {
        $job = Get-FalJob | Select-Object -First 1
        $job.request_id | Should -Be $job.RequestId
        $job.endpoint_id | Should -Be $job.EndpointId
        $listed = $job | Format-List * | Out-String
        $listed | Should -Not -Match '(?m)^(request_id|endpoint_id|queue_position|status_url|response_url|cancel_url)\s+:'
        $listed | Should -Match '(?m)^RequestId\s+:'
        Get-FalJob | Export-Csv jobs.csv -NoTypeInformation
        $header = (Get-Content jobs.csv -TotalCount 1) -split ',' | ForEach-Object { $_.Trim('"') }
        $header | Should -Contain 'RequestId'
        $header | Where-Object { $_ -cmatch '_' } | Should -BeNullOrEmpty
        $header.Count | Should -Be ($header | Select-Object -Unique).Count
    }
}

Describe 'Values complete as values, not file names' {
    It '<Line> offers <Expected>' -ForEach @(
        @{ Line = 'Measure-VideoCost -Mode '; Expected = 'text-to-video' }
        @{ Line = 'Measure-VideoCost -Model hailuo-02-standard -Resolution '; Expected = '512P' }
        @{ Line = 'New-FalVideo -Resolution '; Expected = 'true_1080p' }
        @{ Line = 'Wait-FalJob -EndpointId fal-ai/kling-video/v3/pro/t'; Expected = "'fal-ai/kling-video/v3/pro/text-to-video'" }
        @{ Line = 'Invoke-FalModel -EndpointId fal-ai/minimax/hailuo-2.3/pro/'; Expected = "'fal-ai/minimax/hailuo-2.3/pro/text-to-video'" }
        @{ Line = 'Get-FalJob -Model kling-v3-'; Expected = 'kling-v3-pro' }
        @{ Line = 'New-KlingVideo -GenerateAudio '; Expected = '$true' }
        @{ Line = 'Measure-VideoCost -GenerateAudio '; Expected = '$false' }
        @{ Line = 'Measure-VideoCost -GenerateAudio f'; Expected = '$false' }
        @{ Line = 'New-HailuoVideo -Model hailuo-2.3-standard -Duration '; Expected = '10' }
        @{ Line = 'New-HailuoVideo -Duration '; Expected = '6' }
    ) {
        $found = @(Get-Completion $Line)
        $found | Should -Not -BeNullOrEmpty
        $found | ForEach-Object { $_.ResultType | Should -Be 'ParameterValue' }
        $found.CompletionText | Should -Contain $Expected
    }

    It 'New-HailuoVideo -Duration offers exactly the durations of the model named with -Model' {
        (Get-Completion 'New-HailuoVideo -Model hailuo-2.3-standard -Duration ').CompletionText | Should -Be @('6', '10')
    }

    It 'Get-FalModel -Feature offers only features that filter something' {
        $offered = (Get-Completion 'Get-FalModel -Feature ').CompletionText
        $offered | Should -Contain 'audio'
        $offered | Should -Contain 'multi-shot'
        $offered | Should -Not -Contain '10s'
        $all = @(Get-FalModel).Count
        foreach ($feature in $offered) {
            $count = @(Get-FalModel -Feature $feature).Count
            $count | Should -BeGreaterThan 0 -Because "$feature is offered by some model"
            $count | Should -BeLessThan $all -Because "$feature filters something"
        }
    }

    It 'an unknown feature is an error, not an empty result' {
        { Get-FalModel -Feature 'teleport' -ErrorAction Stop } | Should -Throw -ErrorId 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.GetFalModelCommand'
        $err = $null
        try { Get-FalModel -Feature 'teleport' } catch { $err = $_ }
        $err.Exception.Message | Should -Match "'teleport' is not a feature of any catalog model; known features: .*audio"
    }
}
