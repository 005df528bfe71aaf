<#
.SYNOPSIS
  The benchmark's FalVideo contender, run as a user's runbook runs: pwsh -NoProfile -NonInteractive -File.
.DESCRIPTION
  Started by the driver (FalVideoContender.cs) against its own emulator: the module finds it and the key through
  FALVIDEO_BASE_URL and FAL_KEY, and its journal through FALVIDEO_JOURNAL, all set by the driver. Times the batch
  (Workload.FalVideoBatch) over the rows in -Csv and prints one BENCH-RESULT line (ChildReport.cs) with this
  process's own peak memory and CPU time, which the driver cannot read once the process has exited.
#>
param(
    [Parameter(Mandatory)] [string] $Manifest,
    [Parameter(Mandatory)] [string] $Csv,
    # What a user types for a batch, with $Csv as its parameter.
    [Parameter(Mandatory)] [string] $Batch
)
$module = Import-Module $Manifest -PassThru -ErrorAction Stop
$client = "FalVideo $($module.Version), pwsh $($PSVersionTable.PSVersion)"
$work = [scriptblock]::Create($Batch)

# The timed part: the batch, with the results collected in a variable.
$Error.Clear()
$clock = [System.Diagnostics.Stopwatch]::StartNew()
$jobs = & $work $Csv
$clock.Stop()
$errors = $Error.Count

$peakRssKb = 0
if (Test-Path /proc/self/status) {
    $hwm = Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)' | Select-Object -First 1
    if ($hwm) { $peakRssKb = [long] $hwm.Matches[0].Groups[1].Value }
}
$report = [ordered]@{
    client      = $client
    workSeconds = $clock.Elapsed.TotalSeconds
    completed   = @($jobs | Where-Object { $_.VideoUrl }).Count
    errors      = $errors
    peakRssKb   = $peakRssKb
    cpuSeconds  = [System.Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds
}
'BENCH-RESULT ' + ($report | ConvertTo-Json -Compress)
