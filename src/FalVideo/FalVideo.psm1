# Loads the build of FalVideo made for the running PowerShell: net472 for Windows PowerShell 5.1, net8.0 for
# PowerShell 7.4 and later, or, where the module folder carries one for this very runtime generation and platform,
# the net8.0 build precompiled (ReadyToRun) for them (net8.0-r2r/net<N>.0-<rid>/). The dependency loader is
# registered first, because PowerShell reflects over the cmdlets' parameter types (which live in FalVideo.Core) as
# soon as FalVideo.dll is imported.
if ($PSVersionTable.PSEdition -eq 'Core' -and $PSVersionTable.PSVersion -lt [version]'7.4') {
    throw "FalVideo needs PowerShell 7.4 or later, or Windows PowerShell 5.1; this is PowerShell $($PSVersionTable.PSVersion)."
}

function Resolve-FalVideoBuild {
    # The build folder to load, from what the caller says of the running process (the tests pass other platforms).
    # A precompiled copy holds native code for one runtime generation and one OS and architecture, so it is taken
    # only when its folder is named for exactly this runtime's major version and runtime identifier, the identifier
    # names the OS and architecture the process reports, and the copy is complete; anything else loads net8.0/.
    param(
        [string] $ModuleRoot,
        [string] $Edition,          # $PSVersionTable.PSEdition
        [int] $RuntimeMajor,        # [Environment]::Version.Major
        [string] $RuntimeIdentifier, # [RuntimeInformation]::RuntimeIdentifier: linux-x64, win-arm64, osx-x64...
        [string] $OS,               # Windows, Linux or OSX: what OperatingSystem reports
        [string] $Architecture      # [RuntimeInformation]::ProcessArchitecture: X64, Arm64...
    )
    if ($Edition -ne 'Core') { return [System.IO.Path]::Combine($ModuleRoot, 'net472') }
    $il = [System.IO.Path]::Combine($ModuleRoot, 'net8.0')
    $osPrefix = @{ Windows = 'win'; Linux = 'linux'; OSX = 'osx' }[$OS]
    if ($RuntimeMajor -le 0 -or -not $osPrefix -or -not $Architecture) { return $il }
    # Portable identifiers only (os-arch); a distribution's own (ubuntu.24.04-x64) or musl's (linux-musl-x64) never match.
    if ($RuntimeIdentifier -cne ($osPrefix + '-' + $Architecture.ToLowerInvariant())) { return $il }
    $precompiled = [System.IO.Path]::Combine($ModuleRoot, 'net8.0-r2r', "net$RuntimeMajor.0-$RuntimeIdentifier")
    foreach ($file in 'FalVideo.Init.dll', 'FalVideo.Core.dll', 'FalVideo.dll') {
        if (-not [System.IO.File]::Exists([System.IO.Path]::Combine($precompiled, $file))) { return $il }
    }
    return $precompiled
}

$bin = if ($PSVersionTable.PSEdition -eq 'Core') {
    $os = if ([System.OperatingSystem]::IsWindows()) { 'Windows' } elseif ([System.OperatingSystem]::IsLinux()) { 'Linux' } elseif ([System.OperatingSystem]::IsMacOS()) { 'OSX' } else { '' }
    Resolve-FalVideoBuild -ModuleRoot $PSScriptRoot -Edition Core -RuntimeMajor ([System.Environment]::Version.Major) `
        -RuntimeIdentifier ([System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier) -OS $os `
        -Architecture ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture)
} else {
    Resolve-FalVideoBuild -ModuleRoot $PSScriptRoot -Edition Desktop
}
# Assembly.LoadFrom, not Add-Type -Path: the same load (Windows PowerShell's Add-Type -Path calls Assembly.LoadFrom and
# then reads every type; in PowerShell 7 both put the assembly in the default context) without Add-Type's start-up,
# which cost a fresh pwsh 7.6 about 90 to 220 ms against 9 to 13 ms. The type below resolves from the loaded
# assemblies either way.
$null = [System.Reflection.Assembly]::LoadFrom([System.IO.Path]::Combine($bin, 'FalVideo.Init.dll'))
$serving = [FalVideo.Init.DependencyLoader]::Register($bin)
if ($serving -ne [System.IO.Path]::GetFullPath($bin)) {
    Write-Warning "FalVideo's assemblies were loaded from '$serving' earlier in this process; this session goes on using them. Start a new session to use the copy in '$bin'."
}
Import-Module ([System.IO.Path]::Combine($bin, 'FalVideo.dll'))
