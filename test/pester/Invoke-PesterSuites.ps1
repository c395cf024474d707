<#
.SYNOPSIS
    Runs the Pester suites of test/pester with the Pester module restored from NuGet (PesterRestore.csproj).

.DESCRIPTION
    `npm run test:pester` restores Pester into test/pester/.packages, then runs this with the repository's
    PowerShell 7 (.config/dotnet-tools.json). Exits with the number of failed tests; ends with one line
    "Pester: N passed, N failed".
#>
param([string[]] $Path = @($PSScriptRoot), [string] $Output = 'Normal')
$ErrorActionPreference = 'Stop'
$pester = Join-Path $PSScriptRoot '.packages/pester/5.7.1/tools/Pester.psd1'
if (-not (Test-Path $pester)) { throw "Pester is not restored: run 'dotnet restore test/pester/PesterRestore.csproj' first." }
Import-Module $pester -Force
# Before any test: the host fakes shadow Stop-Computer and Restart-Computer, which exist on Linux too.
Import-Module (Join-Path $PSScriptRoot 'fakes/FakeWorld.psm1') -Force -DisableNameChecking

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = $Output
$result = Invoke-Pester -Configuration $configuration
"Pester: $($result.PassedCount) passed, $($result.FailedCount) failed"
exit ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
