<#
.SYNOPSIS
  A CSV of prompts becomes video files on disk, with the cost known before anything is spent.
.EXAMPLE
  ./examples/csv-to-videos.ps1 -Csv ../shared/data/seed-prompts.csv -OutDir ./out
#>
param(
    [string] $Csv = (Join-Path $PSScriptRoot '../../shared/data/seed-prompts.csv'),
    [string] $OutDir = './out'
)

$rows = Import-Csv $Csv
"== What it will cost =="
$rows | Measure-VideoCost | Format-Table -AutoSize

"== Rows for retired models are refused before anything is sent =="
$rows | Where-Object Model -like 'sora-*' | New-KlingVideo -ErrorAction Continue

"== Kling rows =="
$kling = $rows | Where-Object Model -like 'kling-*' | New-KlingVideo -Wait | Save-FalVideo -Directory $OutDir -Force
"== Hailuo rows =="
$hailuo = $rows | Where-Object Model -like 'hailuo-*' | New-HailuoVideo -Wait | Save-FalVideo -Directory $OutDir -Force

$saved = @($kling) + @($hailuo)
$saved | Export-Csv (Join-Path $OutDir 'done.csv') -NoTypeInformation
$saved | Format-Table Name, Length, RequestId, Model, EstimatedCostUsd -AutoSize
"Saved $($saved.Count) videos and a report to $(Join-Path $OutDir 'done.csv')"
