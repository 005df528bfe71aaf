# Shared set-up of the Pester acceptance suite, dot-sourced by each *.Tests.ps1 file in its BeforeAll:
#     BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1'); Initialize-FalTest }
#     AfterAll  { Complete-FalTest }
# Each file gets its own emulator process on a free loopback port, its own temp folder (the current directory
# while its tests run), and its own job journal and saved-configuration file in that folder, so nothing touches
# the user's files or the repository's tracked files.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:SharedData = Join-Path $script:RepoRoot '../shared/data'
$script:ModuleManifest = Join-Path $script:RepoRoot 'artifacts/module/FalVideo/FalVideo.psd1'
$script:EmulatorDll = Join-Path $script:RepoRoot 'src/FalVideo.Emulator/bin/Release/net10.0/FalVideo.Emulator.dll'

function Get-FreeLoopbackPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Start-TestEmulator {
    param([string[]] $ExtraArguments = @())
    if (-not (Test-Path $script:EmulatorDll)) { throw "The emulator is not built ($script:EmulatorDll): run dotnet build FalVideo.sln -c Release first." }
    $url = "http://127.0.0.1:$(Get-FreeLoopbackPort)"
    $arguments = @($script:EmulatorDll, '--urls', $url) + $ExtraArguments
    $process = Start-Process dotnet -ArgumentList $arguments -PassThru -RedirectStandardOutput (Join-Path $script:Work 'emulator.out') -RedirectStandardError (Join-Path $script:Work 'emulator.err')
    $deadline = (Get-Date).AddSeconds(30)
    do {
        Start-Sleep -Milliseconds 150
        try { $null = Invoke-RestMethod "$url/_emulator/stats"; $up = $true } catch { $up = $false }
    } until ($up -or $process.HasExited -or (Get-Date) -gt $deadline)
    if (-not $up) { throw "The emulator did not start on ${url}: $(Get-Content (Join-Path $script:Work 'emulator.err') -Raw)" }
    [pscustomobject]@{ Url = $url; Process = $process }
}

function Initialize-FalTest {
    param([string[]] $EmulatorArguments = @())
    if (-not (Test-Path $script:ModuleManifest)) { throw "The module is not built ($script:ModuleManifest): run dotnet build FalVideo.sln -c Release first." }
    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-pester-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory $script:Work
    $script:Emulator = Start-TestEmulator -ExtraArguments $EmulatorArguments
    $script:BaseUrl = $script:Emulator.Url
    $script:Journal = Join-Path $script:Work 'journal.jsonl'
    # The environment the README's examples expect, pointed at this file's emulator and temp files.
    $script:SavedEnvironment = @{}
    $environment = @{
        FALVIDEO_BASE_URL = $script:BaseUrl; FAL_KEY = 'pester-key'; FALVIDEO_JOURNAL = $script:Journal
        FALVIDEO_CONFIG = (Join-Path $script:Work 'config.json'); FALVIDEO_QUEUE_URL = $null; FALVIDEO_REST_URL = $null
        FALVIDEO_PRICE_OVERRIDES = $null; FAL_KEY_ID = $null; FAL_KEY_SECRET = $null
    }
    foreach ($name in $environment.Keys) {
        $script:SavedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $environment[$name])
    }
    Import-Module $script:ModuleManifest
    Set-FalConfiguration -Reset
    Set-FalConfiguration -BaseUrl $script:BaseUrl -ApiKey 'pester-key' -JournalPath $script:Journal
    # As if pwsh had been started in the temp folder: relative paths in environment variables resolve there too.
    Push-Location $script:Work
    $script:SavedCurrentDirectory = [Environment]::CurrentDirectory
    [Environment]::CurrentDirectory = $script:Work
}

