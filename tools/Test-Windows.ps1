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
  Prints one PASS or FAIL line per check and exits 1 when any failed. It also runs on Linux and macOS with pwsh.
.PARAMETER Only
  Runs only the named checks: Pester, CoLoading, ConnectionLimit (with -File, separate them with commas).
#>
[CmdletBinding()]
param(
    [string[]] $Only = @('Pester', 'CoLoading', 'ConnectionLimit')
)
$ErrorActionPreference = 'Stop'
# -File passes "a,b" as one string.
$Only = @($Only | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
$unknown = @($Only | Where-Object { $_ -notin 'Pester', 'CoLoading', 'ConnectionLimit' })
if ($unknown) { throw "Unknown check(s): $($unknown -join ', '); allowed: Pester, CoLoading, ConnectionLimit." }
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

$failed = @($results | Where-Object { -not $_.Passed }).Count
"$($results.Count - $failed) of $($results.Count) checks passed in PowerShell $($PSVersionTable.PSVersion) ($edition)"
exit $(if ($failed) { 1 } else { 0 })
