<#
.SYNOPSIS
  Renders the fault table (Markdown) from the records the reliability tests leave, one JSON file per fault.
.DESCRIPTION
  Each fault test in tests/FalVideo.Tests/Reliability writes artifacts/reliability/<fault>.json
  ({"order", "fault", "happened", "lost", "test"}); this writes one table row per record, in the tests' order.
  test.sh renders to artifacts/reliability.md after every run; docs/reliability.md is refreshed on purpose only,
  with ./build.ps1 -Task Reliability.
.EXAMPLE
  dotnet pwsh -NoProfile -File tools/Render-ReliabilityTable.ps1 artifacts/reliability artifacts/reliability.md
#>
param(
    [Parameter(Mandatory)] [string] $RecordsFolder,
    [Parameter(Mandatory)] [string] $OutFile
)
$records = @(Get-ChildItem $RecordsFolder -Filter *.json -ErrorAction Ignore)
if ($records.Count -eq 0) {
    [Console]::Error.WriteLine("No fault records in $RecordsFolder; run the tests first.")
    exit 1
}

$rows = $records |
    ForEach-Object { Get-Content $_.FullName -Raw | ConvertFrom-Json } |
    Sort-Object @{ Expression = { if ($null -ne $_.order) { [int] $_.order } else { [int]::MaxValue } } },
                @{ Expression = { [string] $_.fault } }
function Cell([string] $text) { $text.Replace('|', '\|').Replace("`r", ' ').Replace("`n", ' ') }

$lines = @(
    '# Reliability: faults injected and what they cost'
    ''
    'Generated from a test run: each fault test in `tests/FalVideo.Tests/Reliability` injects its fault through the'
    'local fal emulator (or kills, restarts, interrupts), asserts that no accepted job is lost, nothing is submitted'
    'twice and no partial file is left, and records what it measured in `artifacts/reliability/<fault>.json`;'
    '`tools/Render-ReliabilityTable.ps1` turns those records into this table (`./build.ps1 -Task Reliability` runs'
    'the fault tests and refreshes this file). Do not edit it by hand.'
    ''
    '| fault | what happened | what was lost |'
    '|---|---|---|'
    $rows | ForEach-Object { "| $(Cell $_.fault) | $(Cell $_.happened) | $(Cell $_.lost) |" }
)
$full = [System.IO.Path]::GetFullPath($OutFile, (Get-Location).Path)
$null = New-Item -ItemType Directory -Force -Path ([System.IO.Path]::GetDirectoryName($full))
[System.IO.File]::WriteAllText($full, ($lines -join "`n") + "`n")
"${OutFile}: $(@($rows).Count) faults"
