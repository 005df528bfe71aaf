<#
.SYNOPSIS
  The benchmark's issue 12 checks that run in real pwsh: pwsh -NoProfile -NonInteractive -File Issue12Checks.ps1 -Check X.
.DESCRIPTION
  Started by the driver (Issue12.cs) against its own emulator, with FALVIDEO_BASE_URL, FAL_KEY and FALVIDEO_JOURNAL
  set by the driver. Each check prints one BENCH-FIGURES line (ResourceChecks.cs, FigureReport): named numbers in
  milliseconds, MB (MiB) or counts, and notes.
    steady       batch 1 over -Csv[0], then one timed batch over each further CSV (fresh rows), same session
    scale        footprint (import + the small batch over -Csv[0]), then Import-Csv -Csv[1] | New-KlingVideo | Wait-FalJob | Out-Null
    store-query  Get-FalJob -Status InQueue,InProgress against the store FALVIDEO_JOURNAL names: first call, then warm
    batch        one batch over -Csv[0] (the re-run check runs it twice, in two processes)
    idempotency  two warm-up batches, then batches alternating without and with -Force, fresh rows each
    download     the jobs of -Csv[0] (untimed), then $jobs | Save-FalVideo -Directory -Directory [-ThrottleLimit]
#>
param(
    [Parameter(Mandatory)] [ValidateSet('steady', 'scale', 'store-query', 'batch', 'idempotency', 'download')] [string] $Check,
    [Parameter(Mandatory)] [string] $Manifest,
    # CSV files, joined with '|' (pwsh -File passes each argument as one string).
    [string] $CsvList = '',
    [string] $Directory,
    [int] $ThrottleLimit = 8,
    [int] $Repeat = 5
)
$ErrorActionPreference = 'Continue'
$Csv = @($CsvList -split '\|' | Where-Object { $_ })
$figures = [ordered]@{}
$notes = [System.Collections.Generic.List[string]]::new()

function Get-ProcStatusMb([string] $Field) {
    $line = [System.IO.File]::ReadAllLines('/proc/self/status') | Where-Object { $_.StartsWith("${Field}:") } | Select-Object -First 1
    if (-not $line) { return [double]::NaN }
    [double] ($line -replace '[^0-9]', '') / 1024
}
function Measure-Ms([scriptblock] $Work) {
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $null = & $Work
    $clock.Stop()
    $clock.Elapsed.TotalMilliseconds
}
function Get-Median([double[]] $Values) {
    $sorted = $Values | Sort-Object
    $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)]
}
function Invoke-FullCollection {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
}

$figures.rss_engine_mb = Get-ProcStatusMb VmRSS
$module = Import-Module $Manifest -PassThru -ErrorAction Stop
$notes.Add("FalVideo $($module.Version), pwsh $($PSVersionTable.PSVersion)")
$Error.Clear()

