<#
.SYNOPSIS
  Builds, tests and packages the FalVideo module.
.DESCRIPTION
  Run it with the pinned pwsh: `dotnet tool restore; dotnet pwsh ./build.ps1 -Task Test`.
  Clean   : removes artifacts/ and every bin/ and obj/ folder.
  Build   : restores the pinned tools (pwsh, .config/dotnet-tools.json) and builds FalVideo.sln; the build restores
            Pester 5.9.1 from NuGet and assembles the importable module folder artifacts/module/FalVideo (both builds:
            net8.0 for PowerShell 7.4+, net472 for Windows PowerShell 5.1; in Release also net8.0 precompiled for
            .NET 10 on this machine's platform, net8.0-r2r/, which PowerShell 7.6 on that platform loads).
  Test    : the xunit suites (dotnet test), then the Pester acceptance suite in a fresh pwsh. `bash test.sh` runs these
            and the Core tests on .NET 8 and Mono, and installs what they need.
  Package : publishes the module folder with Publish-PSResource to a local file repository, artifacts/packages
            (offline), through a repository registered for the duration of the publish only. Install from it with
            Register-PSResourceRepository -Name FalVideoLocal -Uri <that folder> -Trusted; Install-PSResource FalVideo.
  Reliability : runs the fault tests (tests/FalVideo.Tests/Reliability) and rewrites docs/reliability.md from the
            records they leave (tools/Render-ReliabilityTable.ps1); commit the result when the behaviour changed.
.PARAMETER NoBuild
  Package or test what is already built.
.PARAMETER OutputPath
  Package: the folder of the local repository (default artifacts/packages).
.EXAMPLE
  dotnet pwsh ./build.ps1 -Task Package
#>
[CmdletBinding()]
param(
    [ValidateSet('Clean', 'Build', 'Test', 'Package', 'Reliability')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    [switch] $NoBuild,
    [string] $OutputPath = (Join-Path $PSScriptRoot 'artifacts/packages')
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$moduleDir = Join-Path $PSScriptRoot 'artifacts/module/FalVideo'

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

if ($Task -eq 'Clean') {
    Remove-Item (Join-Path $PSScriptRoot 'artifacts') -Recurse -Force -ErrorAction Ignore
    Get-ChildItem $PSScriptRoot -Directory -Recurse -Include bin, obj |
        Where-Object FullName -notmatch '[\\/]node_modules[\\/]' | Remove-Item -Recurse -Force
    return
}

if (-not $NoBuild) {
    Invoke-Native dotnet @('tool', 'restore')
    Invoke-Native dotnet @('build', 'FalVideo.sln', '-c', $Configuration, '--nologo')
}

switch ($Task) {
    'Test' {
        Invoke-Native dotnet @('test', 'FalVideo.sln', '-c', $Configuration, '--no-build', '--nologo')
        # A fresh pwsh: the suite imports the built module, and a session that already has it would hide a load problem.
        Invoke-Native dotnet @('pwsh', '-NoProfile', '-File', (Join-Path $PSScriptRoot 'tests/pester/Invoke-FalVideoPester.ps1'))
    }
    'Reliability' {
        Invoke-Native dotnet @('test', 'tests/FalVideo.Tests', '-c', $Configuration, '--no-build', '--nologo',
            '--filter', 'FullyQualifiedName~FalVideo.Tests.Reliability')
        & (Join-Path $PSScriptRoot 'tools/Render-ReliabilityTable.ps1') artifacts/reliability docs/reliability.md
        if ($LASTEXITCODE) { throw 'docs/reliability.md was not rendered' }
    }
    'Package' {
        New-Item -ItemType Directory -Force $OutputPath | Out-Null
        $version = (Import-PowerShellDataFile (Join-Path $moduleDir 'FalVideo.psd1')).ModuleVersion
        # A repository refuses a version it already holds: this build replaces it.
        Get-ChildItem $OutputPath -Filter "FalVideo.$version.nupkg" | Remove-Item
        $repository = "FalVideoBuild-$PID"
        Register-PSResourceRepository -Name $repository -Uri $OutputPath -Trusted
        try {
            Publish-PSResource -Path $moduleDir -Repository $repository
        }
        finally {
            Unregister-PSResourceRepository -Name $repository
        }
        Get-ChildItem $OutputPath -Filter "FalVideo.$version.nupkg"
    }
}
