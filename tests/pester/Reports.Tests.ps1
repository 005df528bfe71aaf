# Save-FalVideo's report lines, jobs rebuilt from reports and bare request ids, what Stop-FalJob reports, and jobs
# scoped to the fal host they went to (a rehearsal against the emulator never mixes with real spend).

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $kling = 'fal-ai/kling-video/v3/pro/text-to-video'
    $script:Host1 = ([uri]$script:BaseUrl).Authority
}

AfterAll { Complete-FalTest }

Describe 'Save-FalVideo report lines' {
    BeforeAll {
        Reset-Emulator
        $null = Use-NewJournal 'report.jsonl'
        $script:rows = @(
            [pscustomobject]@{ Id = 'harbor'; Prompt = 'A harbor at dawn'; Duration = 5 }
            [pscustomobject]@{ Id = 'meadow'; Prompt = 'Wind over a meadow'; Duration = 3 }
        )
        # -Wait emits each job as it completes: the report lines are sorted by Id for the checks.
        $script:saved = $script:rows | New-KlingVideo -Wait | Save-FalVideo -Directory ./report | Sort-Object Id
        $script:saved | Export-Csv done.csv
    }

    It 'Export-Csv gives one line per video with the report columns, not FileInfo''s' {
        $lines = Get-Content done.csv
        $lines.Count | Should -Be 3
        $header = ($lines[0] -replace '"', '') -split ','
        $header | Should -Be @('RequestId', 'EndpointId', 'Model', 'Id', 'Prompt', 'Status', 'DurationSeconds', 'EstimatedCostUsd', 'BilledCostUsd', 'Path', 'Size')
        $done = Import-Csv done.csv | Sort-Object Id
        $done.Id | Should -Be @('harbor', 'meadow')
        $done.Prompt | Should -Be @('A harbor at dawn', 'Wind over a meadow')
        $done.Status | Select-Object -Unique | Should -Be 'Completed'
        $done.DurationSeconds | Should -Be @('5', '3')
        $done.Model | Select-Object -Unique | Should -Be 'kling-v3-pro'
        foreach ($row in $done) {
            [long]$row.Size | Should -Be (Get-Item -LiteralPath $row.Path).Length
            [long]$row.Size | Should -BeGreaterThan 1000
            $row.Path | Should -Be (Join-Path (Resolve-Path ./report).ProviderPath "$($row.Id)-$($row.RequestId.Substring(0, 8)).mp4")
            [decimal]$row.EstimatedCostUsd | Should -BeGreaterThan 0
        }
    }

    It 'the emulator''s billed units give BilledCostUsd (units x the catalog''s per-second price)' {
        # The emulator bills the requested seconds, so the billed cost is the estimate; the report says so per line.
        $script:saved | ForEach-Object { $_.BilledCostUsd | Should -Not -BeNullOrEmpty; $_.BilledCostUsd | Should -Be $_.EstimatedCostUsd }
        (Import-Csv done.csv).BilledCostUsd | ForEach-Object { [decimal]$_ | Should -BeGreaterThan 0 }
    }

    It 'the FileInfo is .File, and the item cmdlets take the output from the pipeline' {
        $first = $script:saved[0]
        $first.File | Should -BeOfType System.IO.FileInfo
        $first.File.FullName | Should -Be $first.Path
        $item = $first | Get-Item
        $item | Should -BeOfType System.IO.FileInfo
        $item.FullName | Should -Be $first.Path
        $item.PSPath | Should -Be "Microsoft.PowerShell.Core\FileSystem::$($first.Path)"
        $first.PSPath | Should -Be $item.PSPath
        (Get-Item -LiteralPath $first.PSPath).Length | Should -Be $first.Size
    }

    It 'the default view fits 80 columns and names the row' {
        $table = $script:saved | Format-Table | Out-String -Width 80
        $table | Should -Match 'harbor'
        ($table -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
    }

    It 'Import-Csv done.csv | Save-FalVideo -Force replaces the same files, taking Id, prompt and folder from the job store' {
        $downloads = Get-EmulatorRequestCount download
        Set-Content -LiteralPath $script:saved[0].Path -Value 'stale'
        Push-Location (New-Item -ItemType Directory -Force ./elsewhere)
        try { $again = Import-Csv (Join-Path $script:Work done.csv) | Save-FalVideo -Force | Sort-Object Id }
        finally { Pop-Location }
        $again.Path | Should -Be $script:saved.Path
        $again.Id | Should -Be @('harbor', 'meadow')
        $again.Prompt | Should -Be $script:saved.Prompt
        $again.EstimatedCostUsd | Should -Be $script:saved.EstimatedCostUsd
        Get-EmulatorRequestCount download | Should -Be ($downloads + 2)
        (Get-Item -LiteralPath $script:saved[0].Path).Length | Should -Be $script:saved[0].Size
        @(Get-ChildItem ./report -File).Count | Should -Be 2
        @(Get-ChildItem ./elsewhere -File).Count | Should -Be 0
    }

    It 'Example 5 of its help: the saved files of a report are removed by piping them to Remove-Item' {
        $drafts = [pscustomobject]@{ Id = 'draft'; Prompt = 'A draft'; Duration = 3 } | New-KlingVideo -Wait | Save-FalVideo -Directory ./drafts
        Test-Path -LiteralPath $drafts.Path | Should -BeTrue
        $drafts | Remove-Item
        Test-Path -LiteralPath $drafts.Path | Should -BeFalse
    }

    It 'a deserialized job from Start-Job is saved under its row''s Id, with its prompt from the store' {
        $journal = (Get-FalConfiguration).JournalPath
        $job = Start-Job -ScriptBlock {
            param($manifest, $url, $journal)
            Import-Module $manifest
            Set-FalConfiguration -BaseUrl $url -ApiKey 'pester-key' -JournalPath $journal
            [pscustomobject]@{ Id = 'from-job'; Prompt = 'Made in a background job'; Duration = 3 } | New-KlingVideo -Wait
        } -ArgumentList $script:ModuleManifest, $script:BaseUrl, $journal
        $deserialized = $job | Receive-Job -Wait -AutoRemoveJob
        $deserialized.PSObject.TypeNames[0] | Should -Be 'Deserialized.FalVideo.Jobs.FalJob'
        $file = $deserialized | Save-FalVideo -Directory ./fromjob
        $file.Id | Should -Be 'from-job'
        $file.Prompt | Should -Be 'Made in a background job'
        Split-Path $file.Path -Leaf | Should -BeLike 'from-job-*.mp4'
    }
}

Describe 'A request id alone' {
    BeforeAll {
        Reset-Emulator
        $null = Use-NewJournal 'ids.jsonl'
        $script:known = [pscustomobject]@{ Id = 'known'; Prompt = 'Known to the store'; Duration = 3 } | New-KlingVideo
    }

    It '-EndpointId is optional on Get-FalJob, Wait-FalJob, Save-FalVideo and Stop-FalJob' {
        foreach ($name in 'Get-FalJob', 'Wait-FalJob', 'Save-FalVideo', 'Stop-FalJob') {
            $parameter = (Get-Command $name).Parameters['EndpointId']
            $parameter.ParameterSets.Values.IsMandatory | Should -Not -Contain $true -Because "$name -EndpointId"
        }
    }

    It 'finds a job the store knows: Wait-FalJob, Get-FalJob and Save-FalVideo take endpoint, Id and prompt from it' {
        $waited = Wait-FalJob -RequestId $script:known.RequestId
        $waited.Status | Should -Be 'Completed'
        $waited.EndpointId | Should -Be $kling
        $waited.Id | Should -Be 'known'
        (Get-FalJob -RequestId $script:known.RequestId).Prompt | Should -Be 'Known to the store'
        $file = Save-FalVideo -RequestId $script:known.RequestId -Directory ./byid
        Split-Path $file.Path -Leaf | Should -BeLike 'known-*.mp4'
        $file.Prompt | Should -Be 'Known to the store'
    }

    It 'a request id the store does not know, without -EndpointId, is FalRequestNotInStore and nothing is asked of fal' {
        $requests = (Get-EmulatorStats).requests
        foreach ($name in 'Get-FalJob', 'Wait-FalJob', 'Save-FalVideo', 'Stop-FalJob') {
            $errors = $null
            $out = & $name -RequestId 3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b -ErrorVariable errors -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1 -Because $name
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'FalRequestNotInStore,*'
            $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $errors[0].Exception.Message | Should -Match '-EndpointId'
        }
        (Get-EmulatorStats).requests | Should -Be ($requests + 1)   # only the stats call above
    }

    It 'with -EndpointId, an unknown request id still reaches fal (FalNotFound)' {
        { Get-FalJob -RequestId 3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b -EndpointId $kling -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalNotFound,FalVideo.PowerShell.Cmdlets.GetFalJobCommand'
    }

    It 'a pipeline of report rows binds RequestId by property name without an EndpointId column' {
        [pscustomobject]@{ RequestId = $script:known.RequestId } | Export-Csv ids-only.csv
        (Import-Csv ids-only.csv | Get-FalJob).Id | Should -Be 'known'
    }
}

Describe 'Stop-FalJob reports what fal said' {
    BeforeAll {
        Reset-Emulator
        $null = Use-NewJournal 'stop-report.jsonl'
        # Two jobs take the emulator's two running slots; the third waits in the queue.
        $script:running = 1..2 | ForEach-Object { New-KlingVideo -Prompt "Runs $_ [emulator:seconds=8]" -Duration 3 }
        $script:waiting = New-KlingVideo -Prompt 'Waits [emulator:seconds=8]' -Duration 3
        Start-Sleep -Milliseconds 300
    }

    It 'a queued job fal removed is recorded as Cancelled, and the resume skips it' {
        $warnings = $null
        $stopped = $script:waiting | Stop-FalJob -PassThru -Confirm:$false -WarningVariable warnings
        $stopped.Status | Should -Be 'Cancelled'
        $warnings | Should -BeNullOrEmpty
        (Get-FalJob | Where-Object RequestId -eq $script:waiting.RequestId).Status | Should -Be 'Cancelled'
        (Get-FalJob -Unfinished).RequestId | Should -Not -Contain $script:waiting.RequestId
    }

    It 'a running job is only signalled: -PassThru says InProgress, a warning says it may be billed, and it then completes' {
        $warnings = $null
        $stopped = Stop-FalJob -RequestId $script:running[0].RequestId -PassThru -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
        $stopped.Status | Should -Be 'InProgress'
        $warnings.Count | Should -Be 1
        "$warnings" | Should -Match 'CANCELLATION_REQUESTED'
        "$warnings" | Should -Match 'may still finish and be billed'
        (Get-FalJob -Unfinished).RequestId | Should -Contain $script:running[0].RequestId
        ($script:running[0] | Wait-FalJob).Status | Should -Be 'Completed'
        (Get-FalJob | Where-Object RequestId -eq $script:running[0].RequestId).Status | Should -Be 'Completed'
    }

    It 'a job that already completed is a warning naming ALREADY_COMPLETED, and -PassThru says Completed' {
        $null = $script:running[1] | Wait-FalJob
        $warnings = $null
        $stopped = $script:running[1] | Stop-FalJob -PassThru -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
        $stopped.Status | Should -Be 'Completed'
        "$warnings" | Should -Match 'ALREADY_COMPLETED'
        "$warnings" | Should -Match 'billed'
    }

    It 'a request fal does not know is one FalNotFound error saying NOT_FOUND' {
        $errors = $null
        Stop-FalJob -RequestId 3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b -EndpointId $kling -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalNotFound,FalVideo.PowerShell.Cmdlets.StopFalJobCommand'
        $errors[0].ToString() | Should -Match 'NOT_FOUND'
    }

    It 'Save-FalVideo of a cancelled job says it was cancelled, not to wait' {
        $errors = $null
        $script:waiting | Save-FalVideo -Directory ./cancelled -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalJobNotCompleted,FalVideo.PowerShell.Cmdlets.SaveFalVideoCommand'
        $errors[0].Exception.Message | Should -Match 'was cancelled'
        $errors[0].Exception.Message | Should -Not -Match 'Wait-FalJob'
        $byId = $null
        Save-FalVideo -RequestId $script:waiting.RequestId -Directory ./cancelled -ErrorVariable byId -ErrorAction SilentlyContinue
        $byId[0].Exception.Message | Should -Not -Match 'Wait-FalJob'
    }

    It 'Remove-FalJob of a job the store does not know is FalJobNotFound' {
        $stranger = [FalVideo.Jobs.FalJob]@{ RequestId = '3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b'; EndpointId = $kling }
        $errors = $null
        $stranger | Remove-FalJob -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalJobNotFound,FalVideo.PowerShell.Cmdlets.RemoveFalJobCommand'
    }
}

Describe 'Jobs are scoped to the fal host they went to' {
    BeforeAll {
        Reset-Emulator
        $script:scopeJournal = Use-NewJournal 'hosts.jsonl'
        $script:row = [pscustomobject]@{ Id = 'rehearsed'; Prompt = 'A rehearsal'; Duration = 3 }
        $script:rehearsed = $script:row | New-KlingVideo -Wait
        $script:unfinished = New-KlingVideo -Prompt 'Still running at the first host [emulator:seconds=60]' -Duration 3
        # A record written before hosts were kept: it counts as fal's own host.
        $old = @{ entry = 'submitted'; time = '2026-11-01T10:00:00+00:00'; request_id = '11111111-2222-3333-4444-555555555555'
                  endpoint_id = $kling; model = 'kling-v3-pro'; status = 'InQueue'; prompt = 'From before hosts'
                  submitted_at = '2026-11-01T10:00:00+00:00'; estimated_cost_usd = 0.504 } | ConvertTo-Json -Compress
        Add-Content -LiteralPath $script:scopeJournal -Value $old
        $script:second = Start-TestEmulator
        $script:Host2 = ([uri]$script:second.Url).Authority
    }

    AfterAll {
        Set-FalConfiguration -BaseUrl $script:BaseUrl
        Stop-Process -Id $script:second.Process.Id -ErrorAction Ignore
    }

    It 'each job records the host of the queue base URL it was sent to' {
        $script:rehearsed.QueueHost | Should -Be $script:Host1
        (Get-FalJob | Where-Object RequestId -eq $script:rehearsed.RequestId).QueueHost | Should -Be $script:Host1
        (Get-Content -LiteralPath $script:scopeJournal | Select-Object -First 1 | ConvertFrom-Json).queue_host | Should -Be $script:Host1
    }

    It 'Get-FalJob and the resume see only the current host''s jobs; -AllHosts sees them all' {
        (Get-FalJob).RequestId | Should -Not -Contain '11111111-2222-3333-4444-555555555555'
        (Get-FalJob).RequestId | Should -Contain $script:rehearsed.RequestId
        Set-FalConfiguration -BaseUrl $script:second.Url
        try {
            @(Get-FalJob) | Should -BeNullOrEmpty
            @(Get-FalJob -Unfinished) | Should -BeNullOrEmpty
            $all = Get-FalJob -AllHosts
            $all.RequestId | Should -Contain $script:rehearsed.RequestId
            $all.RequestId | Should -Contain '11111111-2222-3333-4444-555555555555'
            (Get-FalJob -Unfinished -AllHosts).RequestId | Should -Contain $script:unfinished.RequestId
        }
        finally { Set-FalConfiguration -BaseUrl $script:BaseUrl }
        Set-FalConfiguration -BaseUrl 'https://queue.fal.run'
        try {
            (Get-FalJob).RequestId | Should -Be '11111111-2222-3333-4444-555555555555'
            (Get-FalJob -Unfinished).RequestId | Should -Be '11111111-2222-3333-4444-555555555555'
        }
        finally { Set-FalConfiguration -BaseUrl $script:BaseUrl }
    }

    It 'spend totals leave out another host''s jobs unless -AllHosts: Measure-VideoCost' {
        Set-FalConfiguration -BaseUrl $script:second.Url
        try {
            $warnings = $null
            $costs = $script:rehearsed | Measure-VideoCost -WarningVariable warnings -WarningAction SilentlyContinue
            $costs | Should -BeNullOrEmpty
            "$warnings" | Should -Match ([regex]::Escape($script:Host1))
            "$warnings" | Should -Match '-AllHosts'
            $all = $script:rehearsed | Measure-VideoCost -AllHosts
            ($all | Where-Object Kind -eq 'Total').CostUsd | Should -BeGreaterThan 0
        }
        finally { Set-FalConfiguration -BaseUrl $script:BaseUrl }
        ($script:rehearsed | Measure-VideoCost | Where-Object Kind -eq 'Total').CostUsd | Should -BeGreaterThan 0
    }

    It 'spend totals leave out another host''s jobs unless -AllHosts: Get-FalJobCost' {
        Set-FalConfiguration -BaseUrl $script:second.Url
        try {
            $warnings = $null
            $costs = $script:rehearsed | Get-FalJobCost -WarningVariable warnings -WarningAction SilentlyContinue
            $costs | Should -BeNullOrEmpty
            "$warnings" | Should -Match ([regex]::Escape($script:Host1))
        }
        finally { Set-FalConfiguration -BaseUrl $script:BaseUrl }
        $here = $script:rehearsed | Get-FalJobCost
        ($here | Where-Object RequestId -eq $script:rehearsed.RequestId) | Should -Not -BeNullOrEmpty
    }

    It 'a re-run of the same row against another host is sent there (the rehearsal does not stand in for it)' {
        Set-FalConfiguration -BaseUrl $script:second.Url
        try {
            $before = (Invoke-RestMethod "$($script:second.Url)/_emulator/stats").accepted_submissions
            $real = $script:row | New-KlingVideo -WarningVariable warnings
            $real.RequestId | Should -Not -Be $script:rehearsed.RequestId
            $real.QueueHost | Should -Be $script:Host2
            (Invoke-RestMethod "$($script:second.Url)/_emulator/stats").accepted_submissions | Should -Be ($before + 1)
        }
        finally { Set-FalConfiguration -BaseUrl $script:BaseUrl }
        # Against the first host the same row is still found as already submitted.
        $again = $script:row | New-KlingVideo -WarningAction SilentlyContinue
        $again.RequestId | Should -Be $script:rehearsed.RequestId
    }
}

Describe 'The emulator demo uses its own store' {
    It 'examples/csv-to-videos.ps1 -Emulator records its jobs in jobs-emulator.db beside the default store, not in it' {
        $home2 = Join-Path $script:Work 'demo-home'
        $null = New-Item -ItemType Directory -Force $home2
        $csv = Join-Path $script:Work 'demo.csv'
        Get-SharedCsv seed-prompts.csv | Where-Object Model -like 'kling*' | Select-Object -First 1 | Export-Csv $csv
        $script = Join-Path $script:RepoRoot 'examples/csv-to-videos.ps1'
        # A child pwsh whose local application data is the temp folder, with no journal setting of its own.
        $pwsh = Join-Path $PSHOME 'pwsh.dll'   # the pwsh of this run (a dotnet tool: run through dotnet)
        $env:XDG_DATA_HOME, $saved = (Join-Path $home2 'share'), $env:XDG_DATA_HOME
        $savedJournal = $env:FALVIDEO_JOURNAL
        $env:FALVIDEO_JOURNAL = $null
        try { $out = & dotnet $pwsh -NoProfile -File $script -Emulator -Csv $csv -OutDir (Join-Path $script:Work 'demo-out') 2>&1 }
        finally { $env:XDG_DATA_HOME = $saved; $env:FALVIDEO_JOURNAL = $savedJournal }
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $store = Join-Path $home2 'share/FalVideo/jobs-emulator.db'
        ($out -join "`n") | Should -Match ([regex]::Escape($store))
        Test-Path $store | Should -BeTrue
        Test-Path (Join-Path $home2 'share/FalVideo/jobs.db') | Should -BeFalse
        Set-FalConfiguration -JournalPath $store
        try { @(Get-FalJob -AllHosts).Count | Should -Be 1 }
        finally { Set-FalConfiguration -JournalPath $script:Journal }
    }
}
