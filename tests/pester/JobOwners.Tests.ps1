# Whose jobs: every job records the machine and user that submitted it (FalJob.Machine, FalJob.User), and the team's
# listings, spend totals and pruning take -Machine/-User. Another machine's or user's jobs are written through the job
# store's own API, as that machine's module would write them.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest -EmulatorArguments @('--admin-key', 'pester-admin')
    $script:kling = 'fal-ai/kling-video/v3/pro/text-to-video'
    $script:me = [Environment]::UserName
    $script:here = [Environment]::MachineName

    # A job submitted from another machine by another user: its write-ahead and fal's answer, as that machine records them.
    function Add-OtherJob([string] $Store, [string] $Machine, [string] $User, [string] $RequestId, [string] $Status = 'Completed') {
        $job = [FalVideo.Jobs.FalJob]@{
            EndpointId = $script:kling; Model = 'kling-v3-pro'; Mode = 'text-to-video'; Status = 'Unknown'; Prompt = "Sent from $Machine"
            DurationSeconds = 5; EstimatedCostUsd = 0.56; SubmittedAt = [DateTimeOffset]::UtcNow; QueueHost = ([uri]$script:BaseUrl).Authority
            Machine = $Machine; User = $User
        }
        $opened = [FalVideo.Journal.JobStore]::Open($Store)
        $opened.Append([FalVideo.Journal.JobJournal]::SubmittingEntry, $job)
        $job.RequestId = $RequestId
        $job.Status = $Status
        $opened.Append('submitted', $job)
    }

    # A request fal really received and billed (the emulator), sent by another machine's module.
    function Send-OtherRequest {
        $body = '{"prompt": "Sent from another machine", "duration": "5", "generate_audio": false}'
        (Invoke-RestMethod -Method Post "$script:BaseUrl/$script:kling" -Headers @{ Authorization = 'Key pester-key' } -ContentType 'application/json' -Body $body).request_id
    }
}

AfterAll { Complete-FalTest }

Describe 'Machine and User on every job' {
    It 'are set on a submitted job, kept in the store, listed by Format-List and Export-Csv but not in the table' {
        $null = Use-NewJournal 'own.db'
        $job = New-KlingVideo -Prompt 'A kiln at night' -Duration 5 -GenerateAudio $false
        $job.Machine | Should -Be $script:here
        $job.User | Should -Be $script:me
        $stored = Get-FalJob | Where-Object RequestId -eq $job.RequestId
        ($stored.Machine, $stored.User) | Should -Be @($script:here, $script:me)
        ($stored | Format-List | Out-String -Width 200) | Should -Match "Machine\s+:\s+$([regex]::Escape($script:here))"
        ($stored | Format-Table | Out-String -Width 200) | Should -Not -Match 'Machine'
        $stored | Export-Csv (Join-Path $script:Work 'own.csv')
        (Import-Csv (Join-Path $script:Work 'own.csv')).User | Should -Be $script:me
    }
}

Describe 'Get-FalJob -Machine and -User' {
    BeforeAll {
        $script:store = Use-NewJournal 'team.db'
        $script:mine = New-KlingVideo -Prompt 'Mine' -Duration 5 -GenerateAudio $false | Wait-FalJob
        Add-OtherJob $script:store 'BUILD-07' 'carol' 'other-1'
        Add-OtherJob $script:store 'build-08' 'Carol' 'other-2' 'Failed'
        Add-OtherJob $script:store 'build-08' 'dave' 'other-3' 'InQueue'
    }

    It 'lists the jobs of the machines and users named, with wildcards and without regard to case' {
        (Get-FalJob -Machine build-0*).RequestId | Should -Be @('other-1', 'other-2', 'other-3')
        (Get-FalJob -User CAROL).RequestId | Should -Be @('other-1', 'other-2')
        (Get-FalJob -Machine 'build-08' -User 'd*').RequestId | Should -Be @('other-3')
        (Get-FalJob -User $script:me).RequestId | Should -Be @($script:mine.RequestId)
        (Get-FalJob -Machine $script:here, 'build-07').RequestId | Should -Be @($script:mine.RequestId, 'other-1')
        @(Get-FalJob -User nobody).Count | Should -Be 0
        @(Get-FalJob).Count | Should -Be 4
    }

    It 'narrows -Status and -Unfinished' {
        (Get-FalJob -Status Completed, Failed -User carol).RequestId | Should -Be @('other-1', 'other-2')
        (Get-FalJob -Status Completed -User carol).RequestId | Should -Be @('other-1')
        (Get-FalJob -Unfinished -Machine build-08).RequestId | Should -Be @('other-3')
        @(Get-FalJob -Unfinished -User $script:me).Count | Should -Be 0
    }

    It 'completes -Machine and -User with this process''s names and those of the unfinished jobs' {
        $line = 'Get-FalJob -Machine build'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('build-08')
        $line = 'Remove-FalJob -Status Completed -User '
        $users = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $users | Should -Contain 'dave'
        $users | Should -Contain $script:me
        $users | Should -Not -Contain 'carol'
    }

    It 'sums one user''s spend' {
        (Get-FalJob -User carol -Status Completed | Measure-Object EstimatedCostUsd -Sum).Sum | Should -Be 0.56
    }
}

