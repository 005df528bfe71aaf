# Measure-VideoCost: the published cost cases to the cent, and the examples of its help.

BeforeDiscovery {
    # -ForEach makes variables of hashtable keys only, so each CSV row becomes a hashtable (the row itself is kept as Row).
    $costCases = Import-Csv (Join-Path $PSScriptRoot '../../../shared/data/cost-cases.csv') | ForEach-Object {
        $case = @{ Row = $_ }
        foreach ($p in $_.PSObject.Properties) { $case[$p.Name] = $p.Value }
        $case
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-PromptsCsv
}

AfterAll { Complete-FalTest }

Describe 'Measure-VideoCost against cost-cases.csv' {
    It '<Model> <Mode> <Duration> s, audio <GenerateAudio>, elements <Elements>, resolution <Resolution>, quantity <Quantity> costs <ExpectedCostUsd> USD' -ForEach $costCases {
        $estimate = $Row | Measure-VideoCost -NoTotal
        @($estimate).Count | Should -Be 1
        $estimate.Model | Should -Be $Model
        [math]::Round($estimate.EstimatedCostUsd, 2) | Should -Be ([math]::Round([decimal]$ExpectedCostUsd, 2))
    }
}

Describe 'Measure-VideoCost help examples' {
    It 'Example 1: prices a CSV batch, one estimate per row and a Total, the same estimates -WhatIf shows' {
        $estimates = Import-Csv prompts.csv | Measure-VideoCost
        $rows = Import-Csv prompts.csv
        ($estimates | Where-Object Kind -eq 'Row').Count | Should -Be $rows.Count
        $estimates[-1].Kind | Should -Be 'Total'
        $kling = Import-Csv prompts.csv | Where-Object Model -like 'kling*'
        $lines = (Invoke-WhatIf { $kling | New-KlingVideo -WhatIf }).Lines
        for ($i = 0; $i -lt $kling.Count; $i++) {
            $expected = ($estimates | Where-Object Id -eq $kling[$i].Id).EstimatedCostUsd
            # -WhatIf shows the estimate to two decimals, as the cost table does.
            $lines[$i] | Should -Match ("estimated {0} USD" -f [regex]::Escape(([decimal]$expected).ToString('0.00', [cultureinfo]::InvariantCulture)))
        }
    }

    It 'Example 2: compares models for the same 10-second clip, cheapest first' {
        $compared = 'kling-v3-pro', 'kling-v3-standard', 'hailuo-2.3-standard' |
            ForEach-Object { [pscustomobject]@{ Model = $_; Duration = 10; GenerateAudio = 'false' } } |
            Measure-VideoCost -NoTotal | Sort-Object EstimatedCostUsd
        $compared.Count | Should -Be 3
        $compared.Model | Should -Be @('hailuo-2.3-standard', 'kling-v3-standard', 'kling-v3-pro')
        $compared.EstimatedCostUsd | Should -Be @(0.56, 0.84, 1.12)
        $compared.DurationSeconds | Should -Be @(10, 10, 10)
        ($compared | Format-Table Model, DurationSeconds, UnitPriceUsd, EstimatedCostUsd | Out-String) | Should -Match 'kling-v3-standard'
    }

    It 'Example 3: writes estimate.csv for the finance team, without a Total row' {
        Import-Csv prompts.csv | Measure-VideoCost -NoTotal | Export-Csv estimate.csv
        $report = Import-Csv estimate.csv
        $report.Count | Should -Be (Import-Csv prompts.csv).Count
        $report.Kind | Should -Not -Contain 'Total'
        ($report | Measure-Object { [decimal]$_.EstimatedCostUsd } -Sum).Sum | Should -Be (Import-Csv prompts.csv | Measure-VideoCost)[-1].EstimatedCostUsd
    }

    It 'Example 4: sums what the finished jobs in the journal cost' {
        $null = Use-NewJournal 'costs.jsonl'
        $jobs = Import-Csv prompts.csv | Where-Object Model -like 'kling*' | New-KlingVideo -Wait
        $total = Get-FalJob | Measure-VideoCost | Select-Object -Last 1
        $total.Kind | Should -Be 'Total'
        $total.EstimatedCostUsd | Should -Be (($jobs | Measure-Object EstimatedCostUsd -Sum).Sum)
        # The emulator bills from the same catalog, so billed units x unit price equal the estimates.
        $total.CostUsd | Should -Be $total.EstimatedCostUsd
        $total.CostBasis | Should -Be 'billable units'
    }
}

Describe 'Measure-VideoCost errors' {
    It 'an unknown model is a non-terminating FalInvalidInput error naming the row; the other rows are priced' {
        $rows = @(
            [pscustomobject]@{ Id = 'good'; Model = 'kling-v3-pro'; Duration = '5'; GenerateAudio = 'false' }
            [pscustomobject]@{ Id = 'bad'; Model = 'no-such-model'; Duration = '5' }
            [pscustomobject]@{ Id = 'also-good'; Model = 'hailuo-2.3-pro' }
        )
        $errors = $null
        $estimates = $rows | Measure-VideoCost -NoTotal -ErrorVariable errors -ErrorAction SilentlyContinue
        $estimates.Id | Should -Be @('good', 'also-good')
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.MeasureVideoCostCommand'
        $errors[0].TargetObject.Id | Should -Be 'bad'
        $errors[0].ErrorDetails.Message | Should -Match 'no-such-model'
    }

    It 'a duration the model does not offer is priced with a caveat, marked as refused and left out of the Total' {
        $kling = Measure-VideoCost -Model kling-v3-pro -Duration 20 -GenerateAudio $false
        $kling[0].EstimatedCostUsd | Should -Be 2.24
        $kling[0].Note | Should -Match '20 s is not offered by kling-v3-pro'
        $kling[0].Refused | Should -BeTrue
        $kling[0].RefusedReason | Should -Match '^Input: Duration 20 is not allowed for kling-v3-pro'
        $kling[-1].EstimatedCostUsd | Should -Be 0
        $hailuo = Measure-VideoCost -Model hailuo-2.3-standard -Duration 7
        $hailuo[0].EstimatedCostUsd | Should -BeNullOrEmpty
        $hailuo[-1].Note | Should -Match 'excludes 1 row\(s\) the submitters would refuse'
    }

    It 'a bad cell (a Duration that is no number) is a FalInvalidInput error naming the row' {
        $errors = $null
        [pscustomobject]@{ Id = 'odd'; Model = 'kling-v3-pro'; Duration = 'five' } | Measure-VideoCost -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.MeasureVideoCostCommand'
        $errors[0].ErrorDetails.Message | Should -Match '^Row 1 \(odd\): '
        $errors[0].TargetObject.Id | Should -Be 'odd'
    }
}
