# What jobs really cost: x-fal-billable-units on the job, Measure-VideoCost over jobs, Get-FalJobCost against the
# emulator's billing events (admin key), and Compare-FalPrice with the price override file it writes.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest -EmulatorArguments @('--admin-key', 'pester-admin')
    $kling = 'fal-ai/kling-video/v3/pro/text-to-video'

    function Set-EmulatorPrice([string] $EndpointId, $UnitPrice, [string] $Unit = 'second') {
        $body = @{ endpoint_id = $EndpointId; unit_price = $UnitPrice; unit = $Unit } | ConvertTo-Json
        $null = Invoke-RestMethod -Method Post "$script:BaseUrl/_emulator/prices" -ContentType 'application/json' -Body $body
    }
}

AfterAll { Complete-FalTest }

Describe 'x-fal-billable-units' {
    It 'is kept on a completed job and in the job store when fal sends it, and left empty when it does not' {
        $null = Use-NewJournal 'units.jsonl'
        $seven = New-KlingVideo -Prompt 'A lighthouse at dusk' -Duration 7 -GenerateAudio $false -Wait
        $flat = New-HailuoVideo -Model hailuo-2.3-pro -Prompt 'A lighthouse at dusk' -Wait

        $seven.BillableUnits | Should -Be 7
        $flat.BillableUnits | Should -BeNullOrEmpty
        $stored = Get-FalJob | Where-Object RequestId -eq $seven.RequestId
        $stored.BillableUnits | Should -Be 7
        (Get-FalJob | Where-Object RequestId -eq $flat.RequestId).BillableUnits | Should -BeNullOrEmpty
        ($seven | Format-Table | Out-String -Width 200) | Should -Match '7 u'
    }
}

Describe 'Get-FalJob | Measure-VideoCost counts only what was billed' {
    AfterEach { Reset-Emulator }

    It 'leaves out failed, rejected, cancelled-in-queue and unfinished jobs, and prefers billed units over the estimate' {
        $null = Use-NewJournal 'measure.jsonl'
        $done = New-KlingVideo -Prompt 'Billed by the second' -Duration 7 -GenerateAudio $false -Wait          # 7 s x $0.112 = 0.784
        $flat = New-HailuoVideo -Model hailuo-2.3-pro -Prompt 'Billed flat' -Wait                                # $0.49, no header
        $failed = New-KlingVideo -Prompt 'A broken one [emulator:fail]' -Duration 5 -Wait -ErrorAction SilentlyContinue
        $running = 1..2 | ForEach-Object { New-KlingVideo -Prompt "Long $_ [emulator:seconds=60]" -Duration 5 }
        $queued = New-KlingVideo -Prompt 'Cancelled while queued [emulator:seconds=60]' -Duration 5
        $cancelled = $queued | Stop-FalJob -PassThru -Confirm:$false
        $cancelled.Status | Should -Be 'Cancelled'
        $rejected = [FalVideo.Jobs.FalJob]@{ EndpointId = $kling; Model = 'kling-v3-pro'; Status = 'Rejected'; EstimatedCostUsd = 0.84; QueueHost = ([uri]$script:BaseUrl).Authority }

        $jobs = @(Get-FalJob) + $rejected
        $jobs.Status | Should -Contain 'Failed'
        $measured = $jobs | Measure-VideoCost
        $total = $measured[-1]
        $rows = $measured | Where-Object Kind -eq 'Job'

        ($rows | Where-Object Id -eq $done.RequestId).CostUsd | Should -Be 0.784
        ($rows | Where-Object Id -eq $done.RequestId).CostBasis | Should -Be 'billable units'
        ($rows | Where-Object Id -eq $flat.RequestId).CostUsd | Should -Be 0.49
        ($rows | Where-Object Id -eq $flat.RequestId).CostBasis | Should -Be 'estimate'
        ($rows | Where-Object { $_.Note -like 'Failed*' }).CostUsd | Should -Be 0
        ($rows | Where-Object { $_.Note -like 'Rejected*' }).CostUsd | Should -Be 0
        ($rows | Where-Object Id -eq $cancelled.RequestId).CostBasis | Should -Be 'not billed'
        ($rows | Where-Object { $_.Note -like 'In*' }).CostBasis | Select-Object -Unique | Should -Be 'not billed'

        $total.Kind | Should -Be 'Total'
        $total.CostUsd | Should -Be 1.274
        $total.EstimatedCostUsd | Should -Be 1.274
        $total.BilledCostUsd | Should -Be 0.784
        $total.Note | Should -Match '2 billed job\(s\): 1 from billed units, 1 from the estimate; 5 not billed'
    }
}

