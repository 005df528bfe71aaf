# Every PowerShell example of README.md, run as written (files it names are created in the temp folder first).

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
}

AfterAll { Complete-FalTest }

Describe 'README: the first screen' {
    BeforeAll { $null = New-PromptsCsv -Family kling }

    It 'prices prompts.csv: one estimate per row and a Total' {
        $rows = Import-Csv prompts.csv
        $estimates = Import-Csv prompts.csv | Measure-VideoCost
        $estimates.Count | Should -Be ($rows.Count + 1)
        $estimates[-1].Kind | Should -Be 'Total'
        $estimates[0].Model | Should -Be $rows[0].Model
        $estimates[-1].EstimatedCostUsd | Should -Be (($estimates | Select-Object -SkipLast 1 | Measure-Object EstimatedCostUsd -Sum).Sum)
    }

    It 'turns prompts.csv into videos in ./out and done.csv' {
        Import-Csv prompts.csv | New-KlingVideo -Wait | Save-FalVideo -Directory ./out | Export-Csv done.csv
        $done = Import-Csv done.csv
        $done.Count | Should -Be (Import-Csv prompts.csv).Count
        foreach ($row in $done) {
            $row.Path | Should -BeLike (Join-Path $script:Work 'out*')
            (Get-Item -LiteralPath $row.Path).Length | Should -Be ([long]$row.Size)
            [long]$row.Size | Should -BeGreaterThan 1000
        }
        ($done.Id | Sort-Object) | Should -Be ((Import-Csv prompts.csv).Id | Sort-Object)
    }

    It 'resumes the unfinished jobs of the journal after a crash' {
        $journal = Use-NewJournal 'crash.jsonl'
        $submitted = 'one', 'two' | ForEach-Object { New-KlingVideo -Prompt "Resume $_ [emulator:seconds=1]" -Duration 3 }
        $submitted.Status | Should -Not -Contain 'Completed'
        $null = New-Item -ItemType Directory ./crash-resume -Force
        Push-Location ./crash-resume
        try { $resumed = Get-FalJob -Unfinished | Wait-FalJob | Save-FalVideo }
        finally { Pop-Location }
        ($resumed.RequestId | Sort-Object) | Should -Be ($submitted.RequestId | Sort-Object)
        $resumed | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue }
        (Get-FalJob -Unfinished) | Should -BeNullOrEmpty
        Test-Path $journal | Should -BeTrue
    }
}

Describe 'README: quick start against the emulator' {
    It 'Measure-VideoCost prices every seed row, Sora included' {
        $seed = Get-SharedCsv seed-prompts.csv
        $estimates = Import-Csv (Join-Path $script:SharedData 'seed-prompts.csv') | Measure-VideoCost
        ($estimates | Where-Object Kind -eq 'Row').Count | Should -Be $seed.Count
        ($estimates | Where-Object Model -like 'sora*').Count | Should -Be ($seed | Where-Object Model -like 'sora*').Count
    }

    It 'New-KlingVideo -WhatIf shows the Kling rows, refuses the others and sends nothing' {
        $seed = Get-SharedCsv seed-prompts.csv
        $before = Get-EmulatorStats
        $whatIf = Invoke-WhatIf { Import-Csv (Join-Path $script:SharedData 'seed-prompts.csv') | New-KlingVideo -WhatIf }
        $whatIf.Lines.Count | Should -Be ($seed | Where-Object Model -like 'kling*').Count
        $whatIf.Errors.Count | Should -Be ($seed | Where-Object Model -notlike 'kling*').Count
        $whatIf.Errors.FullyQualifiedErrorId | Select-Object -Unique | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        (Get-EmulatorStats).accepted_submissions | Should -Be $before.accepted_submissions
    }

    It 'the Kling rows of the seed CSV become MP4 files in ./out' {
        $files = Import-Csv (Join-Path $script:SharedData 'seed-prompts.csv') | Where-Object Model -like 'kling*' | New-KlingVideo -Wait | Save-FalVideo -Directory ./quick
        $files.Count | Should -Be (Get-SharedCsv seed-prompts.csv | Where-Object Model -like 'kling*').Count
        $files | ForEach-Object { $_.File.Extension | Should -Be '.mp4'; [System.IO.File]::ReadAllBytes($_.Path)[4..7] | Should -Be ([byte[]][char[]]'ftyp') }
    }

    It 'FALVIDEO_BASE_URL alone points the module at the emulator, and Set-FalConfiguration -BaseUrl does the same for one session' {
        Set-FalConfiguration -Reset
        (Get-FalConfiguration).QueueUrl | Should -Be "$script:BaseUrl/"
        $env:FALVIDEO_BASE_URL = 'http://127.0.0.1:8787'
        try {
            (Get-FalConfiguration).QueueUrl | Should -Be 'http://127.0.0.1:8787/'
            Set-FalConfiguration -BaseUrl $script:BaseUrl
            (Get-FalConfiguration).QueueUrl | Should -Be "$script:BaseUrl/"
            (Get-FalConfiguration).RestUrl | Should -Be "$script:BaseUrl/"
        }
        finally { $env:FALVIDEO_BASE_URL = $script:BaseUrl }
    }
}