Describe 'Get-FalJobCost -Machine and -User' {
    # Billing events of the other tests' jobs are not this test's.
    BeforeEach { Reset-Emulator }
    AfterEach { Reset-Emulator }

    It 'counts only the piped jobs and the billed requests of the machines and users named' {
        $store = Use-NewJournal 'cost.db'
        $mine = New-KlingVideo -Prompt 'Billed to me' -Duration 5 -GenerateAudio $false | Wait-FalJob
        $theirs = Send-OtherRequest
        Add-OtherJob $store 'build-09' 'erin' $theirs
        Start-Sleep -Milliseconds 200

        $all = Get-FalJobCost -Start (Get-Date).AddHours(-2) -AdminKey 'pester-admin'
        ($all | Where-Object Kind -eq 'Job').RequestId | Sort-Object | Should -Be (@($mine.RequestId, $theirs) | Sort-Object)
        $erin = Get-FalJobCost -Start (Get-Date).AddHours(-2) -AdminKey 'pester-admin' -User erin
        ($erin | Where-Object Kind -eq 'Job').RequestId | Should -Be @($theirs)
        $erin[-1].BilledCostUsd | Should -Be 0.56
        $here = Get-FalJobCost -Start (Get-Date).AddHours(-2) -AdminKey 'pester-admin' -Machine $script:here
        ($here | Where-Object Kind -eq 'Job').RequestId | Should -Be @($mine.RequestId)

        $piped = Get-FalJob | Get-FalJobCost -AdminKey 'pester-admin' -Machine 'BUILD-0?' -NoTotal
        $piped.RequestId | Should -Be @($theirs)
        $piped.BilledCostUsd | Should -Be 0.56
    }
}