Describe 'Get-FalJobCost' {
    AfterEach { Reset-Emulator; [Environment]::SetEnvironmentVariable('FAL_ADMIN_KEY', $null) }

    It 'shows the billed amount beside the estimate per job and in total, with the admin key from -AdminKey' {
        $null = Use-NewJournal 'billing.jsonl'
        $jobs = @(
            New-KlingVideo -Prompt 'Seven seconds' -Duration 7 -GenerateAudio $false
            New-KlingVideo -Prompt 'With audio' -Duration 5 -GenerateAudio $true
            New-HailuoVideo -Model hailuo-2.3-pro -Prompt 'Flat'
            New-KlingVideo -Prompt 'A broken one [emulator:fail]' -Duration 5
        ) | Wait-FalJob -ErrorAction SilentlyContinue
        $verbose = $null
        $costs = Get-FalJob | Get-FalJobCost -AdminKey 'pester-admin' -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = $all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }

        $rows = $costs | Where-Object Kind -eq 'Job'
        $rows.Count | Should -Be 4
        $byPrompt = @{}; Get-FalJob | ForEach-Object { $byPrompt[$_.Prompt] = $_.RequestId }
        $seven = $rows | Where-Object RequestId -eq $byPrompt['Seven seconds']
        $seven.BilledCostUsd | Should -Be 0.784
        $seven.EstimatedCostUsd | Should -Be 0.784
        $seven.BilledUnits | Should -Be 7
        ($rows | Where-Object RequestId -eq $byPrompt['With audio']).BilledCostUsd | Should -Be 0.84
        ($rows | Where-Object RequestId -eq $byPrompt['Flat']).BilledCostUsd | Should -Be 0.49
        $broken = $rows | Where-Object RequestId -eq $byPrompt['A broken one [emulator:fail]']
        $broken.BilledCostUsd | Should -BeNullOrEmpty
        $broken.Note | Should -Match 'fal does not bill server errors'

        $total = $costs[-1]
        $total.Kind | Should -Be 'Total'
        $total.BilledCostUsd | Should -Be 2.114
        $total.EstimatedCostUsd | Should -Be 2.114
        $total.Note | Should -Be '3 of 4 job(s) billed; 1 without a billing event are not in the totals'
        ($verbose | Out-String) | Should -Not -Match 'pester-admin'
        ($verbose | Out-String) | Should -Match 'billing-events'
    }

    It 'takes the admin key from FAL_ADMIN_KEY, and an ordinary key is refused as fal refuses it' {
        $job = New-KlingVideo -Prompt 'One' -Duration 5 -GenerateAudio $false -Wait
        { $job | Get-FalJobCost -ErrorAction Stop } | Should -Throw -ErrorId 'FalUnauthorized,FalVideo.PowerShell.Cmdlets.GetFalJobCostCommand'
        [Environment]::SetEnvironmentVariable('FAL_ADMIN_KEY', 'pester-admin')
        ($job | Get-FalJobCost -NoTotal).BilledCostUsd | Should -Be 0.56
    }

    It 'lists every billed request of a date range, with the estimates the store knows' {
        $null = Use-NewJournal 'range.jsonl'
        $jobs = 1..3 | ForEach-Object { New-KlingVideo -Prompt "Range $_" -Duration 5 -GenerateAudio $false } | Wait-FalJob
        $null = Invoke-RestMethod -Method Post "$script:BaseUrl/fal-ai/kling-video/v3/pro/text-to-video" -Headers @{ Authorization = 'Key pester-key' } -ContentType 'application/json' -Body '{"prompt": "Sent by another tool", "duration": "3", "generate_audio": false}'
        Start-Sleep -Milliseconds 200

        $costs = Get-FalJobCost -Start (Get-Date).AddHours(-2) -AdminKey 'pester-admin'
        $rows = $costs | Where-Object Kind -eq 'Job'
        $rows.Count | Should -Be 4
        ($rows | Where-Object RequestId -in $jobs.RequestId).EstimatedCostUsd | Should -Be @(0.56, 0.56, 0.56)
        ($rows | Where-Object RequestId -notin $jobs.RequestId).Note | Should -Match 'not in the job store'
        $costs[-1].BilledCostUsd | Should -Be (3 * 0.56 + 3 * 0.112)
    }
}

