# Loads the build of FalVideo made for the running PowerShell: net472 for Windows PowerShell 5.1, net8.0 for
# PowerShell 7.4 and later. The dependency loader is registered first, because PowerShell reflects over the cmdlets'
# parameter types (which live in FalVideo.Core) as soon as FalVideo.dll is imported.
if ($PSVersionTable.PSEdition -eq 'Core' -and $PSVersionTable.PSVersion -lt [version]'7.4') {
    throw "FalVideo needs PowerShell 7.4 or later, or Windows PowerShell 5.1; this is PowerShell $($PSVersionTable.PSVersion)."
}
$framework = if ($PSVersionTable.PSEdition -eq 'Core') { 'net8.0' } else { 'net472' }
$bin = [System.IO.Path]::Combine($PSScriptRoot, $framework)
Add-Type -Path ([System.IO.Path]::Combine($bin, 'FalVideo.Init.dll'))
$serving = [FalVideo.Init.DependencyLoader]::Register($bin)
if ($serving -ne [System.IO.Path]::GetFullPath($bin)) {
    Write-Warning "FalVideo's assemblies were loaded from '$serving' earlier in this process; this session goes on using them. Start a new session to use the copy in '$bin'."
}
Import-Module ([System.IO.Path]::Combine($bin, 'FalVideo.dll'))
