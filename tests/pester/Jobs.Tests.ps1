# Wait-FalJob, Get-FalJob, Save-FalVideo, Stop-FalJob and Remove-FalJob: the examples of their help, timeouts,
# per-job errors, the journal.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-PromptsCsv -Path prompts.csv -Family kling
    $kling = 'fal-ai/kling-video/v3/pro/text-to-video'
}

AfterAll { Complete-FalTest }

Describe 'Wait-FalJob help examples' {
    # Some tests leave long jobs running; forgetting them keeps the emulator's two slots free for the next test.
    AfterEach { Reset-Emulator }

    It 'Example 1: submit a CSV batch, wait, save, and keep a report' {
        Import-Csv prompts.csv | New-KlingVideo | Wait-FalJob | Save-FalVideo -Directory ./out | Export-Csv done.csv
        $done = Import-Csv done.csv
        $done.Count | Should -Be (Import-Csv prompts.csv).Count
        $done | ForEach-Object { (Get-Item -LiteralPath $_.Path).Length | Should -Be ([long]$_.Size); $_.RequestId | Should -Match '^[0-9a-f-]{36}$' }
    }

    It 'Example 2: jobs of an earlier session from submitted.csv; the failed and timed-out ones land in -ErrorVariable' {
        @(
            New-KlingVideo -Prompt 'Quick one' -Duration 3
            New-KlingVideo -Prompt 'A broken one [emulator:fail]' -Duration 3
            New-KlingVideo -Prompt 'A slow one [emulator:seconds=30]' -Duration 3
        ) | Export-Csv submitted.csv
        $failed = $null
        $saved = Import-Csv submitted.csv | Wait-FalJob -Timeout 3 -ErrorVariable failed -ErrorAction SilentlyContinue | Save-FalVideo -Directory ./earlier
        @($saved).Count | Should -Be 1
        $saved.RequestId | Should -Be (Import-Csv submitted.csv | Where-Object Prompt -eq 'Quick one').RequestId
        $failed.Count | Should -Be 2
        ($failed.FullyQualifiedErrorId | Sort-Object) | Should -Be @('FalJobFailed,FalVideo.PowerShell.Cmdlets.WaitFalJobCommand', 'FalWaitTimeout,FalVideo.PowerShell.Cmdlets.WaitFalJobCommand')
        $targets = $failed | ForEach-Object { $_.TargetObject } | Select-Object RequestId, Status, ErrorType, Error
        ($targets | Where-Object Status -eq 'Failed').ErrorType | Should -Be 'runner_disconnected'
        ($targets | Where-Object Status -eq 'Failed').Error | Should -Not -BeNullOrEmpty
        ($targets | Where-Object Status -ne 'Failed').Status | Should -BeIn 'InQueue', 'InProgress'
        ($targets.RequestId | Sort-Object) | Should -Be ((Import-Csv submitted.csv | Where-Object Prompt -ne 'Quick one').RequestId | Sort-Object)
    }

    It 'Example 3: resumes everything unfinished in the journal' {
        $null = Use-NewJournal 'resume.jsonl'
        $jobs = 1..3 | ForEach-Object { New-KlingVideo -Prompt "Unfinished $_ [emulator:seconds=1]" -Duration 3 }
        $waited = Get-FalJob -Unfinished | Wait-FalJob
        ($waited.RequestId | Sort-Object) | Should -Be ($jobs.RequestId | Sort-Object)
        $waited.Status | Select-Object -Unique | Should -Be 'Completed'
        (Get-FalJob -Status Completed).Count | Should -Be 3
    }

    It '-Timeout gives up with FalWaitTimeout and the job is still running' {
        $job = New-KlingVideo -Prompt 'Takes a while [emulator:seconds=30]' -Duration 3
        $start = Get-Date
        { $job | Wait-FalJob -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'FalWaitTimeout,FalVideo.PowerShell.Cmdlets.WaitFalJobCommand'
        ((Get-Date) - $start).TotalSeconds | Should -BeLessThan 10
        (Get-FalJob -Job $job).Status | Should -BeIn 'InQueue', 'InProgress'
    }

    It 'a failed job is FalJobFailed whose target is the job' {
        $errors = $null
        New-HailuoVideo -Prompt 'A kite [emulator:fail=request_timeout]' | Wait-FalJob -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalJobFailed,FalVideo.PowerShell.Cmdlets.WaitFalJobCommand'
        $errors[0].TargetObject.Status | Should -Be 'Failed'
        $errors[0].TargetObject.ErrorType | Should -Be 'request_timeout'
    }

    It 'waits for a request by id' {
        $job = New-KlingVideo -Prompt 'By id' -Duration 3
        (Wait-FalJob -RequestId $job.RequestId -EndpointId $job.EndpointId).Status | Should -Be 'Completed'
    }
}

Describe 'Get-FalJob help examples' {
    It 'Example 1: resumes after a crash and saves the videos' {
        $null = Use-NewJournal 'crash.jsonl'
        $jobs = 1..2 | ForEach-Object { New-KlingVideo -Prompt "Crashed $_ [emulator:seconds=1]" -Duration 3 }
        $null = New-Item -ItemType Directory ./resumed -Force
        Push-Location ./resumed
        try { $files = Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo }
        finally { Pop-Location }
        ($files.RequestId | Sort-Object) | Should -Be ($jobs.RequestId | Sort-Object)
        $files | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue }
        $files.File.DirectoryName | Select-Object -Unique | Should -Be (Resolve-Path ./resumed).ProviderPath
        @(Get-FalJob -Unfinished) | Should -BeNullOrEmpty
    }

    It 'Example 2: refreshes the jobs of a CSV report, one status call per row' {
        $jobs = Import-Csv prompts.csv | Select-Object -First 2 | New-KlingVideo
        $jobs | Export-Csv submitted2.csv
        $null = $jobs | Wait-FalJob
        $statusCalls = Get-EmulatorRequestCount status
        $refreshed = Import-Csv submitted2.csv | Get-FalJob | Select-Object RequestId, Status, QueuePosition, VideoUrl
        (Get-EmulatorRequestCount status) | Should -Be ($statusCalls + 2)
        $refreshed.RequestId | Should -Be $jobs.RequestId
        $refreshed.Status | Should -Be @('Completed', 'Completed')
        $refreshed | ForEach-Object { $_.VideoUrl | Should -BeLike "$script:BaseUrl/cdn/*" }
    }

    It 'Example 3: reads the logs of one request' {
        $job = New-KlingVideo -Prompt 'Logs please' -Duration 3 | Wait-FalJob
        $logs = (Get-FalJob -RequestId $job.RequestId -EndpointId $kling).Logs
        $logs | Should -Not -BeNullOrEmpty
        $logs.Message -join "`n" | Should -Match 'Video ready'
    }

    It 'Example 4: the last five Kling jobs, and today''s failures' {
        $null = Use-NewJournal 'last.jsonl'
        $null = 1..6 | ForEach-Object { New-KlingVideo -Prompt "Clip $_" -Duration 3 }
        $null = New-HailuoVideo -Prompt 'Hailuo clip'
        $null = New-HailuoVideo -Prompt 'Broken [emulator:fail]' | Wait-FalJob -ErrorAction SilentlyContinue
        $last = Get-FalJob -Model kling* -Last 5
        $last.Count | Should -Be 5
        $last.Model | Select-Object -Unique | Should -Be 'kling-v3-pro'
        $last.Prompt | Should -Not -Contain 'Clip 1'
        $failures = Get-FalJob -Status Failed -Since (Get-Date).Date
        @($failures).Count | Should -Be 1
        $failures.Prompt | Should -Be 'Broken [emulator:fail]'
        @(Get-FalJob -Status Failed -Since (Get-Date).AddMinutes(5)).Count | Should -Be 0
    }

    It 'an unknown request id is a non-terminating FalNotFound error' {
        $errors = $null
        Get-FalJob -RequestId 3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b -EndpointId $kling -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalNotFound,FalVideo.PowerShell.Cmdlets.GetFalJobCommand'
        $errors[0].TargetObject.RequestId | Should -Be '3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b'
    }
}

