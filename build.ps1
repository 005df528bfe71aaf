<#
.SYNOPSIS
  Builds, tests and packages the FalVideo module (for people who have pwsh).
.DESCRIPTION
  Build   : dotnet build; the importable module folder is artifacts/module/FalVideo.
  Test    : the xunit suites (bash test.sh does the same and installs ffmpeg/npm prerequisites),
            then the Pester suites in tests/pester when Pester 5 is installed.
  Package : the .nupkg of the module folder in artifacts/packages (dotnet pack tools/FalVideo.Package).
  Reliability : runs the fault tests (tests/FalVideo.Tests/Reliability) and rewrites docs/reliability.md from the
            records they leave (tools/Render-ReliabilityTable.ps1); commit the result when the behaviour changed.
.EXAMPLE
  ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Reliability')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$moduleDir = Join-Path $PSScriptRoot 'artifacts/module/FalVideo'

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

Invoke-Native dotnet @('build', 'FalVideo.sln', '-c', $Configuration, '--nologo')

switch ($Task) {
    'Test' {
        Invoke-Native dotnet @('test', 'FalVideo.sln', '-c', $Configuration, '--no-build', '--nologo')
        $pester = Get-Module Pester -ListAvailable | Where-Object Version -ge '5.0.0' | Select-Object -First 1
        if ($pester -and (Test-Path tests/pester)) {
            Import-Module $pester
            $result = Invoke-Pester -Path tests/pester -PassThru
            if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed" }
        }
    }
    'Reliability' {
        Invoke-Native dotnet @('test', 'tests/FalVideo.Tests', '-c', $Configuration, '--no-build', '--nologo',
            '--filter', 'FullyQualifiedName~FalVideo.Tests.Reliability')
        & (Join-Path $PSScriptRoot 'tools/Render-ReliabilityTable.ps1') artifacts/reliability docs/reliability.md
        if ($LASTEXITCODE) { throw 'docs/reliability.md was not rendered' }
    }
    'Package' {
        # The same .nupkg as `dotnet pack tools/FalVideo.Package -o artifacts/packages`: the module folder at the
        # package root, tagged PSModule and PSCmdlet_<name>, ready for Publish-PSResource -NupkgPath or a file feed.
        $out = Join-Path $PSScriptRoot 'artifacts/packages'
        Invoke-Native dotnet @('pack', 'tools/FalVideo.Package', '-c', $Configuration, '--no-build', '-o', $out, '--nologo')
        Get-ChildItem $out -Filter *.nupkg
    }
}
