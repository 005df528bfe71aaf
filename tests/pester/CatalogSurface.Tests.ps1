# The whole Kling and Hailuo surface (issue 13 §4) and the cost and routing mistakes found when tried as a user would (§7):
# what Measure-VideoCost prices equals what the submitters price and send, against the emulator.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-TestImage 'hero.png'
    $null = New-TestVideo 'walk.mp4'
    $script:HasProbe = [bool](Get-Command ffprobe -ErrorAction Ignore)
    # The estimate in a -WhatIf line, in USD.
    function Get-WhatIfUsd([string] $Line) { [decimal]([regex]::Match($Line, 'estimated (?:at most )?([0-9.]+) USD').Groups[1].Value) }
}

AfterAll { Complete-FalTest }

Describe 'A multi-shot group is priced as the submit prices it' {
    It 'seed-shots.csv grouped by Id: Measure-VideoCost without -Model equals -WhatIf, one request per group' {
        $errors = $null
        $estimates = Get-SharedCsv seed-shots.csv | Group-Object Id | Measure-VideoCost -ErrorVariable errors
        $errors.Count | Should -Be 0
        $rows = $estimates | Where-Object Kind -eq 'Row'
        $rows.Count | Should -Be 2
        $whatIf = Invoke-WhatIf { Get-SharedCsv seed-shots.csv | Group-Object Id | New-KlingVideo -WhatIf }
        $lines = $whatIf.Lines
        $lines.Count | Should -Be 2
        foreach ($row in $rows) {
            $line = $lines | Where-Object { $_ -match [regex]::Escape(($row.Id -eq 'tokyo') ? 'rain-soaked Tokyo' : 'older woman pulling') }
            # -WhatIf shows two decimals, as the cost table does.
            Get-WhatIfUsd $line | Should -Be ([decimal]$row.EstimatedCostUsd.ToString('0.00', [cultureinfo]::InvariantCulture))
            $line | Should -Match " $($row.DurationSeconds) s, "
        }
        $total = $estimates[-1]
        $total.Kind | Should -Be 'Total'
        $whatIf.Batch | Should -Be ('What if: Batch: 2 request(s), estimated total {0} USD' -f $total.EstimatedCostUsd.ToString('0.00', [cultureinfo]::InvariantCulture))
        # 13 s + 12 s of kling-v3-pro with fal's default audio on ($0.168/s).
        $total.EstimatedCostUsd | Should -Be 4.20
    }

    It 'a group whose rows carry the Model is priced and sent on that model' {
        $shots = Get-SharedCsv seed-shots.csv | Select-Object Id, Shot, Prompt, Duration, @{ n = 'Model'; e = { 'kling-v3-standard' } }, @{ n = 'GenerateAudio'; e = { 'false' } }
        $estimates = $shots | Group-Object Id | Measure-VideoCost -NoTotal
        $estimates.Model | Sort-Object -Unique | Should -Be 'kling-v3-standard'
        $whatIf = Invoke-WhatIf { $shots | Group-Object Id | New-KlingVideo -WhatIf }
        $whatIf.Lines | ForEach-Object { $_ | Should -Match 'kling-v3-standard text-to-video' }
        $whatIf.Batch | Should -Be ('What if: Batch: 2 request(s), estimated total {0} USD' -f (($estimates | Measure-Object EstimatedCostUsd -Sum).Sum).ToString('0.00', [cultureinfo]::InvariantCulture))
    }
}

