<#
.SYNOPSIS
  Checks FalVideo in the PowerShell that runs this script: the Pester acceptance suite, co-loading with another
  module's System.Text.Json, and the HTTP connection limit. Made for what can't run on the project's Linux machines:
  run it on Windows with both shells.
.DESCRIPTION
  Run it twice on Windows, after `dotnet tool restore` and `dotnet build FalVideo.sln -c Release` (the .NET 10 SDK
  builds the module, the emulator and the test fixtures):

      powershell.exe -NoProfile -ExecutionPolicy Bypass -File tools\Test-Windows.ps1    # Windows PowerShell 5.1: net472 build
      pwsh -NoProfile -File tools\Test-Windows.ps1                                      # PowerShell 7.4+: net8.0 build

  Each check runs in a fresh process of the same shell, against the local fal emulator:
  - Pester: tests/pester/Invoke-FalVideoPester.ps1 (Pester 5.9.1 from the NuGet folder the build restored it to).
  - Co-loading: another module's System.Text.Json 8.0 (tests/fixtures/OtherJson) loaded before FalVideo, and after
    it; each time a job must complete and the other module must still serialize with its own copy.
  - Connection limit: 8 jobs of 4 s each followed at once by Wait-FalJob. .NET Framework's default of 2 connections
    per host would make that take 16 s or more; the check passes under 12 s.
  - OwnerOnly: a job store created in a new folder (SQLite jobs.db with its -wal and -shm, and a JSON Lines journal
    with its lock file): on Windows the folder and every file must have a protected access list (nothing inherited)
    granting full control to the current user and SYSTEM only; elsewhere, modes 700 and 600.
  Prints one PASS or FAIL line per check and exits 1 when any failed. It also runs on Linux and macOS with pwsh.
.PARAMETER Only
  Runs only the named checks: Pester, CoLoading, ConnectionLimit, OwnerOnly (with -File, separate them with commas).
