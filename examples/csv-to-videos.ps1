<#
.SYNOPSIS
  A CSV of prompts becomes video files on disk, with the cost known before anything is spent.
.DESCRIPTION
  Prints what the rows will cost, submits the Kling and Hailuo rows, waits for them, saves the videos to -OutDir and
  writes done.csv there. Rows for Sora 2 are refused before anything is sent (the model is retired upstream): they
  are reported, and are not a failure of the run. Exits 0 when every other row produced a saved video, else 1.
.EXAMPLE
  dotnet pwsh -NoProfile -File examples/csv-to-videos.ps1 -Emulator

  Against the local fal emulator (build it first: dotnet build FalVideo.sln -c Release): no key, no credits. The
  emulator's jobs go to a job store of their own, jobs-emulator.db beside the default store (on Linux
  ~/.local/share/FalVideo/), never to the store of real fal jobs; -JournalPath picks another.
.EXAMPLE
  $env:FAL_KEY = '<your key>'; ./examples/csv-to-videos.ps1 -Csv ../shared/data/seed-prompts.csv -OutDir ./out
#>
param(
    [string] $Csv = (Join-Path $PSScriptRoot '../../shared/data/seed-prompts.csv'),
    [string] $OutDir = './out',
    # Run against the local fal emulator instead of fal.ai.
    [switch] $Emulator,
    # With -Emulator: how long each emulated job runs once started (default 0, instant).
    [double] $JobSeconds = 0,
    # With -Emulator: the job store for the emulator's jobs (default: jobs-emulator.db beside the default store).
    [string] $JournalPath
)

# The module built in this repository when there is one, else the installed FalVideo.
$built = Join-Path $PSScriptRoot '../artifacts/module/FalVideo/FalVideo.psd1'
Import-Module $(if (Test-Path $built) { $built } else { 'FalVideo' }) -ErrorAction Stop

if ($Emulator) {
    $local = & (Join-Path $PSScriptRoot 'Start-FalEmulator.ps1') -JobSeconds $JobSeconds
    "fal emulator listening on $($local.BaseUrl)"
    # A rehearsal never mixes with real spend: the emulator's jobs go to a store of their own, beside the default one
    # (each job also records the host it went to, so even a shared store keeps them apart).
    if (-not $JournalPath) {
        $JournalPath = Join-Path ([Environment]::GetFolderPath('LocalApplicationData', 'Create')) 'FalVideo/jobs-emulator.db'
    }
    Set-FalConfiguration -BaseUrl $local.BaseUrl -ApiKey 'emulator-key' -JournalPath $JournalPath
    "emulator jobs are recorded in $JournalPath"
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
    ($saved | Format-Table Id, Size, RequestId, Model, EstimatedCostUsd, Path -AutoSize | Out-String -Width 160).Trim()
    $failed | ForEach-Object { "failed $($_.TargetObject): $($_.Exception.Message)" }
    "Saved $($saved.Count) of $expected videos and a report to $(Join-Path $OutDir 'done.csv'); $($sora.Count) Sora rows refused as expected"
    $exitCode = if ($saved.Count -eq $expected -and -not $failed) { 0 } else { 1 }
}
finally {
    if ($local) {
        # The emulator's store is kept: Get-FalJob with that store lists the rehearsal's jobs.
        $local.Process | Stop-Process -Force
    }
}
exit $exitCode
