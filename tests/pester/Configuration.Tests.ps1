# Get-FalConfiguration and Set-FalConfiguration: the examples of their help. The saved configuration goes to this
# file's temp folder (FALVIDEO_CONFIG), never to the user's.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $null = New-PromptsCsv -Family kling
}

AfterAll { Complete-FalTest }

Describe 'Get-FalConfiguration help examples' {
    AfterEach { Set-FalConfiguration -Reset; Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal }

    It 'Example 1: shows where requests go and where the key comes from' {
        $text = Get-FalConfiguration | Format-List | Out-String
        foreach ($name in 'QueueUrl', 'RestUrl', 'ApiKeySource', 'RequestTimeoutSeconds', 'MaxRetries', 'RetryBaseDelaySeconds', 'JournalPath') {
            $text | Should -Match "$name\s*:"
        }
        $text | Should -Match ([regex]::Escape($script:BaseUrl))
        $text | Should -Not -Match 'pester-key'
    }

    It 'Example 2: rehearses a CSV batch against the emulator, then checks the session' {
        Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'emulator-key'
        $settings = Get-FalConfiguration | Select-Object QueueUrl, ApiKeySource
        $settings.QueueUrl | Should -Be "$script:BaseUrl/"
        $settings.ApiKeySource | Should -Be 'Session'
        Import-Csv prompts.csv | New-KlingVideo -Wait | Save-FalVideo -Directory ./out | Export-Csv done.csv
        (Import-Csv done.csv).Count | Should -Be (Import-Csv prompts.csv).Count
    }

    It 'Example 3: the settings exported next to a report never hold the key' {
        Set-FalConfiguration -ApiKey 'very-secret-key'
        Get-FalConfiguration | Export-Csv run-settings.csv
        $saved = Import-Csv run-settings.csv
        $saved.QueueUrl | Should -Be "$script:BaseUrl/"
        $saved.ApiKeySource | Should -Be 'Session'
        Get-Content run-settings.csv -Raw | Should -Not -Match 'very-secret-key'
    }
}

