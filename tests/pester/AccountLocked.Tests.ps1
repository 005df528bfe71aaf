# A locked fal account (HTTP 403 "User is locked. Reason: Exhausted balance"): its own error id with the top-up hint,
# the batch stops at the first refusal, and the refused row is recorded as rejected (nothing billed).

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
}

AfterAll { Complete-FalTest }

Describe 'A locked account' {
    BeforeEach { Reset-Emulator }
    AfterEach { $null = Invoke-RestMethod -Method Delete "$script:BaseUrl/_emulator/faults" }

    It 'gets FalAccountLocked with the top-up hint, not the key hint, and stops the batch' {
        $journal = Use-NewJournal 'locked.jsonl'
        Add-EmulatorFault @{ route = 'submit'; action = 'locked-account'; times = 100 }
        $rows = 1..5 | ForEach-Object { [pscustomobject]@{ Id = "row$_"; Prompt = "locked row $_" } }
        $terminating = $null
        try { $rows | New-KlingVideo -ThrottleLimit 1 -ErrorVariable rowErrors -ErrorAction SilentlyContinue } catch { $terminating = $_ }

        $rowErrors[0].FullyQualifiedErrorId | Should -Be 'FalAccountLocked,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $rowErrors[0].CategoryInfo.Category | Should -Be 'QuotaExceeded'
        $rowErrors[0].Exception.Message | Should -Match 'User is locked\. Reason: Exhausted balance'
        $rowErrors[0].Exception.Message | Should -Match 'Top up the balance at https://fal\.ai/dashboard/billing'
        $rowErrors[0].Exception.Message | Should -Not -Match 'check the fal\.ai API key'

        $terminating | Should -Not -BeNullOrEmpty
        $terminating.FullyQualifiedErrorId | Should -Be 'FalAccountLocked,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $terminating.Exception.Message | Should -Match 'The batch was stopped: the fal account is locked'

        # One row at a time: the first refusal stopped the rest before they were sent.
        (Get-EmulatorRequestCount 'submit') | Should -Be 1
        (Get-EmulatorStats).accepted_submissions | Should -Be 0
        $recorded = @(Get-FalJob)
        $recorded.Count | Should -Be 1
        $recorded[0].Id | Should -Be 'row1'
        $recorded[0].Status | Should -Be 'Rejected'
    }

    It 'is told apart from a refused key, which keeps FalUnauthorized and the key hint' {
        Add-EmulatorFault @{ route = 'submit'; status = 403; body = '{"detail": "Invalid key"}' }
        New-KlingVideo 'a refused key' -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'FalUnauthorized,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $e[0].Exception.Message | Should -Match 'check the fal\.ai API key'
    }

    It 'refuses an upload with FalAccountLocked too' {
        $null = New-TestImage 'locked.png'
        Add-EmulatorFault @{ route = 'upload-initiate'; action = 'locked-account' }
        $stop = $null
        try { New-KlingVideo 'from an image' -StartImage ./locked.png -ErrorVariable e -ErrorAction SilentlyContinue } catch { $stop = $_ }
        $e[0].FullyQualifiedErrorId | Should -Be 'FalAccountLocked,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $stop.FullyQualifiedErrorId | Should -Be 'FalAccountLocked,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        (Get-EmulatorStats).accepted_submissions | Should -Be 0
    }
}
