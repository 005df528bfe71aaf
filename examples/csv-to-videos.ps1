<#
.SYNOPSIS
  A CSV of prompts becomes video files on disk, with the cost known before anything is spent.
.DESCRIPTION
  Prints what the rows will cost, submits the Kling and Hailuo rows, waits for them, saves the videos to -OutDir and
  writes done.csv there. Rows for Sora 2 are refused before anything is sent (the model is retired upstream): they
  are reported, and are not a failure of the run. Exits 0 when every other row produced a saved video, else 1.
.EXAMPLE
  dotnet pwsh -NoProfile -File examples/csv-to-videos.ps1 -Emulator

  Against the local fal emulator (build it first: dotnet build FalVideo.sln -c Release): no key, no credits.
.EXAMPLE
  $env:FAL_KEY = '<your key>'; ./examples/csv-to-videos.ps1 -Csv ../shared/data/seed-prompts.csv -OutDir ./out
#>
param(
    [string] $Csv = (Join-Path $PSScriptRoot '../../shared/data/seed-prompts.csv'),
    [string] $OutDir = './out',
    # Run against the local fal emulator instead of fal.ai.
    [switch] $Emulator,
    # With -Emulator: how long each emulated job runs once started (default 0, instant).
    [double] $JobSeconds = 0
)

# The module built in this repository when there is one, else the installed FalVideo.
$built = Join-Path $PSScriptRoot '../artifacts/module/FalVideo/FalVideo.psd1'
Import-Module $(if (Test-Path $built) { $built } else { 'FalVideo' }) -ErrorAction Stop

if ($Emulator) {
    $local = & (Join-Path $PSScriptRoot 'Start-FalEmulator.ps1') -JobSeconds $JobSeconds
    "fal emulator listening on $($local.BaseUrl)"
    # The emulator's jobs go to a journal of their own, not the one Get-FalJob lists for real fal jobs.
    $journal = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-example-journal-$PID.jsonl"
    Set-FalConfiguration -BaseUrl $local.BaseUrl -ApiKey 'emulator-key' -JournalPath $journal
}
$exitCode = 1
try {
    $rows = Import-Csv $Csv
    "== What it will cost =="
    ($rows | Measure-VideoCost | Format-Table -AutoSize | Out-String -Width 160).Trim()

    "== Rows for retired models are refused before anything is sent =="
    $sora = @($rows | Where-Object Model -like 'sora-*')
    $sora | New-KlingVideo -ErrorAction SilentlyContinue -ErrorVariable refused
    $refused | ForEach-Object { "refused $($_.TargetObject): $($_.Exception.Message)" }

    # Every other row should end as a saved video; what fails is collected per row, not thrown.
    "== Kling rows =="
    $kling = $rows | Where-Object Model -like 'kling-*' |
        New-KlingVideo -Wait -ErrorAction SilentlyContinue -ErrorVariable +failed |
        Save-FalVideo -Directory $OutDir -Force -ErrorAction SilentlyContinue -ErrorVariable +failed
    "== Hailuo rows =="
    $hailuo = $rows | Where-Object Model -like 'hailuo-*' |
        New-HailuoVideo -Wait -ErrorAction SilentlyContinue -ErrorVariable +failed |
        Save-FalVideo -Directory $OutDir -Force -ErrorAction SilentlyContinue -ErrorVariable +failed

    $saved = @($kling) + @($hailuo) | Where-Object { $_ }
    $expected = $rows.Count - $sora.Count
    if ($saved) { $saved | Export-Csv (Join-Path $OutDir 'done.csv') -NoTypeInformation }
    ($saved | Format-Table Name, Length, RequestId, Model, EstimatedCostUsd -AutoSize | Out-String -Width 160).Trim()
    $failed | ForEach-Object { "failed $($_.TargetObject): $($_.Exception.Message)" }
    "Saved $($saved.Count) of $expected videos and a report to $(Join-Path $OutDir 'done.csv'); $($sora.Count) Sora rows refused as expected"
    $exitCode = if ($saved.Count -eq $expected -and -not $failed) { 0 } else { 1 }
}
finally {
    if ($local) {
        $local.Process | Stop-Process -Force
        Remove-Item $journal, "$journal.lock" -ErrorAction Ignore
    }
}
exit $exitCode
