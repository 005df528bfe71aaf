# What a PowerShell user sees when something goes wrong, and where local media files are read from: errors name the
# CSV row (its number and Id) and carry the row itself; one problem says its text once (also in ConciseView under
# pwsh -File); -Debug shows each request and answer with the key masked; media paths resolve as PowerShell paths
# (~, the current location, PSDrives), checked by the bytes the emulator received.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest

    # Eight rows; rows 3 and 7 are bad in different ways.
    $script:Rows = 1..8 | ForEach-Object {
        [pscustomobject]@{
            Id = "r$_"; Prompt = "A kite number $_"
            Duration = switch ($_) { 3 { '99' } 7 { 'ten' } default { '5' } }
        }
    }
    $script:Rows | Export-Csv rows.csv
    $script:Rows | Select-Object @{ n = 'Row'; e = { [int]$_.Id.Substring(1) } }, * | Export-Csv numbered.csv

    # A PNG with trailing bytes of its own, so each test can tell its file's upload from every other one's.
    function New-MarkedImage([string] $Path, [string] $Mark) {
        $file = New-TestImage $Path
        $bytes = [System.IO.File]::ReadAllBytes($file.FullName) + [System.Text.Encoding]::ASCII.GetBytes($Mark)
        [System.IO.File]::WriteAllBytes($file.FullName, $bytes)
        $bytes
    }
    function Get-UploadedBytes([string] $Url) {
        $Url | Should -Not -BeNullOrEmpty
        $Url | Should -Match '^http'
        $response = Invoke-WebRequest $Url
        if ($response.Content -is [byte[]]) { $response.Content } else { $response.RawContentStream.ToArray() }
    }
    # Runs a script in a child pwsh -File with output redirected (ConciseView, 80 columns), returns all it printed.
    function Invoke-ChildPwsh([string] $Body) {
        $script = Join-Path $script:Work "child-$([guid]::NewGuid().ToString('N')).ps1"
        Set-Content $script "Import-Module '$script:ModuleManifest'`n$Body"
        $exe = [Environment]::ProcessPath
        # pwsh run as a .NET tool is dotnet with pwsh.dll as its first argument.
        $prefix = @(if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { [Environment]::GetCommandLineArgs()[0] })
        (& $exe @prefix -NoProfile -NonInteractive -File $script 2>&1 | Out-String)
    }
    function Get-Count([string] $Text, [string] $Literal) { ([regex]::Matches($Text, [regex]::Escape($Literal))).Count }
}

AfterAll { Complete-FalTest }

Describe 'A bad row''s error names the row and carries it' {
    It 'names the CSV row and its Id: Row 3 (r3), Row 7 (r7)' {
        $errors = $null
        Import-Csv rows.csv | New-KlingVideo -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 2
        $errors[0].ErrorDetails.Message | Should -BeLike 'Row 3 (r3): Duration 99 *'
        $errors[1].ErrorDetails.Message | Should -BeLike "Row 7 (r7): Duration 'ten' *"
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand' }
    }

    It 'its TargetObject is the input row: $err.TargetObject | Export-Csv failed.csv rebuilds the failed rows' {
        $errors = $null
        Import-Csv rows.csv | New-KlingVideo -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.TargetObject | Export-Csv failed.csv
        $failed = Import-Csv failed.csv
        $failed.Count | Should -Be 2
        ($failed[0].PSObject.Properties.Name -join ',') | Should -Be 'Id,Prompt,Duration'
        $failed[0].Id | Should -Be 'r3'; $failed[0].Prompt | Should -Be 'A kite number 3'; $failed[0].Duration | Should -Be '99'
        $failed[1].Id | Should -Be 'r7'; $failed[1].Prompt | Should -Be 'A kite number 7'; $failed[1].Duration | Should -Be 'ten'
        # Fixed and sent again, the rebuilt rows go through.
        $before = (Get-EmulatorStats).accepted_submissions
        $jobs = Import-Csv failed.csv | ForEach-Object { $_.Duration = '5'; $_ } | New-KlingVideo
        ($jobs.Id | Sort-Object) | Should -Be @('r3', 'r7')
        (Get-EmulatorStats).accepted_submissions | Should -Be ($before + 2)
    }

    It 'after Where-Object the Id names the row; a Row column keeps the CSV''s numbers' {
        $errors = $null
        Import-Csv rows.csv | Where-Object Id -ne 'r1' | New-KlingVideo -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        # Counted as the rows reach the cmdlet: r7 is the sixth row that got there. The Id says which it is.
        $errors[1].ErrorDetails.Message | Should -BeLike 'Row 6 (r7): *'
        $errors = $null
        Import-Csv numbered.csv | Where-Object Id -ne 'r1' | New-KlingVideo -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].ErrorDetails.Message | Should -BeLike 'Row 3 (r3): *'
        $errors[1].ErrorDetails.Message | Should -BeLike 'Row 7 (r7): *'
        $errors[1].TargetObject.Row | Should -Be '7'
    }

    It 'Measure-VideoCost names the row the same way and carries it' {
        $errors = $null
        $rows = Import-Csv numbered.csv | Where-Object Id -ne 'r2' | Measure-VideoCost -NoTotal -ErrorVariable errors -ErrorAction SilentlyContinue
        ($rows | Where-Object Id -eq 'r8').Row | Should -Be 8
        $refused = $rows | Where-Object Id -eq 'r3'
        $refused.RefusedReason | Should -BeLike 'Row 3 (r3): *'
        $errors.Count | Should -Be 1
        $errors[0].ErrorDetails.Message | Should -BeLike "Row 7 (r7): Duration 'ten' *"
        $errors[0].TargetObject.Id | Should -Be 'r7'
        $errors[0].TargetObject.Prompt | Should -Be 'A kite number 7'
    }
}

