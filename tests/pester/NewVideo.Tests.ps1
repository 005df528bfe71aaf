# New-KlingVideo, New-HailuoVideo, New-KlingMotionVideo, New-FalVideo and Invoke-FalModel: the examples of their help,
# their per-row errors and -WhatIf.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-PromptsCsv
    $null = New-PromptsCsv -Path kling.csv -Family kling
    $null = New-PromptsCsv -Path hailuo.csv -Family hailuo
    $null = New-TestImage 'bowl.png'
}

AfterAll { Complete-FalTest }

Describe 'New-KlingVideo help examples' {
    It 'Example 1: a CSV of prompts to files on disk and a report' {
        Import-Csv kling.csv | New-KlingVideo -Wait | Save-FalVideo -Directory ./k1 | Export-Csv done-k1.csv
        $done = Import-Csv done-k1.csv
        $done.Count | Should -Be (Import-Csv kling.csv).Count
        $done | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue; $_.Model | Should -Be 'kling-v3-pro' }
        ($done.Prompt | Sort-Object) | Should -Be ((Import-Csv kling.csv).Prompt | Sort-Object)
    }

    It 'Example 2: checks and prices the batch without sending anything; other families get FalInvalidInput errors naming the row' {
        $before = (Get-EmulatorStats).accepted_submissions
        $rows = Import-Csv prompts.csv
        $whatIf = Invoke-WhatIf { Import-Csv prompts.csv | New-KlingVideo -WhatIf }
        $whatIf.Lines.Count | Should -Be ($rows | Where-Object Model -like 'kling*').Count
        $whatIf.Errors.Count | Should -Be ($rows | Where-Object Model -like 'hailuo*').Count
        foreach ($e in $whatIf.Errors) {
            $e.FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
            $e.TargetObject.Id | Should -BeIn ($rows | Where-Object Model -like 'hailuo*').Id
            $e.ErrorDetails.Message | Should -Match "^Row \d+ \($($e.TargetObject.Id)\): .*Nothing was sent for this row\.$"
        }
        (Get-EmulatorStats).accepted_submissions | Should -Be $before
    }

    It 'Example 3: one clip from the command line, saved to the current folder' {
        $file = New-KlingVideo 'A lighthouse beacon sweeps across a rocky coastline in heavy fog' -Model kling-v3-standard -Duration 8 -GenerateAudio $false -Wait |
            Save-FalVideo
        $file.File.DirectoryName | Should -Be $script:Work
        $file.Model | Should -Be 'kling-v3-standard'
        $file.EstimatedCostUsd | Should -Be 0.672
        $file.Size | Should -BeGreaterThan 1000
    }

    It 'Example 4: a local image is uploaded and goes to the image-to-video endpoint' {
        $uploads = (Get-EmulatorStats).uploads
        $job = New-KlingVideo -Prompt 'The bowl turns slowly on the wheel' -StartImage ./bowl.png -Duration 5
        (Get-EmulatorStats).uploads | Should -Be ($uploads + 1)
        $job.EndpointId | Should -Be 'fal-ai/kling-video/v3/pro/image-to-video'
        $url = ($job.Input | ConvertFrom-Json).start_image_url
        (Invoke-WebRequest $url).RawContentLength | Should -Be (Get-Item ./bowl.png).Length
    }

    It 'Example 5: multi-shot videos from a CSV of shots, one request per Id' {
        Get-SharedCsv seed-shots.csv | Select-Object Id, Shot, Prompt, Duration | Export-Csv shots.csv
        $files = Import-Csv shots.csv | Group-Object Id | New-KlingVideo -Wait | Save-FalVideo -Directory ./shots
        ($files.Id | Sort-Object) | Should -Be ((Import-Csv shots.csv).Id | Sort-Object -Unique)
        $files | ForEach-Object { $_.File.Name | Should -BeLike "$($_.Id)-*.mp4" }
    }

    It 'a retired model is a FalInvalidInput error, thrown with -ErrorAction Stop' {
        { New-KlingVideo -Prompt 'x' -Model sora-2-pro -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
    }

    It 'a bad row among good ones: the good rows are sent, the bad one is named' {
        $before = (Get-EmulatorStats).accepted_submissions
        $errors = $null
        $jobs = @(
            [pscustomobject]@{ Id = 'ok1'; Prompt = 'A red kite'; Duration = '3' }
            [pscustomobject]@{ Id = 'toolong'; Prompt = 'A blue kite'; Duration = '99' }
            [pscustomobject]@{ Id = 'ok2'; Prompt = 'A green kite'; Duration = '4'; GenerateAudio = 'no' }
        ) | New-KlingVideo -ErrorVariable errors -ErrorAction SilentlyContinue
        ($jobs.Id | Sort-Object) | Should -Be @('ok1', 'ok2')
        (Get-EmulatorStats).accepted_submissions | Should -Be ($before + 2)
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $errors[0].TargetObject.Id | Should -Be 'toolong'
        $errors[0].ErrorDetails.Message | Should -Match 'Duration 99'
        (($jobs | Where-Object Id -eq 'ok2').Input | ConvertFrom-Json).generate_audio | Should -BeFalse
    }
}