switch ($Check) {
    'steady' {
        $figures.batch1_ms = Measure-Ms { Import-Csv $Csv[0] | New-KlingVideo | Wait-FalJob }
        $later = foreach ($file in $Csv[1..($Csv.Count - 1)]) { Measure-Ms { Import-Csv $file | New-KlingVideo | Wait-FalJob } }
        $figures.batch2_ms = $later[0]
        $figures.later_median_ms = Get-Median $later
        $figures.later_min_ms = ($later | Measure-Object -Minimum).Minimum
        $figures.later_batches = @($later).Count
    }
    'scale' {
        $null = Import-Csv $Csv[0] | New-KlingVideo | Wait-FalJob
        Invoke-FullCollection
        $figures.footprint_mb = Get-ProcStatusMb VmRSS
        $figures.footprint_peak_mb = Get-ProcStatusMb VmHWM
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Import-Csv $Csv[1] | New-KlingVideo | Wait-FalJob | Out-Null
        $clock.Stop()
        $figures.seconds = $clock.Elapsed.TotalSeconds
        $figures.peak_mb = Get-ProcStatusMb VmHWM
        $figures.growth_mb = $figures.peak_mb - $figures.footprint_mb
    }
    'store-query' {
        Invoke-FullCollection
        $figures.rss_before_mb = Get-ProcStatusMb VmRSS
        # Resets VmHWM to the current RSS, so the peak below is the calls' own.
        try { [System.IO.File]::WriteAllText('/proc/self/clear_refs', '5'); $figures.peak_reset = 1 } catch { $figures.peak_reset = 0 }
        $listed = $null
        $figures.first_ms = Measure-Ms { $script:listed = @(Get-FalJob -Status InQueue, InProgress) }
        $figures.listed = $listed.Count
        $warm = foreach ($i in 1..$Repeat) { Measure-Ms { Get-FalJob -Status InQueue, InProgress } }
        $figures.warm_ms = Get-Median $warm
        $figures.peak_mb = Get-ProcStatusMb VmHWM
        $figures.growth_mb = $figures.peak_mb - $figures.rss_before_mb
    }
    'batch' {
        $jobs = $null
        $figures.batch_ms = Measure-Ms { $script:jobs = @(Import-Csv $Csv[0] | New-KlingVideo | Wait-FalJob) }
        $figures.completed = @($jobs | Where-Object { $_.VideoUrl }).Count
    }
    'idempotency' {
        $null = Measure-Ms { Import-Csv $Csv[0] | New-KlingVideo | Wait-FalJob }
        $null = Measure-Ms { Import-Csv $Csv[1] | New-KlingVideo -Force | Wait-FalJob }
        $checked = [System.Collections.Generic.List[double]]::new()
        $forced = [System.Collections.Generic.List[double]]::new()
        for ($i = 2; $i + 1 -lt $Csv.Count; $i += 2) {
            # Alternating, so a drift of the machine or of the growing store touches both sides alike.
            $checked.Add((Measure-Ms { Import-Csv $Csv[$i] | New-KlingVideo | Wait-FalJob }))
            $forced.Add((Measure-Ms { Import-Csv $Csv[$i + 1] | New-KlingVideo -Force | Wait-FalJob }))
        }
        $figures.checked_ms = Get-Median $checked
        $figures.forced_ms = Get-Median $forced
        $figures.pairs = $checked.Count
        $figures.force_diff_pct = 100 * ($figures.checked_ms - $figures.forced_ms) / $figures.forced_ms
        # The check itself, timed alone: EarlierSubmissions (what New-KlingVideo asks once per row) over as many fresh
        # keys as a batch has rows, against this session's store (it now holds every job of the batches above). The
        # keys have the shape of real ones (SHA-256 hex); the pwsh loop's own cost is measured apart and taken off.
        $rows = @(Import-Csv $Csv[0]).Count
        $keys = foreach ($i in 1..$rows) { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes("fresh-$i-$([guid]::NewGuid())"))).ToLowerInvariant() }
        $store = [FalVideo.Journal.SqliteJobStore]::new($env:FALVIDEO_JOURNAL)
        $lookups = foreach ($round in 1..$Repeat) {
            $earlier = [FalVideo.Journal.EarlierSubmissions]::new($store, $null)
            $found = 0
            $ms = Measure-Ms { foreach ($k in $keys) { if ($null -ne $earlier.Next($k)) { $script:found++ } } }
            $loop = Measure-Ms { foreach ($k in $keys) { if ($null -ne $k.GetHashCode()) { $script:found += 0 } } }
            $ms - $loop
        }
        $figures.lookup_rows = $rows
        $figures.lookup_ms = Get-Median $lookups
        $figures.lookup_found = $found
        $figures.overhead_pct = 100 * $figures.lookup_ms / $figures.checked_ms
    }
    'download' {
        $jobs = @(Import-Csv $Csv[0] | New-KlingVideo | Wait-FalJob)
        $figures.jobs = $jobs.Count
        $parallel = (Get-Command Save-FalVideo).Parameters.ContainsKey('ThrottleLimit')
        $figures.throttle_limit = if ($parallel) { $ThrottleLimit } else { 0 }
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        if ($parallel) { $jobs | Save-FalVideo -Directory $Directory -ThrottleLimit $ThrottleLimit | Out-Null }
        else { $jobs | Save-FalVideo -Directory $Directory | Out-Null }
        $clock.Stop()
        $files = @(Get-ChildItem -LiteralPath $Directory -File)
        $figures.seconds = $clock.Elapsed.TotalSeconds
        $figures.files = $files.Count
        $figures.bytes = [double] ($files | Measure-Object -Property Length -Sum).Sum
    }
}

$figures.errors = $Error.Count
foreach ($e in @($Error)[0..2]) { if ($e) { $notes.Add("error: $e") } }
'BENCH-FIGURES ' + (@{ check = $Check; figures = $figures; notes = $notes } | ConvertTo-Json -Compress -Depth 4)