Describe 'One message per problem' {
    It 'a bad CSV value is said once, in the record and in the rendered error' {
        $errors = $null
        [pscustomobject]@{ Id = 'once'; Prompt = 'x'; Duration = 'abc' } | New-KlingVideo -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        Get-Count $errors[0].ErrorDetails.Message "Duration 'abc'" | Should -Be 1
        Get-Count ($errors[0] | Out-String -Width 400) "Duration 'abc'" | Should -Be 1
    }

    It 'a 404 names the request id once (Save-FalVideo, Stop-FalJob), and Wait-FalJob once more only in its retry command' {
        $id = [guid]::NewGuid().ToString()
        $endpoint = 'fal-ai/kling-video/v3/pro/text-to-video'
        $errors = $null
        Save-FalVideo -RequestId $id -EndpointId $endpoint -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        Get-Count ($errors[0] | Out-String -Width 400) $id | Should -Be 1
        $errors[0].ErrorDetails.Message | Should -Match 'HTTP 404'
        $errors = $null
        Stop-FalJob -RequestId $id -EndpointId $endpoint -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-Count ($errors[0] | Out-String -Width 400) $id | Should -Be 1
        $errors = $null
        Wait-FalJob -RequestId $id -EndpointId $endpoint -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-Count ($errors[0] | Out-String -Width 400) $id | Should -Be 2
        $errors[0].ErrorDetails.Message | Should -BeLike "Getting the status of request $id failed: HTTP 404 Not Found: Request not found. The job stays in the journal (Unknown); try again with: Get-FalJob -RequestId $id -EndpointId $endpoint | Wait-FalJob"
    }

    It 'ConciseView under pwsh -File (redirected, 80 columns) shows each text once' {
        $id = [guid]::NewGuid().ToString()
        $out = Invoke-ChildPwsh @"
`$rows = @([pscustomobject]@{ Id = 'child'; Prompt = 'x'; Duration = 'abc' })
`$rows | New-KlingVideo
# In a variable: ConciseView quotes the failing line, which must not name the id itself.
`$id = '$id'
Save-FalVideo -RequestId `$id -EndpointId fal-ai/kling-video/v3/pro/text-to-video
"@
        $out | Should -Match 'Row 1 \(child\): Duration'
        Get-Count $out "Duration 'abc'" | Should -Be 1
        Get-Count $out $id | Should -Be 1
        Get-Count $out 'HTTP 404' | Should -Be 1
    }
}

