<#
.SYNOPSIS
  Starts the local fal emulator (the built src/FalVideo.Emulator) on a free loopback port and returns it once it answers.
.DESCRIPTION
  Builds nothing: run `dotnet build FalVideo.sln -c Release` first. Returns an object with BaseUrl (for
  Set-FalConfiguration -BaseUrl) and Process (stop it with Stop-Process when done). The emulator's own output goes to
  a log file in the temp folder (LogPath).
.EXAMPLE
  $emulator = ./examples/Start-FalEmulator.ps1 -JobSeconds 2
  try { Set-FalConfiguration -BaseUrl $emulator.BaseUrl -ApiKey 'emulator-key'; ... } finally { $emulator.Process | Stop-Process }
#>
param(
    # How long each emulated job runs once started (0: instant).
    [double] $JobSeconds = 0,
    # How many jobs run at once; the rest wait in the queue (fal's default account limit is 2).
    [int] $Concurrency = 2
)
$dll = Join-Path $PSScriptRoot '../src/FalVideo.Emulator/bin/Release/net10.0/FalVideo.Emulator.dll'
if (-not (Test-Path $dll)) { throw "The emulator is not built ($dll); run: dotnet build FalVideo.sln -c Release" }

# A port nothing listens on now; the emulator binds it a moment later.
$probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
$probe.Start()
$port = $probe.LocalEndpoint.Port
$probe.Stop()
$baseUrl = "http://127.0.0.1:$port"

$log = Join-Path ([System.IO.Path]::GetTempPath()) "falvideo-emulator-$port.log"
$arguments = @((Resolve-Path $dll).Path, '--urls', $baseUrl, '--job-seconds', $JobSeconds.ToString([cultureinfo]::InvariantCulture), '--concurrency', $Concurrency)
$process = Start-Process dotnet -ArgumentList $arguments -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err"

$deadline = [DateTime]::UtcNow.AddSeconds(30)
while ($true) {
    try {
        $null = Invoke-RestMethod "$baseUrl/_emulator/stats" -TimeoutSec 2
        break
    }
    catch {
        if ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
            if (-not $process.HasExited) { $process | Stop-Process -Force }
            throw "The emulator did not answer at $baseUrl/_emulator/stats; see $log"
        }
        Start-Sleep -Milliseconds 100
    }
}
[pscustomobject]@{ BaseUrl = $baseUrl; Process = $process; LogPath = $log }