Describe 'Remove-FalJob -Machine and -User' {
    It 'says how many of the named user''s jobs -WhatIf would forget, then forgets only those' {
        $store = Use-NewJournal 'prune.db'
        $mine = New-KlingVideo -Prompt 'Kept' -Duration 5 -GenerateAudio $false | Wait-FalJob
        Add-OtherJob $store 'build-10' 'frank' 'old-1'
        Add-OtherJob $store 'build-10' 'frank' 'old-2' 'Failed'
        Add-OtherJob $store 'build-10' 'frank' 'running' 'InProgress'
        Add-OtherJob $store 'build-11' 'grace' 'old-3'

        $whatIf = Invoke-WhatIf { Remove-FalJob -Status Completed, Failed -User frank -WhatIf }
        $whatIf.Lines.Count | Should -Be 1
        $whatIf.Lines[0] | Should -Match '2 job\(s\) with status Completed or Failed by user frank'
        @(Get-FalJob).Count | Should -Be 5

        Remove-FalJob -Status Completed, Failed -User frank -Confirm:$false
        (Get-FalJob).RequestId | Should -Be @($mine.RequestId, 'running', 'old-3')
        $forgotten = Remove-FalJob -Before (Get-Date).AddMinutes(1) -Machine build-11 -PassThru -Confirm:$false
        $forgotten.RequestId | Should -Be @('old-3')
        (Get-FalJob).RequestId | Should -Be @($mine.RequestId, 'running')
    }

    It 'still needs -Before or -Status: -Machine alone forgets nothing' {
        $null = Use-NewJournal 'prune-alone.db'
        $null = New-KlingVideo -Prompt 'Kept too' -Duration 5 -GenerateAudio $false
        { Remove-FalJob -Machine $script:here -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'FalNoJobFilter,FalVideo.PowerShell.Cmdlets.RemoveFalJobCommand'
        @(Get-FalJob).Count | Should -Be 1
    }
}

Describe 'Copy-FalJob keeps whose jobs they are' {
    It 'copies Machine and User from the SQLite store to a journal and back' {
        $store = Use-NewJournal 'copy-from.db'
        $mine = New-KlingVideo -Prompt 'Copied' -Duration 5 -GenerateAudio $false
        Add-OtherJob $store 'build-12' 'heidi' 'copied-other'
        $journal = Join-Path $script:Work 'copy.jsonl'
        $back = Join-Path $script:Work 'copy-back.db'

        (Copy-FalJob -To $journal -Confirm:$false).Copied | Should -Be 2
        (Copy-FalJob -From $journal -To $back -Confirm:$false).Copied | Should -Be 2
        foreach ($path in $journal, $back) {
            Set-FalConfiguration -JournalPath $path
            (Get-FalJob -User heidi).RequestId | Should -Be @('copied-other')
            (Get-FalJob -User heidi).Machine | Should -Be 'build-12'
            (Get-FalJob -Machine $script:here).RequestId | Should -Be @($mine.RequestId)
            (Get-FalJob -Machine $script:here).User | Should -Be $script:me
        }
    }
}

Describe 'Listings of this queue count and offer only its jobs' {
    BeforeAll {
        $script:scoped = Use-NewJournal 'hosts.db'
        # Written ahead with no answer (ambiguous), as each machine's module records it, on this queue or on fal's.
        function Add-AmbiguousJob([string] $Machine, [string] $QueueHost) {
            $job = [FalVideo.Jobs.FalJob]@{
                EndpointId = $script:kling; Model = 'kling-v3-pro'; Mode = 'text-to-video'; Status = 'Unknown'; Prompt = "Lost answer from $Machine"
                DurationSeconds = 5; EstimatedCostUsd = 0.56; SubmittedAt = [DateTimeOffset]::UtcNow.AddHours(-1); QueueHost = $QueueHost
                Machine = $Machine; User = 'carol'
            }
            ([FalVideo.Journal.JobStore]::Open($script:scoped)).Append([FalVideo.Journal.JobJournal]::SubmittingEntry, $job)
        }
        $thisQueue = ([uri]$script:BaseUrl).Authority
        Add-AmbiguousJob 'build-07' $thisQueue
        Add-AmbiguousJob 'build-08' $thisQueue
        Add-AmbiguousJob 'build-08' 'queue.fal.run'
        Add-AmbiguousJob 'build-09' 'queue.fal.run'
    }

    It 'Get-FalJob -Unfinished''s ambiguous warning counts the submissions of this queue (and -Machine/-User), all of them with -AllHosts' {
        $null = Get-FalJob -Unfinished -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match '^2 submission\(s\) are ambiguous'
        $null = Get-FalJob -Unfinished -AllHosts -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match '^4 submission\(s\) are ambiguous'
        $null = Get-FalJob -Unfinished -Machine build-08 -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match '^1 submission\(s\) are ambiguous'
        $null = Get-FalJob -Unfinished -Machine build-09 -WarningVariable w -WarningAction SilentlyContinue
        @($w).Count | Should -Be 0
    }

    It '-RequestId completion offers only the requests of this queue' {
        $job = [FalVideo.Jobs.FalJob]@{
            EndpointId = $script:kling; Model = 'kling-v3-pro'; Mode = 'text-to-video'; Status = 'Completed'; Prompt = 'Made at fal'
            DurationSeconds = 5; EstimatedCostUsd = 0.56; SubmittedAt = [DateTimeOffset]::UtcNow; QueueHost = 'queue.fal.run'; RequestId = 'at-fal-1'
        }
        $opened = [FalVideo.Journal.JobStore]::Open($script:scoped)
        $opened.Append([FalVideo.Journal.JobJournal]::SubmittingEntry, $job)
        $opened.Append('submitted', $job)
        $here = New-KlingVideo -Prompt 'Made here' -Duration 5 -GenerateAudio $false
        $line = 'Wait-FalJob -RequestId '
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @($here.RequestId)
    }
}