Describe '-Debug shows each request and answer, key masked' {
    It 'the submit''s headers and body, and fal''s answer, appear with -Debug; the key does not' {
        $out = New-KlingVideo -Prompt 'Debug shows this prompt' -Duration 5 -Debug 5>&1 4>&1
        $jobs = @($out | Where-Object { $_ -is [FalVideo.Jobs.FalJob] })
        $jobs.Count | Should -Be 1
        $debug = @($out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
        $request = $debug | Where-Object { $_ -like 'HTTP request: POST *fal-ai/kling-video/v3/pro/text-to-video*' }
        @($request).Count | Should -Be 1
        $request | Should -Match 'Authorization: Key \*\*\*\*'
        $request | Should -Match 'User-Agent: FalVideo/'
        $request | Should -Match 'Content-Type: application/json'
        $request | Should -Match ([regex]::Escape('"prompt":"Debug shows this prompt"'))
        $answer = $debug | Where-Object { $_ -like 'HTTP response: 200 *' }
        @($answer).Count | Should -BeGreaterOrEqual 1
        $answer | Should -Match ([regex]::Escape($jobs[0].RequestId))
        ($out | Out-String -Width 1000) | Should -Not -Match 'pester-key'
        ($debug -join "`n") | Should -Not -Match 'pester-key'
    }

    It 'works with $DebugPreference = Continue too, and shows nothing without it' {
        $DebugPreference = 'Continue'
        $out = New-KlingVideo -Prompt 'Preference shows this' -Duration 5 5>&1
        $DebugPreference = 'SilentlyContinue'
        @($out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -match 'Preference shows this' }).Count | Should -Be 1
        $quiet = New-KlingVideo -Prompt 'Quiet' -Duration 5 5>&1
        @($quiet | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }).Count | Should -Be 0
    }

    It 'the cmdlets that follow and save a job show their calls with -Debug too, without stopping to ask at verbose lines' {
        $job = New-KlingVideo -Prompt 'Followed under debug' -Duration 5
        $out = Get-FalJob -RequestId $job.RequestId -EndpointId $job.EndpointId -Debug 5>&1
        @($out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -like "HTTP request: GET *$($job.RequestId)/status*" }).Count | Should -BeGreaterOrEqual 1
        $out = $job | Wait-FalJob -Debug 5>&1
        $done = @($out | Where-Object { $_ -is [FalVideo.Jobs.FalJob] })
        $done.Count | Should -Be 1
        $debug = @($out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
        @($debug | Where-Object { $_ -like "HTTP response: 200 * to GET *$($job.RequestId)*" }).Count | Should -BeGreaterOrEqual 1
        # The verbose lines (one per HTTP attempt) come as debug lines under -Debug alone.
        @($debug | Where-Object { $_ -match '^GET .* -> 200 \(\d+ ms\)$' }).Count | Should -BeGreaterOrEqual 1
        $out = $done[0] | Save-FalVideo -Directory ./debug-save -Debug 5>&1
        $download = @($out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -like 'HTTP response: 200 *' -and $_.Message -match 'video/mp4' })
        $download.Count | Should -Be 1
        $download[0].Message | Should -Match 'Body: video/mp4, \d+ bytes, not shown'
        @(Get-ChildItem ./debug-save -Filter *.mp4).Count | Should -Be 1
    }

    It 'a long body is cut at the stated limit' {
        # An input field fal does not know: the body is sent whatever fal answers, and shown cut.
        $out = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/text-to-video -Input @{ prompt = 'Long'; note = 'a' * 5000 } -Debug 5>&1 -ErrorAction SilentlyContinue
        $request = $out | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -like 'HTTP request: POST*' } | ForEach-Object Message
        $request | Should -Match 'cut at 4096 of \d+ characters'
        $request.Length | Should -BeLessThan 5000
    }
}