Describe 'Set-FalConfiguration help examples' {
    AfterEach { Set-FalConfiguration -Reset; Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal }

    It 'Example 1: points the session at the local emulator and shows the result with -PassThru' {
        Set-FalConfiguration -Reset
        $env:FALVIDEO_BASE_URL = 'http://127.0.0.1:9'
        try {
            $result = Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'emulator-key' -PassThru
            $result.QueueUrl | Should -Be "$script:BaseUrl/"
            $result.RestUrl | Should -Be "$script:BaseUrl/"
            $result.ApiKeySource | Should -Be 'Session'
            (New-KlingVideo -Prompt 'Goes to the emulator' -Duration 3).StatusUrl | Should -BeLike "$script:BaseUrl/*"
        }
        finally { $env:FALVIDEO_BASE_URL = $script:BaseUrl }
    }

    It 'Example 2: a SecureString key for this session and six retries' {
        Set-FalConfiguration -ApiKey (ConvertTo-SecureString 'typed-fal-key' -AsPlainText -Force) -MaxRetries 6
        $settings = Get-FalConfiguration
        $settings.ApiKeySource | Should -Be 'Session'
        $settings.MaxRetries | Should -Be 6
        Import-Csv prompts.csv | Select-Object -First 1 | New-KlingVideo -Wait | Save-FalVideo -Directory ./secure | Export-Csv done-secure.csv
        (Import-Csv done-secure.csv).Count | Should -Be 1
    }

    It 'Example 3: keeps a project''s jobs in ./jobs.jsonl, which Get-FalJob lists' {
        Set-FalConfiguration -JournalPath ./jobs.jsonl
        (Get-FalConfiguration).JournalPath | Should -Be (Join-Path $script:Work 'jobs.jsonl')
        $job = New-KlingVideo -Prompt 'Project job [emulator:seconds=30]' -Duration 3
        Test-Path ./jobs.jsonl | Should -BeTrue
        (Get-FalJob -Status InQueue, InProgress).RequestId | Should -Be @($job.RequestId)
        Get-Content ./jobs.jsonl -Raw | Should -Not -Match 'pester-key'
    }

    It 'Example 4: -Reset goes back to the environment and fal''s defaults' {
        Set-FalConfiguration -MaxRetries 9 -RequestTimeout 5 -JournalPath ./other.jsonl
        Set-FalConfiguration -Reset
        $settings = Get-FalConfiguration
        $settings.MaxRetries | Should -Be 4
        $settings.RequestTimeoutSeconds | Should -Be 60
        $settings.JournalPath | Should -Be $script:Journal          # FALVIDEO_JOURNAL
        $settings.QueueUrl | Should -Be "$script:BaseUrl/"          # FALVIDEO_BASE_URL
        $settings.ApiKeySource | Should -Be 'FAL_KEY'
    }

    It 'Example 5: -Save keeps the settings (never the key) for later sessions; -Reset -Save clears them' {
        $configFile = $env:FALVIDEO_CONFIG
        Set-FalConfiguration -RequestTimeout 120 -MaxRetries 6 -JournalPath ~/fal/jobs.jsonl -Save -WarningAction SilentlyContinue
        Test-Path $configFile | Should -BeTrue
        $saved = Get-Content $configFile -Raw | ConvertFrom-Json
        $saved.RequestTimeoutSeconds | Should -Be 120
        $saved.MaxRetries | Should -Be 6
        Get-Content $configFile -Raw | Should -Not -Match 'pester-key'
        Set-FalConfiguration -Reset
        Remove-Item Env:FALVIDEO_JOURNAL
        try {
            $settings = Get-FalConfiguration
            $settings.RequestTimeoutSeconds | Should -Be 120
            $settings.MaxRetries | Should -Be 6
            $settings.JournalPath | Should -Be (Join-Path $HOME 'fal/jobs.jsonl')
            $settings.SavedConfigurationPath | Should -BeLike "$configFile*"
            Set-FalConfiguration -Reset -Save
            (Get-FalConfiguration).MaxRetries | Should -Be 4
        }
        finally { $env:FALVIDEO_JOURNAL = $script:Journal }
        Test-Path (Join-Path $HOME 'fal/jobs.jsonl') | Should -BeFalse
    }

    It 'Example 6: download limits are set in seconds and bytes per second, and a stalled CDN is given up on sooner' {
        Set-FalConfiguration -DownloadIdleTimeout 20 -DownloadMinBytesPerSecond 65536
        $settings = Get-FalConfiguration
        $settings.DownloadIdleTimeoutSeconds | Should -Be 20
        $settings.DownloadMinBytesPerSecond | Should -Be 65536
        (Get-FalConfiguration | Format-List | Out-String) | Should -Match 'DownloadIdleTimeoutSeconds\s*:\s*20'
        Import-Csv prompts.csv | Select-Object -First 1 | New-KlingVideo -Wait | Save-FalVideo -Directory ./limits | Export-Csv done-limits.csv
        (Import-Csv done-limits.csv).Count | Should -Be 1
    }

    It 'download limits of 0 or less are refused at binding and the previous values stay' {
        Set-FalConfiguration -DownloadIdleTimeout 7.5 -DownloadMinBytesPerSecond 1000
        foreach ($bad in @{ DownloadIdleTimeout = 0 }, @{ DownloadIdleTimeout = -1 }, @{ DownloadMinBytesPerSecond = 0 }, @{ DownloadMinBytesPerSecond = -5 }) {
            { Set-FalConfiguration @bad -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand'
        }
        $settings = Get-FalConfiguration
        $settings.DownloadIdleTimeoutSeconds | Should -Be 7.5
        $settings.DownloadMinBytesPerSecond | Should -Be 1000
    }

    It 'download limits come from the environment below the session, are saved with -Save, and -Reset restores the defaults' {
        Set-FalConfiguration -Reset
        $defaults = Get-FalConfiguration
        $defaults.DownloadIdleTimeoutSeconds | Should -Be 60
        $defaults.DownloadMinBytesPerSecond | Should -Be 8192
        $env:FALVIDEO_DOWNLOAD_IDLE_TIMEOUT = '12.5'
        $env:FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND = '2048'
        try {
            (Get-FalConfiguration).DownloadIdleTimeoutSeconds | Should -Be 12.5
            (Get-FalConfiguration).DownloadMinBytesPerSecond | Should -Be 2048
            Set-FalConfiguration -DownloadIdleTimeout 3
            (Get-FalConfiguration).DownloadIdleTimeoutSeconds | Should -Be 3
            $env:FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND = '0'      # not a usable rate: ignored, the default applies
            (Get-FalConfiguration).DownloadMinBytesPerSecond | Should -Be 8192
        }
        finally { Remove-Item Env:FALVIDEO_DOWNLOAD_IDLE_TIMEOUT, Env:FALVIDEO_DOWNLOAD_MIN_BYTES_PER_SECOND -ErrorAction Ignore }
        Set-FalConfiguration -DownloadMinBytesPerSecond 4096 -Save -WarningAction SilentlyContinue
        $saved = Get-Content $env:FALVIDEO_CONFIG -Raw | ConvertFrom-Json
        $saved.downloadIdleTimeoutSeconds | Should -Be 3
        $saved.downloadMinBytesPerSecond | Should -Be 4096
        Set-FalConfiguration -Reset
        (Get-FalConfiguration).DownloadMinBytesPerSecond | Should -Be 4096   # from the saved file
        Set-FalConfiguration -Reset -Save
        (Get-FalConfiguration).DownloadMinBytesPerSecond | Should -Be 8192
    }

    It 'a price override file that is missing or not JSON is FalPriceOverrideInvalid and is not used' {
        { Set-FalConfiguration -PriceOverridePath ./missing.json -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalPriceOverrideInvalid,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand'
        '{ not json' | Set-Content ./broken.json
        { Set-FalConfiguration -PriceOverridePath ./broken.json -ErrorAction Stop } |
            Should -Throw -ErrorId 'FalPriceOverrideInvalid,FalVideo.PowerShell.Cmdlets.SetFalConfigurationCommand'
        (Get-FalConfiguration).PriceOverridePath | Should -BeNullOrEmpty
    }
}