Describe 'Measure-VideoCost marks what the submitters refuse and what has no price' {
    It 'a row the submitters refuse is marked with the row and field, priced for comparison, and left out of the Total' {
        $rows = @(
            [pscustomobject]@{ Id = 'ok'; Prompt = 'A harbour'; Model = 'kling-v3-pro'; Duration = '5'; GenerateAudio = 'false'; ShotType = '' }
            [pscustomobject]@{ Id = 'long'; Prompt = 'A harbour'; Model = 'kling-v3-pro'; Duration = '20'; GenerateAudio = 'false'; ShotType = '' }
            [pscustomobject]@{ Id = 'shots'; Prompt = 'A harbour'; Model = 'kling-v3-pro'; Duration = '5'; GenerateAudio = 'false'; ShotType = 'cinematic' }
        )
        $estimates = $rows | Measure-VideoCost
        $long = $estimates | Where-Object Id -eq 'long'
        $long.Refused | Should -BeTrue
        $long.RefusedReason | Should -Match '^Row 2 \(long\): Duration 20 is not allowed for kling-v3-pro'
        $long.EstimatedCostUsd | Should -Be 2.24
        ($estimates | Where-Object Id -eq 'shots').RefusedReason | Should -Match "^Row 3 \(shots\): ShotType 'cinematic' is not allowed; allowed: customize, intelligent"
        $total = $estimates[-1]
        $total.EstimatedCostUsd | Should -Be 0.56
        ($estimates | Where-Object Id -eq 'shots').EstimatedCostUsd | Should -Be 0.56
        $total.Note | Should -Match 'excludes 2 row\(s\) the submitters would refuse'
        # The same rows, submitted: the two marked rows are the two errors.
        $whatIf = Invoke-WhatIf { $rows | New-KlingVideo -WhatIf }
        $whatIf.Lines.Count | Should -Be 1
        ($whatIf.Errors | ForEach-Object { $_.TargetObject.Id }) | Should -Be @('long', 'shots')
    }

    It 'a model fal publishes no price for says price unknown, in the row, the Total and -WhatIf' {
        $estimates = 'kling-v3-pro', 'kling-o3-pro', 'hailuo-02-pro' | ForEach-Object { [pscustomobject]@{ Model = $_; Prompt = 'A harbour' } } | Measure-VideoCost
        $unknown = $estimates | Where-Object Model -in 'kling-o3-pro', 'hailuo-02-pro'
        $unknown | ForEach-Object { $_.EstimatedCostUsd | Should -BeNullOrEmpty; $_.Note | Should -Match 'price unknown' }
        $estimates[-1].Note | Should -Match 'excludes 2 row\(s\) with price unknown'
        $estimates[-1].EstimatedCostUsd | Should -Be (($estimates | Where-Object Model -eq 'kling-v3-pro').EstimatedCostUsd)
        $line = (Invoke-WhatIf { New-FalVideo 'A harbour' -Model hailuo-02-pro -WhatIf }).Lines
        $line | Should -Match 'hailuo-02-pro text-to-video \(fal-ai/minimax/hailuo-02/pro/text-to-video\), model-chosen length, price unknown'
    }

    It 'the old names still resolve and rows come back under the names after fal''s endpoint ids' {
        $estimate = [pscustomobject]@{ Model = 'kling-2.5-turbo-pro'; Duration = '10' } | Measure-VideoCost -NoTotal
        $estimate.Model | Should -Be 'kling-v2.5-turbo-pro'
        $estimate.EstimatedCostUsd | Should -Be 0.70
        (Measure-VideoCost -Model fal-ai/kling-video/v2.6/pro/image-to-video -Duration 10 -GenerateAudio $true -NoTotal).EstimatedCostUsd | Should -Be 1.40
    }
}

