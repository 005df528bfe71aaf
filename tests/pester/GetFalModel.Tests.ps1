# Get-FalModel: the catalog, and the examples of its help.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
}

AfterAll { Complete-FalTest }

Describe 'Get-FalModel help examples' {
    It 'Example 1: active models with audio and multi-shot that can run 10 seconds' {
        $models = Get-FalModel -Feature audio, multi-shot -ActiveOnly | Where-Object Durations -contains 10
        $models | Should -Not -BeNullOrEmpty
        $models | ForEach-Object { $_.Durations | Should -Contain 10; $_.IsRetired | Should -BeFalse }
        $table = $models | Format-Table Name, Resolution, PriceSummary | Out-String -Width 300
        foreach ($m in $models) { $table | Should -Match ([regex]::Escape($m.Name)) }
    }

    It 'Example 2: checks every model a CSV names; an unknown one is FalModelNotFound, a retired one shows retired' {
        @(
            [pscustomobject]@{ Id = 'a'; Model = 'kling-v3-pro' }
            [pscustomobject]@{ Id = 'b'; Model = 'sora-2-pro' }
            [pscustomobject]@{ Id = 'c'; Model = 'kling-v3-pro' }
            [pscustomobject]@{ Id = 'd'; Model = 'kling-v9-ultra' }
        ) | Export-Csv models.csv
        $errors = $null
        $found = Import-Csv models.csv | Sort-Object Model -Unique | Get-FalModel -ErrorVariable errors -ErrorAction SilentlyContinue | Select-Object Name, Status
        $found.Name | Should -Be @('kling-v3-pro', 'sora-2-pro')
        $found.Status | Should -Be @('active', 'retired')
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalModelNotFound,FalVideo.PowerShell.Cmdlets.GetFalModelCommand'
        $errors[0].TargetObject | Should -Be 'kling-v9-ultra'
    }

    It 'Example 3: finds the model an endpoint id belongs to' {
        $model = Get-FalModel -Name fal-ai/minimax/hailuo-2.3/standard/image-to-video
        $model.Name | Should -Be 'hailuo-2.3-standard'
        $model.EndpointIds | Should -Contain 'fal-ai/minimax/hailuo-2.3/standard/image-to-video'
    }

    It 'Example 4: all Kling models, with every property' {
        $kling = Get-FalModel -Family Kling
        $kling | Should -Not -BeNullOrEmpty
        $kling.Family | Select-Object -Unique | Should -Be 'Kling'
        $kling.Count | Should -Be (Get-FalModel | Where-Object Name -like 'kling*').Count
        (Get-FalModel -Family Kling | Format-List * | Out-String) | Should -Match 'PriceSource'
    }
}

Describe 'Get-FalModel' {
    It 'lists Sora 2 pro as retired, with a note' {
        $sora = Get-FalModel sora-2-pro
        $sora.Status | Should -Be 'retired'
        $sora.RetiredNote | Should -Not -BeNullOrEmpty
        (Get-FalModel -ActiveOnly).Name | Should -Not -Contain 'sora-2-pro'
    }

    It 'an unknown name is a non-terminating FalModelNotFound error' {
        { Get-FalModel -Name 'no-such-model' -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalModelNotFound,FalVideo.PowerShell.Cmdlets.GetFalModelCommand'
    }

    It 'the default table shows name, status, modes and price' {
        $text = Get-FalModel kling-v3-pro, hailuo-2.3-pro | Out-String -Width 300
        $text | Should -Match 'kling-v3-pro\s+active'
        $text | Should -Match '\$0\.49/video'
    }
}