Describe 'New-HailuoVideo help examples' {
    It 'Example 1: the Hailuo rows of a CSV to files and a report' {
        Import-Csv prompts.csv | Where-Object Model -like 'hailuo*' | New-HailuoVideo -Wait | Save-FalVideo -Directory ./h1 | Export-Csv done-h1.csv
        $done = Import-Csv done-h1.csv
        $done.Count | Should -Be (Import-Csv hailuo.csv).Count
        $done.Model | Select-Object -Unique | Should -Be 'hailuo-2.3-pro'
        $done | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue }
    }

    It 'Example 2: animates a folder of images after checking the cost; the Id is part of each file name' {
        'cat', 'dog' | ForEach-Object { $null = New-TestImage "photos/$_.jpg" }
        $rows = Get-ChildItem ./photos -Filter *.jpg | ForEach-Object {
            [pscustomobject]@{ Id = $_.BaseName; Image = $_.FullName; Prompt = 'Subject slowly turns to face the camera' }
        }
        $before = Get-EmulatorStats
        $lines = (Invoke-WhatIf { $rows | New-HailuoVideo -Model hailuo-2.3-fast-standard -Duration 6 -WhatIf }).Lines
        $lines.Count | Should -Be 2
        $lines | ForEach-Object { $_ | Should -Match 'estimated 0.19 USD' }
        $after = Get-EmulatorStats
        $after.accepted_submissions | Should -Be $before.accepted_submissions
        $after.uploads | Should -Be $before.uploads
        $files = $rows | New-HailuoVideo -Model hailuo-2.3-fast-standard -Duration 6 -Wait | Save-FalVideo -Directory ./clips
        ($files.File.Name | ForEach-Object { $_.Split('-')[0] } | Sort-Object) | Should -Be @('cat', 'dog')
        (Get-EmulatorStats).uploads | Should -Be ($before.uploads + 2)
    }

    It 'Example 3: one 10-second clip on the standard tier, prompt optimizer off' {
        $job = New-HailuoVideo 'A lantern floating on a still pond at dusk' -Model hailuo-2.3-standard -Duration 10 -PromptOptimizer $false
        $job.EndpointId | Should -Be 'fal-ai/minimax/hailuo-2.3/standard/text-to-video'
        $job.EstimatedCostUsd | Should -Be 0.56
        $sent = $job.Input | ConvertFrom-Json
        $sent.duration | Should -Be '10'
        $sent.prompt_optimizer | Should -BeFalse
    }

    It 'a Kling model is refused by New-HailuoVideo' {
        { New-HailuoVideo -Prompt 'x' -Model kling-v3-pro -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewHailuoVideoCommand'
    }
}