#>
[CmdletBinding()]
param(
    [string[]] $Only = @('Pester', 'CoLoading', 'ConnectionLimit', 'OwnerOnly')
)
$ErrorActionPreference = 'Stop'
# -File passes "a,b" as one string.
$Only = @($Only | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
$unknown = @($Only | Where-Object { $_ -notin 'Pester', 'CoLoading', 'ConnectionLimit', 'OwnerOnly' })
if ($unknown) { throw "Unknown check(s): $($unknown -join ', '); allowed: Pester, CoLoading, ConnectionLimit, OwnerOnly." }
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
# This shell's executable (not the process path: the pinned pwsh runs inside dotnet.exe).
$shell = if ($PSVersionTable.PSEdition -eq 'Core') {
    Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
} else { Join-Path $PSHOME 'powershell.exe' }
$manifest = Join-Path $root 'artifacts/module/FalVideo/FalVideo.psd1'
$otherJson = Join-Path $root 'tests/fixtures/OtherJson/bin/Release/netstandard2.0/OtherJson.dll'
foreach ($needed in $manifest, $otherJson) {
    if (-not (Test-Path $needed)) { throw "$needed is missing: run dotnet build FalVideo.sln -c Release first." }
}
$edition = if ($PSVersionTable.PSEdition) { $PSVersionTable.PSEdition } else { 'Desktop' }
"FalVideo checks in PowerShell $($PSVersionTable.PSVersion) ($edition) on $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription), $([System.Runtime.InteropServices.RuntimeInformation]::FrameworkDescription)"

# Runs a script in a fresh process of this shell; returns its exit code and output.
function Invoke-Child([string] $Script, [string[]] $Arguments = @()) {
    $file = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-check-$([guid]::NewGuid().ToString('N')).ps1"
    Set-Content -Path $file -Value $Script -Encoding UTF8
    try {
        $output = & $shell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $file @Arguments 2>&1 | Out-String
        [pscustomobject]@{ Code = $LASTEXITCODE; Output = $output }
    }
    finally { Remove-Item $file -ErrorAction Ignore }
}

$results = New-Object System.Collections.Generic.List[object]
function Add-Result([string] $Check, [bool] $Passed, [string] $Detail) {
    $results.Add([pscustomobject]@{ Check = $Check; Passed = $Passed; Detail = $Detail })
    "{0} {1}: {2}" -f $(if ($Passed) { 'PASS' } else { 'FAIL' }), $Check, $Detail
}

if ($Only -contains 'Pester') {
    $run = & $shell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File (Join-Path $root 'tests/pester/Invoke-FalVideoPester.ps1') -Output Normal 2>&1 | Out-String
    $code = $LASTEXITCODE
    $summary = ([regex]::Matches($run, 'Pester: \d+ passed, \d+ failed') | Select-Object -Last 1).Value
    if ($code -ne 0) { $run }
    Add-Result 'Pester' ($code -eq 0 -and $summary) $(if ($summary) { $summary } else { "no summary line (exit $code)" })
}

if ($Only -contains 'CoLoading' -or $Only -contains 'ConnectionLimit') {
    # 8 jobs run at once, so the connection check measures the client, not the queue.
    $emulator = & (Join-Path $root 'examples/Start-FalEmulator.ps1') -Concurrency 8
    try {
        $setup = @"
`$ErrorActionPreference = 'Stop'
`$env:FALVIDEO_JOURNAL = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-check-`$PID.jsonl"
`$env:FALVIDEO_CONFIG = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-check-`$PID.json"
"@
        if ($Only -contains 'CoLoading') {
            foreach ($otherFirst in $true, $false) {
                $script = $setup + @"

if (`$$otherFirst) { Add-Type -Path '$otherJson' }
Import-Module '$manifest'
Set-FalConfiguration -BaseUrl '$($emulator.BaseUrl)' -ApiKey 'check-key'
`$job = New-KlingVideo -Prompt 'Co-loading check' -Duration 3 -GenerateAudio `$false | Wait-FalJob
if (-not `$$otherFirst) { Add-Type -Path '$otherJson' }
"STATUS=`$(`$job.Status)"
"OTHER=`$([OtherJson.OtherJsonModule]::Roundtrip())"
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'System.Text.Json' } |
    ForEach-Object { "JSON=`$(`$_.GetName().Version) `$(`$_.Location)" }
"@
                $run = Invoke-Child $script
                $ok = $run.Code -eq 0 -and $run.Output -match 'STATUS=Completed' -and $run.Output -match 'OTHER=\{"module":"other"'
                if (-not $ok) { $run.Output }
                $jsons = ([regex]::Matches($run.Output, 'JSON=(\S+)') | ForEach-Object { $_.Groups[1].Value }) -join ', '
                Add-Result "CoLoading ($(if ($otherFirst) { 'other module first' } else { 'FalVideo first' }))" $ok "System.Text.Json loaded: $jsons"
            }
        }
        if ($Only -contains 'ConnectionLimit') {
            $script = $setup + @"

Import-Module '$manifest'
Set-FalConfiguration -BaseUrl '$($emulator.BaseUrl)' -ApiKey 'check-key'
`$jobs = 1..8 | ForEach-Object { New-KlingVideo -Prompt "Connection check `$_ [emulator:seconds=4]" -Duration 3 -GenerateAudio `$false }
`$watch = [System.Diagnostics.Stopwatch]::StartNew()
`$done = `$jobs | Wait-FalJob -ThrottleLimit 8
"COMPLETED=`$(@(`$done | Where-Object Status -eq 'Completed').Count)"
"SECONDS=`$([math]::Round(`$watch.Elapsed.TotalSeconds, 1))"
if (`$PSVersionTable.PSEdition -ne 'Core') { "LIMIT=`$([System.Net.ServicePointManager]::FindServicePoint([uri]'$($emulator.BaseUrl)').ConnectionLimit)" }
"@
            $run = Invoke-Child $script
            $seconds = [double]([regex]::Match($run.Output, 'SECONDS=([0-9.]+)').Groups[1].Value)
            $ok = $run.Code -eq 0 -and $run.Output -match 'COMPLETED=8' -and $seconds -gt 0 -and $seconds -lt 12
            if (-not $ok) { $run.Output }
            $limit = [regex]::Match($run.Output, 'LIMIT=(\d+)').Groups[1].Value
            Add-Result 'ConnectionLimit' $ok ("8 jobs of 4 s followed in $seconds s" + $(if ($limit) { "; connection limit $limit" } else { '' }))
        }
    }
    finally { $emulator.Process | Stop-Process -Force -ErrorAction Ignore }
}

if ($Only -contains 'OwnerOnly') {
    # No fal request: the store is written directly through the module's own types, in a folder that does not exist yet.
    $folder = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-acl-$([guid]::NewGuid().ToString('N'))"
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$manifest'
`$job = New-Object FalVideo.Jobs.FalJob -Property @{ RequestId = 'acl-check'; EndpointId = 'fal-ai/acl-check' }
`$sqlite = Join-Path '$folder' 'store/jobs.db'
[FalVideo.Journal.JobStore]::Open(`$sqlite).Append('submitted', `$job)
[FalVideo.Journal.JobStore]::Open((Join-Path '$folder' 'journal/journal.jsonl')).Append('submitted', `$job)
# The pooled connection keeps jobs.db-wal and jobs.db-shm open, so they exist while this runs.
`$paths = @((Join-Path '$folder' 'store'), `$sqlite, "`$sqlite-wal", "`$sqlite-shm", (Join-Path '$folder' 'journal'),
    (Join-Path '$folder' 'journal/journal.jsonl'), (Join-Path '$folder' 'journal/journal.jsonl.lock'))
`$onWindows = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
`$me = if (`$onWindows) { [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value }
foreach (`$path in `$paths) {
    if (-not (Test-Path `$path)) { "BAD `$path is missing"; continue }
    if (`$onWindows) {
        `$acl = Get-Acl `$path
        `$rules = @(`$acl.GetAccessRules(`$true, `$true, [System.Security.Principal.SecurityIdentifier]))
        `$sids = @(`$rules | ForEach-Object { `$_.IdentityReference.Value } | Sort-Object -Unique)
        `$full = @(`$rules | Where-Object { `$_.AccessControlType -eq 'Allow' -and (`$_.FileSystemRights -band [System.Security.AccessControl.FileSystemRights]::FullControl) -eq [System.Security.AccessControl.FileSystemRights]::FullControl })
        `$ok = `$acl.AreAccessRulesProtected -and `$rules.Count -eq `$full.Count -and (`$sids -join ',') -eq ((@(`$me, 'S-1-5-18') | Sort-Object) -join ',')
        "`$(if (`$ok) { 'OK' } else { 'BAD' }) `$path protected=`$(`$acl.AreAccessRulesProtected) `$((`$rules | ForEach-Object { "`$(`$_.IdentityReference.Value):`$(`$_.AccessControlType):`$(`$_.FileSystemRights)" }) -join ' ')"
    } else {
        `$mode = (& stat -c '%a' `$path 2>`$null); if (-not `$mode) { `$mode = (& stat -f '%Lp' `$path) }
        `$want = if (Test-Path `$path -PathType Container) { '700' } else { '600' }
        "`$(if (`$mode -eq `$want) { 'OK' } else { 'BAD' }) `$path mode `$mode"
    }
}
"@
    try {
        $run = Invoke-Child $script
        $bad = @($run.Output -split "`n" | Where-Object { $_ -match '^BAD ' })
        $okCount = @($run.Output -split "`n" | Where-Object { $_ -match '^OK ' }).Count
        $ok = $run.Code -eq 0 -and $bad.Count -eq 0 -and $okCount -eq 7
        if (-not $ok) { $run.Output }
        Add-Result 'OwnerOnly' $ok "$okCount of 7 store folders and files owner-only$(if ($bad) { '; ' + ($bad -join '; ') })"
    }
    finally { Remove-Item $folder -Recurse -Force -ErrorAction Ignore }
}

$failed = @($results | Where-Object { -not $_.Passed }).Count
"$($results.Count - $failed) of $($results.Count) checks passed in PowerShell $($PSVersionTable.PSVersion) ($edition)"
exit $(if ($failed) { 1 } else { 0 })