Describe 'README: the same with a real fal key' {
    BeforeAll { $null = New-PromptsCsv -Family kling }

    It 'estimates and -WhatIf need no network: nothing reaches fal' {
        Set-FalConfiguration -Reset
        Remove-Item Env:FALVIDEO_BASE_URL -ErrorAction Ignore
        $env:FAL_KEY = '<your fal key>'
        try {
            (Get-FalConfiguration).QueueUrl | Should -Be 'https://queue.fal.run/'
            $estimates = Import-Csv prompts.csv | Measure-VideoCost
            $estimates[-1].Kind | Should -Be 'Total'
            $lines = (Invoke-WhatIf { Import-Csv prompts.csv | New-KlingVideo -WhatIf }).Lines
            $lines.Count | Should -Be (Import-Csv prompts.csv).Count
            $lines[0] | Should -Match 'estimated [0-9.]+ USD'
        }
        finally {
            $env:FALVIDEO_BASE_URL = $script:BaseUrl; $env:FAL_KEY = 'pester-key'
            Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
        }
    }

    It 'takes the key from -ApiKey, then the session, then FAL_KEY, then FAL_KEY_ID + FAL_KEY_SECRET' {
        Set-FalConfiguration -Reset
        try {
            (Get-FalConfiguration).ApiKeySource | Should -Be 'FAL_KEY'
            Remove-Item Env:FAL_KEY
            $env:FAL_KEY_ID = 'id'; $env:FAL_KEY_SECRET = 'secret'
            (Get-FalConfiguration).ApiKeySource | Should -BeLike '*FAL_KEY_ID*'
            Set-FalConfiguration -ApiKey (ConvertTo-SecureString 'session-key' -AsPlainText -Force)
            (Get-FalConfiguration).ApiKeySource | Should -Be 'Session'
            (New-KlingVideo -Prompt 'A key on the command line' -Duration 3 -ApiKey 'explicit-key').RequestId | Should -Not -BeNullOrEmpty
        }
        finally {
            Remove-Item Env:FAL_KEY_ID, Env:FAL_KEY_SECRET -ErrorAction Ignore
            $env:FAL_KEY = 'pester-key'
            Set-FalConfiguration -Reset
            Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
        }
    }

    It 'a missing key is one terminating error before anything is sent' {
        Set-FalConfiguration -Reset
        Remove-Item Env:FAL_KEY
        $before = (Get-EmulatorStats).requests
        try {
            $err = { Import-Csv prompts.csv | New-KlingVideo -ErrorAction Stop } |
                Should -Throw -ErrorId 'FalMissingKey,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand' -PassThru
            $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
            # Names where a key can come from, the cmdlet's own parameter and the session setting first.
            $err.Exception.Message | Should -Match '-ApiKey.*Set-FalConfiguration -ApiKey.*FAL_KEY'
            (Get-EmulatorStats).requests | Should -Be ($before + 1)   # only this check's own stats call
        }
        finally {
            $env:FAL_KEY = 'pester-key'
            Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
        }
    }

    It 'refuses a plain http:// base URL that is not loopback' {
        Set-FalConfiguration -BaseUrl $script:BaseUrl -RequestTimeout 45
        { Set-FalConfiguration -BaseUrl 'http://fal.example.com' -RequestTimeout 50 -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalConfiguration,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand'
        # Nothing of a refused call is kept, so later calls are not broken by it.
        (Get-FalConfiguration).QueueUrl | Should -Be "$script:BaseUrl/"
        (Get-FalConfiguration).RequestTimeoutSeconds | Should -Be 45
        (New-KlingVideo -Prompt 'sent to the emulator' -ErrorAction Stop).RequestId | Should -Not -BeNullOrEmpty
        Set-FalConfiguration -Reset
        Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
    }
}

Describe 'README: every model, multi-shot, elements, routing' {
    It 'Get-FalModel lists every model with endpoints, modes, durations, price rule, source and status' {
        $models = Get-FalModel
        $models.Count | Should -BeGreaterOrEqual 16
        $models.Name | Should -Contain 'kling-v3-pro'
        $models.Name | Should -Contain 'hailuo-2.3-pro'
        foreach ($m in $models) {
            $m.EndpointIds | Should -Not -BeNullOrEmpty
            $m.Modes | Should -Not -BeNullOrEmpty
            $m.PriceSummary | Should -Not -BeNullOrEmpty
            $m.PriceSource | Should -Not -BeNullOrEmpty
            $m.Status | Should -BeIn 'active', 'retired'
        }
    }

    It 'Get-FalModel -Feature multi-shot, audio -ActiveOnly keeps only active models with both features' {
        $models = Get-FalModel -Feature multi-shot, audio -ActiveOnly
        $models | Should -Not -BeNullOrEmpty
        $models | ForEach-Object { $_.Features | Should -Contain 'multi-shot'; $_.Features | Should -Contain 'audio'; $_.Status | Should -Be 'active' }
        $all = Get-FalModel | Where-Object { $_.Status -eq 'active' -and $_.Features -contains 'multi-shot' -and $_.Features -contains 'audio' }
        ($models.Name | Sort-Object) | Should -Be ($all.Name | Sort-Object)
    }

    It 'seed-shots.csv grouped by Id makes one multi-shot request per Id' {
        $ids = (Get-SharedCsv seed-shots.csv).Id | Sort-Object -Unique
        $lines = (Invoke-WhatIf { Import-Csv (Join-Path $script:SharedData 'seed-shots.csv') | Group-Object Id | New-KlingVideo -WhatIf }).Lines
        $lines.Count | Should -Be $ids.Count
        $submitted = Import-Csv (Join-Path $script:SharedData 'seed-shots.csv') | Group-Object Id | New-KlingVideo
        ($submitted.Id | Sort-Object) | Should -Be $ids
        foreach ($job in $submitted) {
            $shots = Get-SharedCsv seed-shots.csv | Where-Object Id -eq $job.Id
            ($job.Input | ConvertFrom-Json).multi_prompt.Count | Should -Be $shots.Count
            $job.DurationSeconds | Should -Be (($shots | Measure-Object Duration -Sum).Sum)
        }
    }

    It 'New-KlingVideo with a start image and an element uploads the four local files' {
        'hall.png', 'face.png', 'side.png', 'back.png' | ForEach-Object { $null = New-TestImage $_ }
        $uploads = (Get-EmulatorStats).uploads
        $job = New-KlingVideo -Prompt '@Element1 opens the door' -StartImage ./hall.png `
            -Element ([pscustomobject]@{ FrontalImage = './face.png'; ReferenceImages = './side.png;./back.png' })
        $job.Mode | Should -Be 'image-to-video'
        $job.EndpointId | Should -Be 'fal-ai/kling-video/v3/pro/image-to-video'
        (Get-EmulatorStats).uploads | Should -Be ($uploads + 4)
        $sent = $job.Input | ConvertFrom-Json
        $sent.start_image_url | Should -BeLike "$script:BaseUrl/cdn/uploads/*"
        $sent.elements[0].reference_image_urls.Count | Should -Be 2
        ($job | Wait-FalJob).Status | Should -Be 'Completed'
    }

    It 'New-KlingMotionVideo moves ./dancer.png like ./moves.mp4' {
        $null = New-TestImage 'dancer.png'; $null = New-TestVideo 'moves.mp4'
        $uploads = (Get-EmulatorStats).uploads
        $job = New-KlingMotionVideo -Image ./dancer.png -MotionVideo ./moves.mp4 -CharacterOrientation video
        (Get-EmulatorStats).uploads | Should -Be ($uploads + 2)
        $job.Mode | Should -Be 'motion-control'
        ($job.Input | ConvertFrom-Json).character_orientation | Should -Be 'video'
        ($job | Wait-FalJob).Status | Should -Be 'Completed'
    }

    It 'New-FalVideo -WhatIf sends each seed row to its Model and refuses the Sora rows as retired' {
        $seed = Get-SharedCsv seed-prompts.csv
        $whatIf = Invoke-WhatIf { Import-Csv (Join-Path $script:SharedData 'seed-prompts.csv') | New-FalVideo -WhatIf }
        $whatIf.Lines.Count | Should -Be ($seed | Where-Object Model -notlike 'sora*').Count
        $whatIf.Errors.Count | Should -Be ($seed | Where-Object Model -like 'sora*').Count
        $whatIf.Errors | ForEach-Object {
            $_.FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewFalVideoCommand'
            $_.ErrorDetails.Message | Should -Match 'retired'
            $_.TargetObject.Id | Should -BeIn ($seed | Where-Object Model -like 'sora*').Id
        }
    }

    It 'New-FalVideo -Route Cheapest -Require audio -WhatIf names the cheapest able model per row, with the reason' {
        $null = New-PromptsCsv
        $whatIf = Invoke-WhatIf { Import-Csv prompts.csv | New-FalVideo -Route Cheapest -Require audio -WhatIf }
        # A row that says GenerateAudio false is refused under -Require audio, not sent without audio.
        $quiet = Import-Csv prompts.csv | Where-Object GenerateAudio -eq 'false'
        $whatIf.Lines.Count | Should -Be ((Import-Csv prompts.csv).Count - @($quiet).Count)
        ($whatIf.Errors | ForEach-Object { $_.TargetObject.Id } | Sort-Object) | Should -Be ($quiet.Id | Sort-Object)
        $jobs = Import-Csv prompts.csv | New-FalVideo -Route Cheapest -Require audio -ErrorAction SilentlyContinue
        foreach ($job in $jobs) {
            (Get-FalModel $job.Model).Features | Should -Contain 'audio'
            $job.RouteReason | Should -Match '^cheapest of \d+ able model'
            # The price the reason names is the price of the request that was sent.
            [decimal]([regex]::Match($job.RouteReason, ': \S+ \$([0-9.]+)').Groups[1].Value) | Should -Be $job.EstimatedCostUsd -Because $job.RouteReason
        }
    }

    It 'Invoke-FalModel sends any input to any endpoint (the emulator answers an unknown one with 404)' {
        $errors = $null
        Invoke-FalModel -EndpointId fal-ai/some-new-model -Input @{ prompt = 'x' } -Wait -ErrorVariable errors -ErrorAction SilentlyContinue -WarningVariable warnings -WarningAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalNotFound,FalVideo.PowerShell.Cmdlets.InvokeFalModelCommand'
        $warnings[0].Message | Should -Match 'not in the price catalog'
        $job = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/text-to-video -Input @{ prompt = 'x'; duration = '3' } -Wait
        $job.Status | Should -Be 'Completed'
        $job.VideoUrl | Should -BeLike "$script:BaseUrl/cdn/*"
    }

    It 'the catalog block: seed-shots priced as -WhatIf prices them, motion control at its most or by the clip''s length' {
        $estimates = Import-Csv (Join-Path $script:SharedData 'seed-shots.csv') | Group-Object Id | Measure-VideoCost
        $estimates[-1].EstimatedCostUsd | Should -Be 4.20
        $bound = [pscustomobject]@{ Model = 'kling-v3-pro-motion-control'; CharacterOrientation = 'image' } | Measure-VideoCost
        $bound[0].EstimatedCostUsd | Should -Be 1.68
        $bound[0].IsUpperBound | Should -BeTrue
        $null = New-TestImage 'dancer.png'; $null = New-TestVideo 'moves.mp4'
        $line = (Invoke-WhatIf { New-KlingMotionVideo -Image ./dancer.png -MotionVideo ./moves.mp4 -CharacterOrientation image -WhatIf }).Lines
        $line | Should -Match ((Get-Command ffprobe -ErrorAction Ignore) ? 'estimated 0\.34 USD' : 'estimated at most 1\.68 USD')
    }

    It 'a price override file changes the estimates (Set-FalConfiguration and FALVIDEO_PRICE_OVERRIDES)' {
        @'
{ "kling-v3-pro": { "prices": [ { "when": { "audio": false }, "usdPerSecond": 0.10 },
                                { "when": { "audio": true },  "usdPerSecond": 0.15 } ],
                    "priceSource": "our contract", "priceDate": "2026-11-01" } }
'@ | Set-Content ./prices.json
        try {
            Set-FalConfiguration -PriceOverridePath ./prices.json
            (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $false -NoTotal).EstimatedCostUsd | Should -Be 1.00
            (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $true -NoTotal).EstimatedCostUsd | Should -Be 1.50
            Set-FalConfiguration -Reset
            (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $false -NoTotal).EstimatedCostUsd | Should -Be 1.12
            $env:FALVIDEO_PRICE_OVERRIDES = './prices.json'
            (Measure-VideoCost -Model kling-v3-pro -Duration 10 -GenerateAudio $true -NoTotal).EstimatedCostUsd | Should -Be 1.50
        }
        finally {
            Remove-Item Env:FALVIDEO_PRICE_OVERRIDES -ErrorAction Ignore
            Set-FalConfiguration -Reset
            Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
        }
    }
}

Describe 'README: help' {
    It 'Get-Help about_FalVideo explains jobs, costs, the journal, the emulator and configuration' {
        $text = Get-Help about_FalVideo | Out-String
        foreach ($section in 'JOBS', 'COSTS', 'THE JOB JOURNAL', 'THE EMULATOR', 'CONFIGURATION') { $text | Should -Match $section }
    }
}

Describe 'README: failed rows, -Debug and local files' {
    It 'the failed rows of a CSV, exported from their errors, are the rows as they were' {
        $null = New-PromptsCsv
        $ErrorActionPreference = 'SilentlyContinue'
        Import-Csv prompts.csv | New-KlingVideo -ErrorVariable bad
        $bad.TargetObject | Export-Csv failed.csv      # the failed rows, as they were, to fix and send again
        $ErrorActionPreference = 'Continue'
        $expected = Import-Csv prompts.csv | Where-Object Model -like 'hailuo*'
        $failed = Import-Csv failed.csv
        $failed.Id | Should -Be $expected.Id
        $failed.Prompt | Should -Be $expected.Prompt
        ($failed[0].PSObject.Properties.Name -join ',') | Should -Be (((Import-Csv prompts.csv)[0].PSObject.Properties.Name) -join ',')
    }
}