Describe 'Save-FalVideo help examples' {
    It 'Example 1: a CSV of prompts to files and a report with file name, size, request id, prompt and cost' {
        Import-Csv prompts.csv | New-KlingVideo -Wait | Save-FalVideo -Directory ./save1 | Export-Csv done-save.csv
        $done = Import-Csv done-save.csv
        $done.Count | Should -Be (Import-Csv prompts.csv).Count
        foreach ($row in $done) {
            $source = Import-Csv prompts.csv | Where-Object Id -eq $row.Id
            $row.Prompt | Should -Be $source.Prompt
            [decimal]$row.EstimatedCostUsd | Should -Be (Measure-VideoCost -InputObject $source -NoTotal).EstimatedCostUsd
            [long]$row.Size | Should -Be (Get-Item -LiteralPath $row.Path).Length
            Split-Path $row.Path -Leaf | Should -BeLike "$($row.Id)-*.mp4"
        }
    }

    It 'Example 2: saves the videos of an earlier report; the same video already there is not downloaded again, another file is FalFileExists' {
        $jobs = Import-Csv prompts.csv | Select-Object -First 2 | New-KlingVideo
        $jobs | Export-Csv submitted-save.csv
        $first = Import-Csv submitted-save.csv | Wait-FalJob | Save-FalVideo -Directory ./save2 -Force
        $first.Count | Should -Be 2
        $downloads = Get-EmulatorRequestCount download
        $again = Import-Csv submitted-save.csv | Wait-FalJob | Save-FalVideo -Directory ./save2
        ($again.Path | Sort-Object) | Should -Be ($first.Path | Sort-Object)
        (Get-EmulatorRequestCount download) | Should -Be $downloads
        Set-Content -LiteralPath $first[0].Path -Value 'not this video'
        $errors = $null
        $third = Import-Csv submitted-save.csv | Wait-FalJob | Save-FalVideo -Directory ./save2 -ErrorVariable errors -ErrorAction SilentlyContinue
        @($third).Count | Should -Be 1
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalFileExists,FalVideo.PowerShell.Cmdlets.SaveFalVideoCommand'
        $errors[0].TargetObject | Should -Be $first[0].Path
        $forced = Import-Csv submitted-save.csv | Wait-FalJob | Save-FalVideo -Directory ./save2 -Force
        ($forced.Path | Sort-Object) | Should -Be ($first.Path | Sort-Object)
    }

    It 'Example 3: -WhatIf by request id writes no file and downloads nothing' {
        $job = New-KlingVideo -Prompt 'Save me later' -Duration 3 | Wait-FalJob
        $downloads = Get-EmulatorRequestCount download
        $lines = (Invoke-WhatIf { Save-FalVideo -RequestId $job.RequestId -EndpointId $kling -Directory ./save3 -WhatIf }).Lines
        $lines.Count | Should -Be 1
        $lines[0] | Should -Match ([regex]::Escape($job.RequestId))
        Test-Path ./save3/* | Should -BeFalse
        Get-EmulatorRequestCount download | Should -Be $downloads
        $file = Save-FalVideo -RequestId $job.RequestId -EndpointId $kling -Directory ./save3
        $file.RequestId | Should -Be $job.RequestId
        Get-EmulatorRequestCount download | Should -Be ($downloads + 1)
    }

    It 'a job that is still running is FalJobNotCompleted' {
        $job = New-KlingVideo -Prompt 'Not yet [emulator:seconds=30]' -Duration 3
        { $job | Save-FalVideo -ErrorAction Stop } | Should -Throw -ErrorId 'FalJobNotCompleted,FalVideo.PowerShell.Cmdlets.SaveFalVideoCommand'
    }
}

Describe 'Stop-FalJob help examples' {
    BeforeAll {
        Reset-Emulator
        $null = Use-NewJournal 'stop.jsonl'
        # Two jobs take the emulator's two running slots; the next ones wait in the queue.
        $script:running = 1..2 | ForEach-Object { New-KlingVideo -Prompt "Running $_ [emulator:seconds=60]" -Duration 3 }
        $script:queued = 1..3 | ForEach-Object { New-KlingVideo -Prompt "Queued $_ [emulator:seconds=60]" -Duration 3 }
        $script:queued | Select-Object -First 2 | Export-Csv submitted-stop.csv
    }

    It 'Example 1: -WhatIf cancels nothing; then the report''s jobs are cancelled and written to cancelled.csv' {
        $cancels = Get-EmulatorRequestCount cancel
        $lines = (Invoke-WhatIf { Import-Csv submitted-stop.csv | Stop-FalJob -WhatIf }).Lines
        $lines.Count | Should -Be 2
        Get-EmulatorRequestCount cancel | Should -Be $cancels
        Import-Csv submitted-stop.csv | Stop-FalJob -PassThru | Export-Csv cancelled.csv
        Get-EmulatorRequestCount cancel | Should -Be ($cancels + 2)
        $cancelled = Import-Csv cancelled.csv
        $cancelled.RequestId | Should -Be (Import-Csv submitted-stop.csv).RequestId
        $cancelled.Status | Select-Object -Unique | Should -Be 'Cancelled'
        (Get-FalJob -Job $script:queued[0]).ErrorType | Should -Be 'cancelled'
    }

    It 'Example 2: cancels the journal''s queued jobs (-Confirm:$false)' {
        $queuedNow = Get-FalJob -Status InQueue
        $queuedNow.RequestId | Should -Contain $script:queued[2].RequestId
        $cancels = Get-EmulatorRequestCount cancel
        Get-FalJob -Status InQueue | Stop-FalJob -Confirm:$false -WarningAction SilentlyContinue   # the two cancelled above answer ALREADY_COMPLETED
        Get-EmulatorRequestCount cancel | Should -Be ($cancels + @($queuedNow).Count)
        (Get-FalJob -Job $script:queued[2]).ErrorType | Should -Be 'cancelled'
    }

    It 'Example 3: cancels one request by id; a running one is signalled and goes on' {
        $job = $script:running[0]
        $stopped = Stop-FalJob -RequestId $job.RequestId -EndpointId $kling -PassThru
        $stopped.RequestId | Should -Be $job.RequestId
        (Get-FalJob -Job $job).Status | Should -Be 'InProgress'
    }

    It 'an unknown request id is a non-terminating FalNotFound error' {
        $errors = $null
        Stop-FalJob -RequestId 3f1c2a9e-5b7d-4e21-9a6f-0c8d1e2f3a4b -EndpointId $kling -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalNotFound,FalVideo.PowerShell.Cmdlets.StopFalJobCommand'
    }
}

Describe 'Remove-FalJob help examples' {
    BeforeAll {
        Reset-Emulator
        $script:removeJournal = Use-NewJournal 'remove.jsonl'
        $script:done = Import-Csv prompts.csv | Select-Object -First 3 | New-KlingVideo -Wait | Save-FalVideo -Directory ./rm
        $script:done | Export-Csv done-rm.csv
        $null = New-HailuoVideo -Prompt 'Broken [emulator:fail]' | Wait-FalJob -ErrorAction SilentlyContinue
        $null = New-KlingVideo -Prompt 'Still queued [emulator:seconds=60]' -Duration 3
    }

    It 'Example 1: nothing is older than a month; -WhatIf forgets nothing, then finished jobs go' {
        $before = @(Get-FalJob).Count
        $before | Should -Be 5
        Remove-FalJob -Status Completed, Failed, Cancelled -Before (Get-Date).AddDays(-30) -WhatIf
        Remove-FalJob -Status Completed, Failed, Cancelled -Before (Get-Date).AddDays(-30)
        @(Get-FalJob).Count | Should -Be $before
        Remove-FalJob -Status Completed, Failed, Cancelled -Before (Get-Date).AddMinutes(1) -WhatIf
        @(Get-FalJob).Count | Should -Be $before
    }

    It 'Example 2: forgets the jobs of a finished CSV report and writes forgotten.csv' {
        $doneIds = Import-Csv done-rm.csv | Select-Object -ExpandProperty RequestId
        Get-FalJob | Where-Object RequestId -in $doneIds | Remove-FalJob -PassThru -Confirm:$false | Export-Csv forgotten.csv
        $forgotten = Import-Csv forgotten.csv
        ($forgotten.RequestId | Sort-Object) | Should -Be ($doneIds | Sort-Object)
        (Get-FalJob).RequestId | Where-Object { $_ -in $doneIds } | Should -BeNullOrEmpty
        @(Get-FalJob).Count | Should -Be 2
    }

    It 'Example 3: forgets an ambiguous submission (its answer was lost) after a look' {
        Add-EmulatorFault @{ route = 'submit'; action = 'reset-after' }
        { New-KlingVideo -Prompt 'Lost answer' -Duration 3 -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalAmbiguousSubmission,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $unknown = Get-FalJob -Status Unknown
        @($unknown).Count | Should -Be 1
        $unknown.Prompt | Should -Be 'Lost answer'
        Get-FalJob -Status Unknown | Remove-FalJob -Confirm:$false
        Get-FalJob -Status Unknown | Should -BeNullOrEmpty
        (Get-FalJob).Prompt | Should -Contain 'Still queued [emulator:seconds=60]'
    }

    It 'forgets finished jobs before a date and keeps the unfinished one' {
        Remove-FalJob -Status Completed, Failed, Cancelled -Before (Get-Date).AddMinutes(1) -Confirm:$false
        $left = Get-FalJob
        @($left).Count | Should -Be 1
        $left.Status | Should -Be 'InQueue'
    }
}
