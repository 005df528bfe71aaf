<#
.SYNOPSIS
  Builds, tests and packages the FalVideo module (for people who have pwsh).
.DESCRIPTION
  Build   : dotnet build; the importable module folder is artifacts/module/FalVideo.
  Test    : the xunit suites (bash test.sh does the same and installs ffmpeg/npm prerequisites),
            then the Pester suites in tests/pester when Pester 5 is installed.
  Package : publishes the built module folder to a local file repository as a .nupkg (artifacts/packages).
.EXAMPLE
  ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
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
    'Package' {
        $out = Join-Path $PSScriptRoot 'artifacts/packages'
        New-Item -ItemType Directory -Force $out | Out-Null
        $repo = 'FalVideoLocal'
        if (-not (Get-PSResourceRepository -Name $repo -ErrorAction Ignore)) {
            Register-PSResourceRepository -Name $repo -Uri $out -Trusted
        }
        Publish-PSResource -Path $moduleDir -Repository $repo
        Get-ChildItem $out -Filter *.nupkg
    }
}
