<#
    Dot-sourced by every *.Tests.ps1 in BeforeAll: loads the fake world, puts the fake ActiveDirectory, SqlServer and
    AWSPowerShell modules first on the module path (the scripts' own `Import-Module` calls load them: that is the seam),
    and defines the helpers the suites share.
#>
Import-Module (Join-Path $PSScriptRoot 'fakes/FakeWorld.psm1') -Force -DisableNameChecking
$fakeModules = Join-Path $PSScriptRoot 'fakes/modules'
if (($env:PSModulePath -split [IO.Path]::PathSeparator) -notcontains $fakeModules) {
    $env:PSModulePath = $fakeModules + [IO.Path]::PathSeparator + $env:PSModulePath
}

function ConvertTo-CanonicalJson {
    # Parsed JSON, keys sorted at every level, minified: two documents are equal when these strings are.
    param([Parameter(Mandatory = $true)] $Value)
    function Sort-Node($node) {
        if ($node -is [System.Management.Automation.PSCustomObject]) {
            $sorted = [ordered]@{}
            foreach ($p in ($node.PSObject.Properties | Sort-Object Name)) { $sorted[$p.Name] = Sort-Node $p.Value }
            return $sorted
        }
        if ($node -is [System.Collections.IList]) { return , @($node | ForEach-Object { Sort-Node $_ }) }
        return $node
    }
    if ($Value -is [string]) { $Value = $Value | ConvertFrom-Json }
    Sort-Node $Value | ConvertTo-Json -Depth 20 -Compress
}

function Invoke-Bastion {
    # Runs the world's Invoke-BastionSetup.ps1 (a copy of scripts/) and returns its exit code, output and log file.
    param([Parameter(Mandatory = $true)] $World, [string[]] $Switches = @())
    $extra = @{}
    foreach ($s in $Switches) { $extra[$s] = $true }
    $global:LASTEXITCODE = 0
    $output = & $World.Setup -ConfigPath $World.ConfigPath @extra *>&1 | ForEach-Object { "$_" }
    $log = Get-ChildItem -Path (Join-Path $World.Folder 'logs') -Filter '*.log' -ErrorAction SilentlyContinue |
        ForEach-Object { Get-Content -Raw -Path $_.FullName }
    [pscustomobject]@{ ExitCode = $global:LASTEXITCODE; Output = ($output -join "`n"); Log = ($log -join "`n") }
}

function Start-FakeInstance {
    # Starts the stopped (or restarting) instance, as EC2 and EC2Launch v2 do: the user data runs again only if its
    # last run stopped or restarted the computer (fakes/FakeWorld.psm1, Stop-Computer); here the user data is the run
    # itself. Returns the run, or $null when EC2Launch had nothing to run.
    param([Parameter(Mandatory = $true)] $World)
    $h = $global:BastionFake.Host
    $h.Running = $true
    $h.Boots++
    if (-not $h.UserDataPending) { return $null }
    $h.UserDataPending = $false
    Invoke-Bastion -World $World
}