Describe 'New-KlingMotionVideo help examples' {
    BeforeAll {
        $null = New-TestImage 'hero.png'; $null = New-TestVideo 'walk.mp4'
        $null = New-TestImage 'chars/a.png'; $null = New-TestVideo 'clips/a.mp4'
        @(
            [pscustomobject]@{ Id = 'spin'; Image = './chars/a.png'; MotionVideo = './clips/a.mp4'; CharacterOrientation = 'image'; Prompt = 'spins'; KeepOriginalSound = 'false' }
            [pscustomobject]@{ Id = 'hop'; Image = './chars/a.png'; MotionVideo = './clips/a.mp4'; CharacterOrientation = 'video'; Prompt = ''; KeepOriginalSound = '' }
        ) | Export-Csv motions.csv
    }

    It 'Example 1: a CSV of characters and dance clips to files and a report' {
        Import-Csv motions.csv | New-KlingMotionVideo -Wait | Save-FalVideo -Directory ./motion | Export-Csv done-motion.csv
        $done = Import-Csv done-motion.csv
        ($done.Id | Sort-Object) | Should -Be @('hop', 'spin')
        $done | ForEach-Object { $_.Model | Should -Be 'kling-v3-pro-motion-control'; Test-Path -LiteralPath $_.Path | Should -BeTrue }
    }

    It 'Example 2: -WhatIf shows the request and its cost, uploads and sends nothing' {
        $before = Get-EmulatorStats
        $lines = (Invoke-WhatIf { New-KlingMotionVideo -Image ./hero.png -MotionVideo ./walk.mp4 -CharacterOrientation image -KeepOriginalSound $false -WhatIf }).Lines
        $lines.Count | Should -Be 1
        $lines[0] | Should -Match 'kling-v3-pro-motion-control motion-control \(fal-ai/kling-video/v3/pro/motion-control\)'
        # The output is as long as the reference video: read from the local file (2 s × $0.168/s), else priced at the
        # most orientation image allows (10 s).
        if (Get-Command ffprobe -ErrorAction Ignore) { $lines[0] | Should -Match "2 s \(the reference video's length, read from the file\), estimated 0\.34 USD" }
        else { $lines[0] | Should -Match 'estimated at most 1\.68 USD' }
        $after = Get-EmulatorStats
        $after.uploads | Should -Be $before.uploads
        $after.accepted_submissions | Should -Be $before.accepted_submissions
    }

    It 'missing local files are one FalInvalidInput error naming both' {
        $errors = $null
        New-KlingMotionVideo -Image ./nobody.png -MotionVideo ./nothing.mp4 -CharacterOrientation video -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingMotionVideoCommand'
        $errors[0].ErrorDetails.Message | Should -Match 'nobody\.png'
        $errors[0].ErrorDetails.Message | Should -Match 'nothing\.mp4'
    }
}

