<#
.SYNOPSIS
  Runs the Pester acceptance suite (tests/pester/*.Tests.ps1) against the built module and the local emulator.
.DESCRIPTION
  Pester 5.9.1 comes from the NuGet package folder, where `dotnet build FalVideo.sln` restores it
  (tests/pester/FalVideo.PesterRestore.csproj); pwsh is the one pinned in .config/dotnet-tools.json:

      dotnet tool restore
      dotnet build FalVideo.sln -c Release
      dotnet pwsh -NoProfile -File tests/pester/Invoke-FalVideoPester.ps1

  Writes NUnit XML to artifacts/pester/results.xml. The last line is always "Pester: N passed, N failed";
  the exit code is 1 when a test failed or the run itself errored.
.PARAMETER Output
  Pester's console verbosity: Detailed (default), Normal, Minimal or None.
#>
[CmdletBinding()]
param(
    [ValidateSet('Detailed', 'Normal', 'Minimal', 'None')]
    [string] $Output = 'Detailed'
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$passed = 0
$failed = 0
$exitCode = 1
try {
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $pesterManifest = Join-Path $packages 'pester/5.9.1/tools/Pester.psd1'
    if (-not (Test-Path $pesterManifest)) {
        throw "Pester 5.9.1 is not in the NuGet package folder ($pesterManifest): run dotnet build FalVideo.sln first (it restores Pester)."
    }
    Import-Module $pesterManifest -RequiredVersion 5.9.1 -Force

    $results = Join-Path $root 'artifacts/pester/results.xml'
    $null = New-Item -ItemType Directory -Force (Split-Path $results)

    $configuration = New-PesterConfiguration
    $configuration.Run.Path = @(Get-ChildItem $PSScriptRoot -Filter *.Tests.ps1 | ForEach-Object FullName)
    $configuration.Run.PassThru = $true
    $configuration.Output.Verbosity = $Output
    $configuration.TestResult.Enabled = $true
    $configuration.TestResult.OutputFormat = 'NUnitXml'
    $configuration.TestResult.OutputPath = $results

    $run = Invoke-Pester -Configuration $configuration
    $passed = $run.PassedCount
    $failed = $run.FailedCount
    # A container that failed to run (a throwing BeforeAll, a parse error) is an error even when no test was counted failed.
    $runErrors = @($run.Containers | Where-Object Result -eq 'Failed').Count + $run.FailedBlocksCount + $run.FailedContainersCount
    if ($run.Result -eq 'Passed' -and $failed -eq 0 -and $runErrors -eq 0 -and $passed -gt 0) { $exitCode = 0 }
}
catch {
    Write-Host "The Pester run errored: $($_.Exception.Message)" -ForegroundColor Red
    $exitCode = 1
}
Write-Host "Pester: $passed passed, $failed failed"
exit $exitCode