Describe 'Motion control is priced by the length of its reference video' {
    It 'New-KlingMotionVideo -WhatIf prices a local reference video by its length, and a URL at its most' {
        $local = (Invoke-WhatIf { New-KlingMotionVideo -Image ./hero.png -MotionVideo ./walk.mp4 -CharacterOrientation image -WhatIf }).Lines
        if ($script:HasProbe) {
            # The emulator's sample clip is 2 s long: 2 s × $0.168/s.
            $local | Should -Match "2 s \(the reference video's length, read from the file\), estimated 0\.34 USD"
        }
        else {
            $local | Should -Match 'estimated at most 1\.68 USD'
        }
        $remote = (Invoke-WhatIf { New-KlingMotionVideo -Image ./hero.png -MotionVideo https://example.com/dance.mp4 -CharacterOrientation video -WhatIf }).Lines
        $remote | Should -Match 'length of the reference video \(not known here; at most 30 s with orientation video\), estimated at most 5\.04 USD'
    }

    It 'Measure-VideoCost gives the same price, or the most it can cost with a note' {
        $row = [pscustomobject]@{ Model = 'kling-v3-pro-motion-control'; Image = './hero.png'; MotionVideo = './walk.mp4'; CharacterOrientation = 'image' }
        $estimate = $row | Measure-VideoCost -NoTotal
        if ($script:HasProbe) { $estimate.EstimatedCostUsd | Should -Be 0.336; $estimate.IsUpperBound | Should -BeFalse }
        $bound = [pscustomobject]@{ Model = 'kling-v3-pro-motion-control'; CharacterOrientation = 'image' } | Measure-VideoCost
        $bound[0].EstimatedCostUsd | Should -Be 1.68
        $bound[0].IsUpperBound | Should -BeTrue
        $bound[0].Note | Should -Match 'at most: the output follows the input video, up to 10 s'
        $bound[-1].Note | Should -Match '1 row\(s\) counted at their most'
        ([pscustomobject]@{ Model = 'kling-v3-pro-motion-control'; CharacterOrientation = 'video'; Duration = '7' } | Measure-VideoCost -NoTotal).EstimatedCostUsd | Should -Be 1.176
    }
}

Describe 'New-FalVideo -Route Cheapest and -Require' {
    It '-Require without -Route is a terminating FalInvalidInput error and nothing is sent' {
        $before = (Get-EmulatorStats).accepted_submissions
        { New-FalVideo 'A kite' -Require audio -ErrorAction Stop } | Should -Throw -ErrorId 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewFalVideoCommand'
        $err = $null
        try { [pscustomobject]@{ Prompt = 'A kite'; Model = 'kling-v3-pro' } | New-FalVideo -Require 4k } catch { $err = $_ }
        $err.Exception.Message | Should -Match '-Require applies only with -Route Cheapest'
        (Get-EmulatorStats).accepted_submissions | Should -Be $before
    }

    It '-Require 10s with a 6 s row goes to a model that takes 6 s, and is sent at 6 s' {
        $job = New-FalVideo 'Rain on a window' -Duration 6 -Route Cheapest -Require 10s -Force
        $job.DurationSeconds | Should -Be 6
        (Get-FalModel $job.Model).Durations | Should -Contain 6
        (Get-FalModel $job.Model).Durations | Should -Contain 10
        $job.Status | Should -Not -Be 'Rejected'
    }

    It '-Require audio with a row that turns audio off is refused, naming the row' {
        $errors = $null
        $jobs = @(
            [pscustomobject]@{ Id = 'quiet'; Prompt = 'A library'; GenerateAudio = 'false' }
            [pscustomobject]@{ Id = 'loud'; Prompt = 'A market'; GenerateAudio = '' }
        ) | New-FalVideo -Route Cheapest -Require audio -Force -ErrorVariable errors -ErrorAction SilentlyContinue
        @($jobs).Count | Should -Be 1
        $jobs.Id | Should -Be 'loud'
        $errors.Count | Should -Be 1
        $errors[0].TargetObject.Id | Should -Be 'quiet'
        $errors[0].ErrorDetails.Message | Should -Match '^Row 1 \(quiet\): GenerateAudio is false, but -Require audio asks for a model with audio'
    }
}

Describe 'Invoke-FalModel -Input' {
    It 'sends a [pscustomobject]''s properties, as it does a hashtable''s and a JSON text''s' {
        $object = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/standard/text-to-video -Input ([pscustomobject]@{ prompt = 'A red kite'; duration = '10'; generate_audio = $false }) -Wait -Force
        $table = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/standard/text-to-video -Input @{ prompt = 'A blue kite'; duration = '10'; generate_audio = $false } -Wait -Force
        $json = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/standard/text-to-video -Input '{"prompt": "A green kite", "duration": "10", "generate_audio": false}' -Wait -Force
        foreach ($job in $object, $table, $json) {
            $job.Status | Should -Be 'Completed'      # the emulator refuses an input without its prompt (HTTP 422)
            $job.EstimatedCostUsd | Should -Be 0.84   # 10 s, audio off: read from what was sent
        }
        $object.Prompt | Should -Be 'A red kite'
        $json.Prompt | Should -Be 'A green kite'
    }

    It 'sends to the new endpoints, which the emulator validates as fal does' {
        $job = Invoke-FalModel -EndpointId fal-ai/kling-video/o3/pro/video-to-video/edit -Input ([pscustomobject]@{ prompt = 'Make it snow'; video_url = 'https://example.com/v.mp4' }) -Force
        $job.Model | Should -Be 'kling-o3-pro-video-to-video-edit'
        $errors = $null
        $null = Invoke-FalModel -EndpointId fal-ai/kling-video/lipsync/text-to-video -Input @{ video_url = 'https://example.com/v.mp4'; text = ('x' * 121); voice_id = 'v1' } -Force -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Match '^FalValidationFailed'
    }
}

Describe 'Tab completion lists the new names' {
    It '<Command> -Model <Word> completes <Expected>' -ForEach @(
        @{ Command = 'New-KlingVideo'; Word = 'kling-v3-tur'; Expected = @('kling-v3-turbo-pro', 'kling-v3-turbo-standard') }
        @{ Command = 'New-KlingVideo'; Word = 'kling-v2.5'; Expected = @('kling-v2.5-turbo-pro', 'kling-v2.5-turbo-standard') }
        @{ Command = 'New-HailuoVideo'; Word = 'minimax-video-01-l'; Expected = @('minimax-video-01-live') }
    ) {
        $line = "$Command -Model $Word"
        $found = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $found | Should -Be $Expected
    }
}