Describe 'New-FalVideo help examples' {
    It 'Example 1: a mixed Kling and Hailuo CSV to files and a report, each row on its Model' {
        Import-Csv prompts.csv | New-FalVideo -Wait | Save-FalVideo -Directory ./mixed | Export-Csv done-mixed.csv
        $done = Import-Csv done-mixed.csv
        $rows = Import-Csv prompts.csv
        $done.Count | Should -Be $rows.Count
        foreach ($row in $rows) { ($done | Where-Object Id -eq $row.Id).Model | Should -Be $row.Model }
    }

    It 'Example 2: the cheapest 1080p model per row, priced first, then submitted with its reason' {
        $before = (Get-EmulatorStats).accepted_submissions
        $lines = (Invoke-WhatIf { Import-Csv prompts.csv | New-FalVideo -Route Cheapest -Require 1080p -WhatIf }).Lines
        $lines.Count | Should -Be (Import-Csv prompts.csv).Count
        (Get-EmulatorStats).accepted_submissions | Should -Be $before
        $routed = Import-Csv prompts.csv | New-FalVideo -Route Cheapest -Require 1080p -Force | Select-Object Id, Model, EstimatedCostUsd, RouteReason
        $routed.Count | Should -Be (Import-Csv prompts.csv).Count
        foreach ($r in $routed) {
            (Get-FalModel $r.Model).Resolution | Should -Be '1080p'
            $r.RouteReason | Should -Match "^cheapest of \d+ able model\(s\) .*: $([regex]::Escape($r.Model)) \$"
        }
        (Get-EmulatorStats).accepted_submissions | Should -Be ($before + $routed.Count)
    }

    It 'Example 3: one clip on a given model, waited for and saved' {
        $file = New-FalVideo 'A lantern floating on a still pond at dusk' -Model hailuo-2.3-standard -Duration 10 -Wait | Save-FalVideo
        $file.Model | Should -Be 'hailuo-2.3-standard'
        $file.EstimatedCostUsd | Should -Be 0.56
        Test-Path -LiteralPath $file.Path | Should -BeTrue
    }
}

Describe 'Invoke-FalModel help examples' {
    It 'Example 1: rows of a CSV, each to the endpoint it names' {
        @(
            [pscustomobject]@{ Id = 'r1'; EndpointId = 'fal-ai/kling-video/v3/pro/text-to-video'; Prompt = 'A paper boat'; Duration = '5' }
            [pscustomobject]@{ Id = 'r2'; EndpointId = 'fal-ai/minimax/hailuo-2.3/standard/text-to-video'; Prompt = 'A paper plane'; Duration = '6' }
        ) | Export-Csv requests.csv
        Import-Csv requests.csv |
            Select-Object Id, EndpointId, @{ n = 'Input'; e = { @{ prompt = $_.Prompt; duration = $_.Duration } } } |
            Invoke-FalModel -Wait | Save-FalVideo -Directory ./invoked | Export-Csv done-invoked.csv
        $done = Import-Csv done-invoked.csv
        ($done.Id | Sort-Object) | Should -Be @('r1', 'r2')
        ($done | Where-Object Id -eq 'r2').EndpointId | Should -Be 'fal-ai/minimax/hailuo-2.3/standard/text-to-video'
        $done | ForEach-Object { Test-Path -LiteralPath $_.Path | Should -BeTrue }
    }

    It 'Example 2: an endpoint with a local image, -WhatIf shows the cost and uploads nothing' {
        $before = Get-EmulatorStats
        $lines = (Invoke-WhatIf {
            Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/image-to-video -Input @{
                prompt = 'The bowl turns slowly on the wheel'; start_image_url = './bowl.png'; duration = '5'; generate_audio = $false
            } -WhatIf
        }).Lines
        $lines.Count | Should -Be 1
        $lines[0] | Should -Match 'estimated 0.56 USD'
        $after = Get-EmulatorStats
        $after.uploads | Should -Be $before.uploads
        $after.accepted_submissions | Should -Be $before.accepted_submissions
    }

    It 'a local image in the input is uploaded and replaced by its storage URL' {
        $job = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/image-to-video -Input @{
            prompt = 'The bowl turns slowly on the wheel'; start_image_url = './bowl.png'; duration = '5'; generate_audio = $false
        } -Wait
        $job.Status | Should -Be 'Completed'
        ($job.Input | ConvertFrom-Json).start_image_url | Should -BeLike "$script:BaseUrl/cdn/uploads/*"
    }

    It 'an input fal rejects is a FalValidationFailed error with the field' {
        $errors = $null
        Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/text-to-video -Input @{ prompt = 'x'; duration = 5 } -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalValidationFailed,FalVideo.PowerShell.Cmdlets.InvokeFalModelCommand'
        $errors[0].ErrorDetails.Message | Should -Match 'duration'
        (Get-FalJob -Status Rejected).Count | Should -BeGreaterOrEqual 1
    }
}