Describe 'Compare-FalPrice and the price override file' {
    AfterEach { Reset-Emulator; Set-FalConfiguration -Reset; Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal }

    It 'confirms the catalog when fal agrees' {
        $compared = Compare-FalPrice
        ($compared | Where-Object Status -eq 'Confirmed').Count | Should -BeGreaterThan 10
        $compared.Status | Should -Not -Contain 'Changed'
        $compared.Status | Should -Not -Contain 'NotConfirmed'
        ($compared | Where-Object EndpointId -eq $kling).FalUnitPriceUsd | Should -Be 0.112
    }

    It 'reports changed, unconfirmed and new prices, and writes an override file that applies only when asked' {
        Set-EmulatorPrice $kling 0.15
        Set-EmulatorPrice 'fal-ai/kling-video/v3/pro/image-to-video' 0.15
        Set-EmulatorPrice 'fal-ai/minimax/hailuo-2.3/pro/image-to-video' $null
        Set-EmulatorPrice 'fal-ai/kling-video/o3/pro/text-to-video' 0.224
        Set-EmulatorPrice 'fal-ai/kling-video/v9/pro/text-to-video' 0.14

        $compared = Compare-FalPrice -OutFile ./fal-prices.json
        ($compared | Where-Object EndpointId -eq $kling).Status | Should -Be 'Changed'
        ($compared | Where-Object EndpointId -eq 'fal-ai/minimax/hailuo-2.3/pro/image-to-video').Status | Should -Be 'NotConfirmed'
        ($compared | Where-Object EndpointId -eq 'fal-ai/kling-video/o3/pro/text-to-video').Status | Should -Be 'New'
        ($compared | Where-Object EndpointId -eq 'fal-ai/kling-video/v9/pro/text-to-video').Status | Should -Be 'NotInCatalog'
        Test-Path ./fal-prices.json | Should -BeTrue
        $file = Get-Content ./fal-prices.json -Raw | ConvertFrom-Json
        @($file.PSObject.Properties.Name | Sort-Object) | Should -Be @('kling-o3-pro', 'kling-v3-pro')
        ($file.'kling-v3-pro'.prices | Where-Object { $_.when.audio -eq $false -and $null -eq $_.when.elements }).usdPerSecond | Should -Be 0.15

        # Written, not applied: the estimate still uses the shipped catalog.
        (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $false -NoTotal).EstimatedCostUsd | Should -Be 1.12

        Set-FalConfiguration -PriceOverridePath ./fal-prices.json
        $estimate = Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $false -NoTotal
        $estimate.EstimatedCostUsd | Should -Be 1.50
        $estimate.PriceSource | Should -Match 'fal pricing API'
        (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $true -NoTotal).EstimatedCostUsd | Should -Be 1.68
        (Measure-VideoCost -Model kling-o3-pro -Duration 5 -NoTotal).EstimatedCostUsd | Should -Be 1.12
    }

    It '-WhatIf writes nothing, and fal agreeing everywhere writes no file' {
        Set-EmulatorPrice $kling 0.2
        $null = Compare-FalPrice -Model kling-v3-pro -OutFile ./whatif.json -WhatIf
        Test-Path ./whatif.json | Should -BeFalse
        Reset-Emulator
        $null = Compare-FalPrice -Model kling-v3-pro -OutFile ./same.json -WarningVariable warned -WarningAction SilentlyContinue
        Test-Path ./same.json | Should -BeFalse
        $warned | Should -Match 'no price override file was written'
    }

    It 'a bad override file is refused with the file and the line' {
        Set-Content ./broken-line.json -Value @('{', '  "kling-v3-pro": {', '    "prices": [ { "usdPerSecond": 0.2, } ] oops', '  }', '}')
        Set-FalConfiguration -PriceOverridePath ./broken-line.json -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad[0].FullyQualifiedErrorId | Should -Be 'FalPriceOverrideInvalid,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand'
        $bad[0].Exception.Message | Should -Match 'broken-line\.json is not valid at line 3'

        Set-Content ./unknown-model.json -Value @('{', '  "kling-v3-pro": { "prices": [] },', '  "kling-v9-ultra": { "prices": [] }', '}')
        Set-FalConfiguration -PriceOverridePath ./unknown-model.json -ErrorVariable unknown -ErrorAction SilentlyContinue
        $unknown[0].Exception.Message | Should -Match "unknown-model\.json names 'kling-v9-ultra' at line 3"
        (Get-FalConfiguration).PriceOverridePath | Should -BeNullOrEmpty
    }
}

Describe 'README: Estimate vs billed cost' {
    AfterEach { Reset-Emulator }

    It 'runs the section as written: four jobs, Measure-VideoCost and Get-FalJobCost agree on 2.114, Compare-FalPrice confirms' {
        $null = Use-NewJournal 'readme-billing.jsonl'
        $null = @(
            New-KlingVideo -Prompt 'A lighthouse at dusk' -Duration 7 -GenerateAudio $false
            New-KlingVideo -Prompt 'Waves on rocks' -Duration 5 -GenerateAudio $true
            New-HailuoVideo -Model hailuo-2.3-pro -Prompt 'A fox in snow'
            New-KlingVideo -Prompt 'A broken one [emulator:fail]' -Duration 5
        ) | Wait-FalJob -ErrorAction SilentlyContinue
        $adminKey = 'pester-admin'

        $measured = Get-FalJob | Measure-VideoCost
        $measured[-1].CostUsd | Should -Be 2.114
        ($measured | Where-Object Kind -eq 'Job').CostBasis | Should -Be @('billable units', 'billable units', 'estimate', 'not billed')
        $billed = Get-FalJob | Get-FalJobCost -AdminKey $adminKey
        $billed[-1].BilledCostUsd | Should -Be 2.114
        $billed[-1].EstimatedCostUsd | Should -Be 2.114

        (Compare-FalPrice | Where-Object Status -ne Confirmed).Status | Should -Not -Contain 'Changed'
        Remove-Item ./fal-prices.json -ErrorAction Ignore   # an earlier test of this file wrote one
        $null = Compare-FalPrice -OutFile ./fal-prices.json -WarningAction SilentlyContinue
        Test-Path ./fal-prices.json | Should -BeFalse   # fal (the emulator) confirms every catalog price: nothing to override
    }
}
