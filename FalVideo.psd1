@{
    # Picks the build for the running edition (net472 or net8.0) and imports its FalVideo.dll.
    RootModule           = 'FalVideo.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f1d3c52-8f0e-4a4e-9b7c-2f3f6d0a9c11'
    Author               = 'FalVideo contributors'
    CompanyName          = 'FalVideo'
    Copyright            = '(c) FalVideo contributors. MIT License.'
    Description          = 'Generate Kling and Hailuo videos on fal.ai from PowerShell pipelines: cost estimates before spending, queue jobs as objects, streamed downloads, and a local fal emulator for rehearsals.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Core', 'Desktop')
    FormatsToProcess     = @('FalVideo.Format.ps1xml')
    TypesToProcess       = @('FalVideo.Types.ps1xml')
    CmdletsToExport      = @(
        'Compare-FalPrice', 'Get-FalConfiguration', 'Get-FalJob', 'Get-FalJobCost', 'Get-FalModel', 'Invoke-FalModel', 'Measure-VideoCost', 'New-FalVideo',
        'New-HailuoVideo', 'New-KlingMotionVideo', 'New-KlingVideo', 'Remove-FalJob', 'Copy-FalJob',
        'Receive-FalWebhook', 'Save-FalVideo', 'Set-FalConfiguration', 'Stop-FalJob', 'Wait-FalJob'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('fal', 'video', 'kling', 'hailuo', 'ai', 'generative', 'PSEdition_Core', 'PSEdition_Desktop', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://opensource.org/license/mit'
            ReleaseNotes = '0.1.0: Measure-VideoCost, New-KlingVideo, New-HailuoVideo, New-KlingMotionVideo, New-FalVideo (with -Route Cheapest), Invoke-FalModel, Wait-FalJob, Save-FalVideo, Get-FalJob and the job journal, Stop-FalJob, Get-FalModel, Set/Get-FalConfiguration; a local fal emulator.'
        }
    }
}
