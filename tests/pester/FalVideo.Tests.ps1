# The README's examples end to end, with the real Import-Csv and Export-Csv, against the local fal emulator.
# Run with: dotnet pwsh -NoProfile -File tests/pester/Invoke-FalVideoPester.ps1 (after dotnet build FalVideo.sln -c Release)

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $shared = $script:SharedData
}

AfterAll { Complete-FalTest }

Describe 'Measure-VideoCost' {
    It 'reproduces every published cost case to the cent' {
        $cases = Import-Csv (Join-Path $shared 'cost-cases.csv')
        $estimates = $cases | Measure-VideoCost -NoTotal
        $estimates.Count | Should -Be $cases.Count
        for ($i = 0; $i -lt $cases.Count; $i++) {
            [math]::Round($estimates[$i].EstimatedCostUsd, 2) | Should -Be ([math]::Round([decimal]$cases[$i].ExpectedCostUsd, 2))
        }
    }

    It 'ends with a Total row of the rows the submitters would send (the retired Sora rows are priced but left out)' {
        $all = Import-Csv (Join-Path $shared 'seed-prompts.csv') | Measure-VideoCost
        $all[-1].Kind | Should -Be 'Total'
        ($all | Where-Object Refused).Model | Sort-Object -Unique | Should -Be 'sora-2-pro'
        $all[-1].EstimatedCostUsd | Should -Be (($all | Where-Object { $_.Kind -eq 'Row' -and -not $_.Refused } | Measure-Object EstimatedCostUsd -Sum).Sum)
    }
}

Describe 'New-KlingVideo and New-HailuoVideo' {
    It 'submits nothing with -WhatIf' {
        $before = (Invoke-RestMethod "$script:BaseUrl/_emulator/stats").accepted_submissions
        Import-Csv (Join-Path $shared 'seed-prompts.csv') | Where-Object Model -like 'kling*' | New-KlingVideo -WhatIf
        (Invoke-RestMethod "$script:BaseUrl/_emulator/stats").accepted_submissions | Should -Be $before
    }

    It 'turns a CSV of prompts into videos on disk and a report' {
        $out = Join-Path $script:Work 'out'
        $report = Join-Path $script:Work 'done.csv'
        Import-Csv (Join-Path $shared 'seed-prompts.csv') | Where-Object Model -like 'kling*' |
            New-KlingVideo -Wait | Save-FalVideo -Directory $out | Export-Csv $report -NoTypeInformation
        $rows = Import-Csv $report
        $rows.Count | Should -Be 5
        $rows | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue; $_.RequestId | Should -Not -BeNullOrEmpty; $_.Prompt | Should -Not -BeNullOrEmpty }
    }

    It 'refuses rows of another family with an error naming the row' {
        $errors = $null
        Import-Csv (Join-Path $shared 'seed-prompts.csv') | New-HailuoVideo -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 7
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'FalInvalidInput,*'
        $errors[0].ErrorDetails.Message | Should -Match '^Row 1 \(pottery\): '
        $errors[0].TargetObject.Id | Should -Be 'pottery'
    }

    It 'reports a failed job as FalJobFailed' {
        $errors = $null
        New-HailuoVideo -Prompt 'A kite [emulator:fail]' | Wait-FalJob -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'FalJobFailed,*'
        $errors[0].TargetObject.Status | Should -Be 'Failed'
    }
}

Describe 'The job journal' {
    It 'lists what was submitted and resumes waiting from it' {
        $job = New-KlingVideo -Prompt 'A lamp flickers' -Duration 3
        $found = Get-FalJob -Status InQueue | Where-Object RequestId -eq $job.RequestId
        $found | Should -Not -BeNullOrEmpty
        ($found | Wait-FalJob).Status | Should -Be 'Completed'
    }
}

Describe 'Get-FalModel' {
    It 'lists Sora 2 pro as retired' {
        (Get-FalModel sora-2-pro).Status | Should -Be 'retired'
    }
}
