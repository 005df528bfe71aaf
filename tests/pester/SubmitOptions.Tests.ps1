# Submit options (-Priority, -WebhookUrl, -StartTimeout, -NoFallback, -OutputExpiry) on every submitting cmdlet and as
# CSV columns of the same names: what reaches the emulator, what the job keeps, and the errors for unusable values.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-TestVideo 'dance.mp4'
    $null = New-TestImage 'still.png'

    # The x-fal-* headers and query of the submissions the emulator received since $Skip.
    function Get-Wire([int] $Skip) {
        (Invoke-RestMethod "$script:BaseUrl/_emulator/submissions").submissions | Select-Object -Skip $Skip | ForEach-Object {
            $headers = @{}
            foreach ($h in $_.headers) { $headers[$h[0]] = $h[1] }
            [pscustomobject]@{ Endpoint = $_.endpoint_id; Query = $_.query; Headers = $headers }
        }
    }
    function Get-WireCount { @((Invoke-RestMethod "$script:BaseUrl/_emulator/submissions").submissions).Count }
}

AfterAll { Complete-FalTest }

Describe 'Submit options on the command line' {
    It 'reach fal from <Command> and stay on the job' -ForEach @(
        @{ Command = 'New-KlingVideo'; Call = { New-KlingVideo 'a fox' @args } }
        @{ Command = 'New-HailuoVideo'; Call = { New-HailuoVideo 'a fox' @args } }
        @{ Command = 'New-FalVideo'; Call = { New-FalVideo 'a fox' -Model kling-v3-standard @args } }
        @{ Command = 'New-KlingMotionVideo'; Call = { New-KlingMotionVideo -Image ./still.png -MotionVideo ./dance.mp4 -CharacterOrientation video @args } }
        @{ Command = 'Invoke-FalModel'; Call = { Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/text-to-video -Input @{ prompt = 'a fox by Invoke-FalModel' } @args } }
    ) {
        $skip = Get-WireCount
        $job = & $Call -Priority Low -WebhookUrl 'https://hooks.example/done?token=s3cret' -StartTimeout 90 -NoFallback -OutputExpiry 1h
        $wire = @(Get-Wire $skip)
        $wire.Count | Should -Be 1
        $wire[0].Headers['x-fal-queue-priority'] | Should -BeExactly 'low'
        $wire[0].Headers['x-fal-request-timeout'] | Should -BeExactly '90'
        $wire[0].Headers['x-fal-disable-fallbacks'] | Should -BeExactly 'true'
        $wire[0].Headers['x-fal-object-lifecycle-preference'] | Should -BeExactly '{"expiration_duration_seconds":3600}'
        $wire[0].Query | Should -BeExactly '?fal_webhook=https%3A%2F%2Fhooks.example%2Fdone%3Ftoken%3Ds3cret'

        $job.SubmitOptions.QueuePriority | Should -Be 'low'
        $job.SubmitOptions.StartTimeoutSeconds | Should -Be 90
        $job.SubmitOptions.DisableFallbacks | Should -BeTrue
        $job.SubmitOptions.ObjectExpirationSeconds | Should -Be 3600
        # The display leaves the webhook's query (often its secret) out.
        ($job | Format-List SubmitOptions | Out-String) | Should -Match 'priority low, start timeout 90 s, no fallback, media expire after 3600 s, webhook https://hooks.example/done\?…'
        ($job | Format-List SubmitOptions | Out-String) | Should -Not -Match 's3cret'
    }

    It 'sends only fal-js''s default priority when no option is given' {
        $skip = Get-WireCount
        $job = New-KlingVideo 'plain'
        $wire = Get-Wire $skip
        $wire.Headers.Keys | Should -Be @('x-fal-queue-priority')
        $wire.Headers['x-fal-queue-priority'] | Should -Be 'normal'
        $wire.Query | Should -BeNullOrEmpty
        $job.SubmitOptions | Should -BeNullOrEmpty
    }

    It 'refuses <Bad> before any row is sent' -ForEach @(
        @{ Bad = '-Priority foo'; Params = @{ Priority = 'foo' }; Message = "Priority 'foo' is not a queue priority; allowed: Normal, Low." }
        @{ Bad = '-StartTimeout 0'; Params = @{ StartTimeout = 0 }; Message = "StartTimeout '0' is too small; fal's clients require more than 1 second." }
        @{ Bad = '-StartTimeout 1'; Params = @{ StartTimeout = 1 }; Message = "StartTimeout '1' is too small" }
        @{ Bad = '-StartTimeout -5'; Params = @{ StartTimeout = -5 }; Message = "StartTimeout '-5' is too small" }
        @{ Bad = '-StartTimeout 1e12'; Params = @{ StartTimeout = 1e12 }; Message = "StartTimeout '1000000000000' is too large" }
        @{ Bad = '-WebhookUrl /hook'; Params = @{ WebhookUrl = '/hook' }; Message = "WebhookUrl '/hook' is not an absolute http(s) URL." }
        @{ Bad = '-WebhookUrl ftp://x/y'; Params = @{ WebhookUrl = 'ftp://x/y' }; Message = "WebhookUrl 'ftp://x/y' is not an absolute http(s) URL." }
        @{ Bad = '-OutputExpiry 2w'; Params = @{ OutputExpiry = '2w' }; Message = "OutputExpiry '2w' is not a media expiry" }
    ) {
        $before = (Get-EmulatorStats).accepted_submissions
        $rows = 1..3 | ForEach-Object { [pscustomobject]@{ Prompt = "row $_" } }
        $err = $null
        try { $rows | New-KlingVideo @Params -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $err.Exception.Message | Should -BeLike "*$Message*Nothing was sent*"
        (Get-EmulatorStats).accepted_submissions | Should -Be $before
    }

    It 'takes PowerShell''s unquoted 7d (a decimal 7) as fal-js''s 7d' {
        $job = New-KlingVideo 'seven days' -OutputExpiry 7d
        $job.SubmitOptions.ObjectExpirationSeconds | Should -Be 604800
    }
}

Describe 'Submit options as CSV columns' {
    It 'bind by property name per row, and a bad cell is a non-terminating error naming the row and field' {
        @(
            [pscustomobject]@{ Id = 'low'; Prompt = 'one'; Priority = 'low'; WebhookUrl = ''; StartTimeout = '30'; NoFallback = 'true'; OutputExpiry = '1d' }
            [pscustomobject]@{ Id = 'bad-priority'; Prompt = 'two'; Priority = 'urgent'; WebhookUrl = ''; StartTimeout = ''; NoFallback = ''; OutputExpiry = '' }
            [pscustomobject]@{ Id = 'plain'; Prompt = 'three'; Priority = ''; WebhookUrl = 'https://hooks.example/x'; StartTimeout = ''; NoFallback = 'false'; OutputExpiry = '' }
            [pscustomobject]@{ Id = 'bad-timeout'; Prompt = 'four'; Priority = ''; WebhookUrl = 'not a url'; StartTimeout = '0.5'; NoFallback = ''; OutputExpiry = '' }
        ) | Export-Csv options.csv
        $skip = Get-WireCount
        $jobs = Import-Csv options.csv | New-KlingVideo -ErrorVariable rowErrors -ErrorAction SilentlyContinue
        $jobs.Id | Should -Be @('low', 'plain')
        $rowErrors.Count | Should -Be 2
        $rowErrors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $rowErrors[0].Exception.Message | Should -BeLike "Row 2 (bad-priority): Priority 'urgent' is not a queue priority*Nothing was sent for this row."
        $rowErrors[1].Exception.Message | Should -BeLike "Row 4 (bad-timeout): *Nothing was sent for this row."
        # Both bad cells, each said once.
        ([regex]::Matches($rowErrors[1].Exception.Message, [regex]::Escape("WebhookUrl 'not a url' is not an absolute http(s) URL."))).Count | Should -Be 1
        ([regex]::Matches($rowErrors[1].Exception.Message, [regex]::Escape("StartTimeout '0.5' is too small"))).Count | Should -Be 1

        # The two rows are sent in parallel: which reaches the emulator first varies, so each is found by its query.
        $wire = @(Get-Wire $skip)
        $wire.Count | Should -Be 2
        $low = @($wire | Where-Object { -not $_.Query })
        $plain = @($wire | Where-Object { $_.Query })
        $low.Count | Should -Be 1
        $low[0].Headers['x-fal-queue-priority'] | Should -Be 'low'
        $low[0].Headers['x-fal-request-timeout'] | Should -Be '30'
        $low[0].Headers['x-fal-disable-fallbacks'] | Should -Be 'true'
        $low[0].Headers['x-fal-object-lifecycle-preference'] | Should -Be '{"expiration_duration_seconds":86400}'
        $plain.Count | Should -Be 1
        $plain[0].Headers.Keys | Should -Be @('x-fal-queue-priority')
        $plain[0].Headers['x-fal-queue-priority'] | Should -Be 'normal'
        $plain[0].Query | Should -Be '?fal_webhook=https%3A%2F%2Fhooks.example%2Fx'
    }

    It 'are not part of the idempotency key: a re-run with other options is not paid again' {
        $first = New-KlingVideo 'the same row' -Id same -Priority Low
        $before = (Get-EmulatorStats).accepted_submissions
        $again = New-KlingVideo 'the same row' -Id same -Priority Normal -StartTimeout 60 -WarningVariable w -WarningAction SilentlyContinue
        (Get-EmulatorStats).accepted_submissions | Should -Be $before
        $again.RequestId | Should -Be $first.RequestId
        $w | Should -Match 'not sent again'
    }
}
