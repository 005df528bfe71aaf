# Which build FalVideo.psm1 loads: the precompiled (ReadyToRun) copy of the net8.0 build only on the runtime
# generation and platform it was compiled for, the IL build (net8.0/) on every other PowerShell 7, net472 on 5.1.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest
    $script:ModuleRoot = Split-Path $script:ModuleManifest

    # True when the file is a ReadyToRun image: its CLI header points at a native (ReadyToRun) header.
    function Test-ReadyToRun([string] $Path) {
        $stream = [System.IO.File]::OpenRead($Path)
        try {
            $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
            try { $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 } finally { $pe.Dispose() }
        }
        finally { $stream.Dispose() }
    }
}

AfterAll { Complete-FalTest }

Describe 'The build this pwsh loads' {
    BeforeAll {
        $script:Rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
        $script:Major = [Environment]::Version.Major
        $script:Precompiled = Join-Path $script:ModuleRoot "net8.0-r2r/net$($script:Major).0-$($script:Rid)"
    }

    # The build of this repository on linux-x64 (Release, as test.sh and build.ps1 build) makes the copy for .NET 10.
    It 'is the precompiled copy on linux-x64 and .NET 10, its assemblies and their dependencies ReadyToRun images' -Skip:(
        [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -ne 'linux-x64' -or [Environment]::Version.Major -ne 10) {
        Test-Path (Join-Path $script:Precompiled 'FalVideo.dll') | Should -BeTrue -Because 'the Release build makes the precompiled copy for this platform'
        # A job through the SQLite store loads the dependencies: SQLite, its provider and native library, Polly.
        Set-FalConfiguration -JournalPath (Join-Path $script:Work 'jobs.db')
        try {
            (New-KlingVideo -Prompt 'Precompiled build check' -Duration 3 -GenerateAudio $false -Wait).Status | Should -Be 'Completed'
        }
        finally { Set-FalConfiguration -JournalPath $script:Journal }

        $prefix = $script:Precompiled + [System.IO.Path]::DirectorySeparatorChar
        $loaded = @{}
        foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
            if (-not $assembly.IsDynamic -and $assembly.Location.StartsWith($script:ModuleRoot)) { $loaded[$assembly.GetName().Name] = $assembly.Location }
        }
        foreach ($name in 'FalVideo', 'FalVideo.Core', 'FalVideo.Init') {
            $loaded[$name] | Should -Be (Join-Path $script:Precompiled "$name.dll")
        }
        [FalVideo.Jobs.FalJob].Assembly.Location | Should -Be (Join-Path $script:Precompiled 'FalVideo.Core.dll')
        (Get-Command New-KlingVideo).ImplementingType.Assembly.Location | Should -Be (Join-Path $script:Precompiled 'FalVideo.dll')
        foreach ($name in 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core', 'SQLitePCLRaw.provider.e_sqlite3', 'Polly.Core') {
            $loaded[$name] | Should -Be (Join-Path $script:Precompiled "dependencies/$name.dll")
        }
        $loaded.Values | Where-Object { -not $_.StartsWith($prefix) } | Should -BeNullOrEmpty -Because 'nothing of the IL build is loaded beside it'
        foreach ($path in $loaded.Values) {
            Test-ReadyToRun $path | Should -BeTrue -Because "$path is loaded and should hold native code"
        }
        # The native SQLite the store runs is the copy's own.
        Get-Content /proc/self/maps | Where-Object { $_ -match 'libe_sqlite3\.so' } | Select-Object -First 1 |
            Should -BeLike "*$($script:Precompiled)/dependencies/runtimes/linux-x64/native/libe_sqlite3.so"
        # The IL build stays IL: the check above tells the two apart.
        Test-ReadyToRun (Join-Path $script:ModuleRoot 'net8.0/FalVideo.Core.dll') | Should -BeFalse
    }

    It 'holds precompiled copies only for platforms it names, each complete' {
        $copies = @(Get-ChildItem (Join-Path $script:ModuleRoot 'net8.0-r2r') -Directory -ErrorAction Ignore)
        foreach ($copy in $copies) {
            $copy.Name | Should -Match '^net\d+\.0-(win|linux|osx)-(x64|arm64)$'
            foreach ($file in 'FalVideo.dll', 'FalVideo.Core.dll', 'FalVideo.Init.dll', 'dependencies/Polly.Core.dll', 'dependencies/Npgsql.dll') {
                Test-Path (Join-Path $copy.FullName $file) | Should -BeTrue -Because "$($copy.Name) is loaded in place of net8.0/"
            }
            $rid = $copy.Name -replace '^net\d+\.0-', ''
            (Get-ChildItem (Join-Path $copy.FullName 'dependencies/runtimes') -Directory).Name | Should -Be $rid -Because 'a copy carries its own platform natives only'
        }
    }
}