function Complete-FalTest {
    Pop-Location -ErrorAction Ignore
    if ($script:SavedCurrentDirectory) { [Environment]::CurrentDirectory = $script:SavedCurrentDirectory }
    if (Get-Module FalVideo) { Set-FalConfiguration -Reset }
    if ($script:Emulator) { Stop-Process -Id $script:Emulator.Process.Id -ErrorAction Ignore; $script:Emulator.Process.WaitForExit(5000) | Out-Null }
    foreach ($name in $script:SavedEnvironment.Keys) { [Environment]::SetEnvironmentVariable($name, $script:SavedEnvironment[$name]) }
    if ($script:Work) { Remove-Item $script:Work -Recurse -Force -ErrorAction Ignore }
}

function Get-EmulatorStats { Invoke-RestMethod "$script:BaseUrl/_emulator/stats" }

function Reset-Emulator {
    $null = Invoke-RestMethod -Method Delete "$script:BaseUrl/_emulator/faults"
    $null = Invoke-RestMethod -Method Post "$script:BaseUrl/_emulator/reset"
}

function Add-EmulatorFault([hashtable] $Rule) {
    $null = Invoke-RestMethod -Method Post "$script:BaseUrl/_emulator/faults" -ContentType 'application/json' -Body ($Rule | ConvertTo-Json)
}

function Get-SharedCsv([string] $Name) { Import-Csv (Join-Path $script:SharedData $Name) }

# A fresh journal for the tests that count what it holds.
function Use-NewJournal([string] $Name) {
    $path = Join-Path $script:Work $Name
    Set-FalConfiguration -JournalPath $path
    $path
}

# Small local files for the examples that name images and videos: a real 1x1 PNG, and the emulator's own sample MP4.
function New-TestImage([string] $Path) {
    $png = [Convert]::FromBase64String('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')
    $full = Join-Path $script:Work $Path
    $null = New-Item -ItemType Directory -Force (Split-Path $full)
    [System.IO.File]::WriteAllBytes($full, $png)
    Get-Item $full
}

function New-TestVideo([string] $Path) {
    $full = Join-Path $script:Work $Path
    $null = New-Item -ItemType Directory -Force (Split-Path $full)
    Copy-Item (Join-Path $script:RepoRoot 'src/FalVideo.Emulator/assets/sample.mp4') $full
    Get-Item $full
}

# prompts.csv as the help examples describe it: Id, Model, Prompt, Duration, AspectRatio, GenerateAudio (Kling and Hailuo rows).
function New-PromptsCsv([string] $Path = 'prompts.csv', [string] $Family) {
    $rows = Get-SharedCsv seed-prompts.csv | Where-Object Model -notlike 'sora*'
    if ($Family) { $rows = $rows | Where-Object Model -like "$Family*" }
    $rows | Select-Object Id, Model, Prompt, Duration, AspectRatio, GenerateAudio | Export-Csv (Join-Path $script:Work $Path)
    Join-Path $script:Work $Path
}

# What a script block shows with -WhatIf: its "What if:" lines (they go to the host, so a transcript catches them)
# and the error records it wrote; its other output is discarded.
function Invoke-WhatIf([scriptblock] $Script) {
    $ErrorActionPreference = 'Continue'
    $transcript = Join-Path $script:Work "whatif-$([guid]::NewGuid().ToString('N')).txt"
    $null = Start-Transcript -Path $transcript -UseMinimalHeader
    try { $output = @(& $Script 2>&1) } finally { $null = Stop-Transcript }
    $whatIf = @(Get-Content $transcript | Where-Object { $_ -like 'What if:*' })
    # Lines: one per row (or job); Batch: the submitting cmdlets' closing line for the whole batch.
    [pscustomobject]@{
        Lines  = @($whatIf | Where-Object { $_ -notlike 'What if: Batch:*' })
        Batch  = @($whatIf | Where-Object { $_ -like 'What if: Batch:*' })
        Errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    }
}

# Requests per emulator route (submit, status, stream, result, cancel, download, upload-initiate, upload-put).
function Get-EmulatorRequestCount([string] $Route) { (Invoke-RestMethod "$script:BaseUrl/_emulator/faults").requests.$Route }