Describe 'Local media paths resolve as PowerShell paths' {
    BeforeAll {
        $null = New-Item -ItemType Directory (Join-Path $script:Work 'acc'), (Join-Path $script:Work 'home'), (Join-Path $script:Work 'sub')
        $script:AccDrive = New-PSDrive -Name acc -PSProvider FileSystem -Root (Join-Path $script:Work 'acc')
        $script:SavedHome = (Get-PSProvider FileSystem).Home
    }
    AfterAll {
        Remove-PSDrive acc -ErrorAction Ignore
        (Get-PSProvider FileSystem).Home = $script:SavedHome
    }

    It '-StartImage acc:/bowl.png (a PSDrive) uploads that file''s bytes' {
        $bytes = New-MarkedImage 'acc/bowl.png' 'psdrive'
        $job = New-KlingVideo -Prompt 'A bowl' -StartImage acc:/bowl.png -Duration 5
        $job.EndpointId | Should -Be 'fal-ai/kling-video/v3/pro/image-to-video'
        Get-UploadedBytes ($job.Input | ConvertFrom-Json).start_image_url | Should -Be $bytes
    }

    It '-StartImage ~/x.png uploads the file in the FileSystem provider''s home' {
        $bytes = New-MarkedImage 'home/x.png' 'home'
        (Get-PSProvider FileSystem).Home = Join-Path $script:Work 'home'
        $job = New-KlingVideo -Prompt 'Home' -StartImage ~/x.png -Duration 5
        Get-UploadedBytes ($job.Input | ConvertFrom-Json).start_image_url | Should -Be $bytes
    }

    It 'a relative path is taken from the current location, not the process''s working folder' {
        $bytes = New-MarkedImage 'sub/near.png' 'location'
        # The process's folder stays the test folder, where no near.png exists.
        Push-Location (Join-Path $script:Work 'sub')
        try { $job = New-KlingVideo -Prompt 'Near' -StartImage ./near.png -Duration 5 }
        finally { Pop-Location }
        [Environment]::CurrentDirectory | Should -Be $script:Work
        Get-UploadedBytes ($job.Input | ConvertFrom-Json).start_image_url | Should -Be $bytes
    }

    It '-EndImage and elements'' files resolve the same way' {
        $start = New-MarkedImage 'acc/start.png' 'start'
        $end = New-MarkedImage 'acc/end.png' 'end'
        $front = New-MarkedImage 'home/front.png' 'front'
        $reference = New-MarkedImage 'acc/ref.png' 'reference'
        (Get-PSProvider FileSystem).Home = Join-Path $script:Work 'home'
        $element = [pscustomobject]@{ FrontalImage = '~/front.png'; ReferenceImages = @('acc:/ref.png') }
        $job = New-KlingVideo -Prompt '@Element1 walks' -StartImage acc:/start.png -EndImage acc:/end.png -Element $element -Duration 5
        $sent = $job.Input | ConvertFrom-Json
        Get-UploadedBytes $sent.start_image_url | Should -Be $start
        Get-UploadedBytes $sent.end_image_url | Should -Be $end
        Get-UploadedBytes $sent.elements[0].frontal_image_url | Should -Be $front
        Get-UploadedBytes $sent.elements[0].reference_image_urls[0] | Should -Be $reference
    }

    It 'New-KlingMotionVideo -Image and -MotionVideo on a PSDrive' {
        $image = New-MarkedImage 'acc/hero.png' 'hero'
        $null = New-TestVideo 'acc/walk.mp4'
        $video = [System.IO.File]::ReadAllBytes((Join-Path $script:Work 'acc/walk.mp4'))
        $job = New-KlingMotionVideo -Image acc:/hero.png -MotionVideo acc:/walk.mp4 -CharacterOrientation image
        $sent = $job.Input | ConvertFrom-Json
        Get-UploadedBytes $sent.image_url | Should -Be $image
        Get-UploadedBytes $sent.video_url | Should -Be $video
    }

    It 'CSV rows name PSDrive and ~ paths' {
        $a = New-MarkedImage 'acc/row-a.png' 'row a'
        $b = New-MarkedImage 'home/row-b.png' 'row b'
        (Get-PSProvider FileSystem).Home = Join-Path $script:Work 'home'
        @(
            [pscustomobject]@{ Id = 'ca'; Prompt = 'Row a'; StartImage = 'acc:/row-a.png'; Duration = '5' }
            [pscustomobject]@{ Id = 'cb'; Prompt = 'Row b'; StartImage = '~/row-b.png'; Duration = '5' }
        ) | Export-Csv images.csv
        $jobs = Import-Csv images.csv | New-KlingVideo
        Get-UploadedBytes (($jobs | Where-Object Id -eq 'ca').Input | ConvertFrom-Json).start_image_url | Should -Be $a
        Get-UploadedBytes (($jobs | Where-Object Id -eq 'cb').Input | ConvertFrom-Json).start_image_url | Should -Be $b
    }

    It 'Invoke-FalModel uploads a PSDrive path in a _url field' {
        $bytes = New-MarkedImage 'acc/invoke.png' 'invoke'
        $job = Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/image-to-video -Input @{ prompt = 'Invoke'; start_image_url = 'acc:/invoke.png'; duration = '5' }
        Get-UploadedBytes ($job.Input | ConvertFrom-Json).start_image_url | Should -Be $bytes
    }

    It 'a path on another provider, or an unknown drive, is a clear FalInvalidInput error and nothing is sent' {
        $before = Get-EmulatorStats
        $errors = $null
        New-KlingVideo -Prompt 'Env' -StartImage env:/PATH -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -Be 'FalInvalidInput,FalVideo.PowerShell.Cmdlets.NewKlingVideoCommand'
        $errors[0].ErrorDetails.Message | Should -BeLike "Input: StartImage 'env:/PATH' is on the Environment provider; only files (FileSystem paths) can be uploaded.*"
        $errors = $null
        New-KlingVideo -Prompt 'Nowhere' -StartImage nodrive:/x.png -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].ErrorDetails.Message | Should -BeLike "Input: StartImage 'nodrive:/x.png' is neither an http(s) URL nor a file path PowerShell can resolve*nodrive*"
        $errors = $null
        Invoke-FalModel -EndpointId fal-ai/kling-video/v3/pro/image-to-video -Input @{ prompt = 'Var'; start_image_url = 'variable:/PSHOME' } -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].ErrorDetails.Message | Should -BeLike "*start_image_url 'variable:/PSHOME' is on the Variable provider*"
        $after = Get-EmulatorStats
        $after.uploads | Should -Be $before.uploads
        $after.accepted_submissions | Should -Be $before.accepted_submissions
    }
}