Describe 'Resolve-FalVideoBuild (FalVideo.psm1)' {
    BeforeAll {
        # A module folder with a complete precompiled copy for .NET 10 on linux-x64.
        $script:FakeRoot = Join-Path $script:Work 'fake-module'
        $script:FakeCopy = Join-Path $script:FakeRoot 'net8.0-r2r/net10.0-linux-x64'
        $null = New-Item -ItemType Directory -Force $script:FakeCopy
        foreach ($file in 'FalVideo.dll', 'FalVideo.Core.dll', 'FalVideo.Init.dll') { Set-Content (Join-Path $script:FakeCopy $file) '' }
        function Resolve-Build([hashtable] $Process) {
            & (Get-Module FalVideo) { param($p) Resolve-FalVideoBuild @p } $Process
        }
    }

    It 'loads the copy on the runtime and platform it was compiled for' {
        Resolve-Build @{ ModuleRoot = $script:FakeRoot; Edition = 'Core'; RuntimeMajor = 10; RuntimeIdentifier = 'linux-x64'; OS = 'Linux'; Architecture = 'X64' } |
            Should -Be $script:FakeCopy
    }

    It 'loads net8.0 on <Case>' -ForEach @(
        @{ Case = 'Windows x64'; Major = 10; Rid = 'win-x64'; OS = 'Windows'; Arch = 'X64' }
        @{ Case = 'Windows arm64'; Major = 10; Rid = 'win-arm64'; OS = 'Windows'; Arch = 'Arm64' }
        @{ Case = 'macOS x64'; Major = 10; Rid = 'osx-x64'; OS = 'OSX'; Arch = 'X64' }
        @{ Case = 'macOS arm64'; Major = 10; Rid = 'osx-arm64'; OS = 'OSX'; Arch = 'Arm64' }
        @{ Case = 'Linux arm64'; Major = 10; Rid = 'linux-arm64'; OS = 'Linux'; Arch = 'Arm64' }
        @{ Case = 'Linux x64 with musl'; Major = 10; Rid = 'linux-musl-x64'; OS = 'Linux'; Arch = 'X64' }
        @{ Case = "a distribution's own .NET build"; Major = 10; Rid = 'ubuntu.24.04-x64'; OS = 'Linux'; Arch = 'X64' }
        @{ Case = '.NET 8 (PowerShell 7.4) on linux-x64'; Major = 8; Rid = 'linux-x64'; OS = 'Linux'; Arch = 'X64' }
        @{ Case = '.NET 9 (PowerShell 7.5) on linux-x64'; Major = 9; Rid = 'linux-x64'; OS = 'Linux'; Arch = 'X64' }
        @{ Case = '.NET 11 on linux-x64'; Major = 11; Rid = 'linux-x64'; OS = 'Linux'; Arch = 'X64' }
        @{ Case = 'a linux-x64 identifier on Windows'; Major = 10; Rid = 'linux-x64'; OS = 'Windows'; Arch = 'X64' }
        @{ Case = 'a linux-x64 identifier in an arm64 process'; Major = 10; Rid = 'linux-x64'; OS = 'Linux'; Arch = 'Arm64' }
        @{ Case = 'an unknown OS'; Major = 10; Rid = 'linux-x64'; OS = ''; Arch = 'X64' }
        @{ Case = 'no runtime identifier'; Major = 10; Rid = ''; OS = 'Linux'; Arch = 'X64' }
    ) {
        Resolve-Build @{ ModuleRoot = $script:FakeRoot; Edition = 'Core'; RuntimeMajor = $Major; RuntimeIdentifier = $Rid; OS = $OS; Architecture = $Arch } |
            Should -Be (Join-Path $script:FakeRoot 'net8.0')
    }

    It 'loads net8.0 when the copy is incomplete' {
        $root = Join-Path $script:Work 'incomplete-module'
        $copy = Join-Path $root 'net8.0-r2r/net10.0-linux-x64'
        $null = New-Item -ItemType Directory -Force $copy
        foreach ($file in 'FalVideo.Core.dll', 'FalVideo.Init.dll') { Set-Content (Join-Path $copy $file) '' }
        Resolve-Build @{ ModuleRoot = $root; Edition = 'Core'; RuntimeMajor = 10; RuntimeIdentifier = 'linux-x64'; OS = 'Linux'; Architecture = 'X64' } |
            Should -Be (Join-Path $root 'net8.0')
    }

    It 'loads net472 in Windows PowerShell, whatever the folder holds' {
        Resolve-Build @{ ModuleRoot = $script:FakeRoot; Edition = 'Desktop' } | Should -Be (Join-Path $script:FakeRoot 'net472')
    }
}