Describe 'A job store that can''t be read is one clear error, never an empty answer' {
    It 'a folder where the store file should be (<Name>): every listing stops with FalJournalNotWritten as a ReadError naming it' -ForEach @(
        @{ Name = 'jobs.db' }, @{ Name = 'journal.jsonl' }
    ) {
        $path = Join-Path $script:Work "folder-store-$([guid]::NewGuid().ToString('n'))" $Name
        $null = New-Item -ItemType Directory -Force $path
        Set-FalConfiguration -JournalPath $path
        foreach ($listing in { Get-FalJob }, { Get-FalJob -Status InQueue, InProgress }, { Get-FalJob -Unfinished }, { Get-FalJobCost -Start (Get-Date).AddDays(-1) }) {
            $err = $null
            try { $null = & $listing } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty -Because "$listing must not answer 'no jobs' for a store it can't read"
            $err.FullyQualifiedErrorId | Should -BeLike 'FalJournalNotWritten,FalVideo.PowerShell.Cmdlets.GetFalJob*Command'
            $err.CategoryInfo.Category | Should -Be 'ReadError'
            $err.Exception.Message | Should -BeLike "*$path*folder*"
        }
    }

    It 'an unreachable PostgreSQL store: FalJournalNotWritten as a ReadError, not the driver''s exception type, and no password' {
        Set-FalConfiguration -JobStore 'Host=127.0.0.1;Port=1;Username=falvideo;Password=pw-not-shown;Database=falvideo;Timeout=2'
        try {
            # One listing: each read retries for PostgresJobStore.RetryWindow (20 s) before it gives up.
            foreach ($listing in @({ Get-FalJob -Unfinished })) {
                $err = $null
                try { $null = & $listing } catch { $err = $_ }
                $err.FullyQualifiedErrorId | Should -Be 'FalJournalNotWritten,FalVideo.PowerShell.Cmdlets.GetFalJobCommand'
                $err.CategoryInfo.Category | Should -Be 'ReadError'
                $err.Exception.Message | Should -BeLike '*127.0.0.1:1*'
                ($err | Out-String) | Should -Not -BeLike '*pw-not-shown*'
            }
        }
        finally { $null = Use-NewJournal 'after-unreachable.db' }
    } -Skip:($PSVersionTable.PSEdition -eq 'Desktop')
}
