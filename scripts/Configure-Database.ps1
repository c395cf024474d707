<#
.SYNOPSIS
    Loads the Chinook sample database into RDS for SQL Server and creates the Windows logins the sample uses.

.DESCRIPTION
    Connects with SQL authentication (the RDS master user) over TLS, checking the server certificate against the RDS
    CA bundle, which it imports into the machine's trusted roots.
      - downloads the Chinook script from a pinned commit, checks its SHA-256 and loads it, unless the database is
        already complete; then checks that the database exists (DB_ID) before anything depends on it;
      - makes sure the database is online (rdsadmin.dbo.rds_set_database_online);
      - creates the logins and database users <NETBIOS>\<gMSA>$ (db_owner on Chinook, VIEW SERVER STATE so that the
        app can read its own authentication scheme) and <NETBIOS>\<AD admin> (db_owner on Chinook, VIEW SERVER STATE).
    Re-running changes nothing that is already right.

.PARAMETER SqlServerAddress
    Address of the RDS for SQL Server instance (its endpoint; this script signs in with SQL authentication).

.PARAMETER SqlCredential
    The instance's master user name and password (the database stack's credentials secret).

.PARAMETER NetBiosName
    NetBIOS name of the directory, for the Windows logins (NETBIOS\name).

.PARAMETER GmsaName
    Name of the gMSA; its login is NETBIOS\<GmsaName>$.

.PARAMETER AdAdminUserName
    AD account that also gets a Windows login.

.PARAMETER DatabaseName
    Name of the sample database.

.PARAMETER ChinookScriptUrl
    Where the Chinook sample database script is downloaded from: a URL that names a commit, so its content cannot change.

.PARAMETER ChinookScriptHash
    SHA-256 of the Chinook script (hex). The script is not run unless the download has exactly this hash.

.PARAMETER RdsCaBundleUrl
    The RDS certificate bundle, imported so the connection to SQL Server verifies its certificate.

.PARAMETER TimeBudgetMinutes
    The whole script's bound: both downloads, every query and the login retries share it. A query gets at most the time
    left, no download or retry starts after it, and the script then fails naming what it was about to do.

.PARAMETER QueryTimeoutSeconds
    The longest one query may run (the Chinook load is the long one), within the budget.

.PARAMETER ConnectTimeoutSeconds
    The longest a connection attempt may take.

.PARAMETER DownloadTimeoutSeconds
    The longest either download may take, within the budget.

.PARAMETER LoginRetryAttempts
    Attempts at CREATE LOGIN ... FROM WINDOWS while SQL Server's domain controller does not know the new gMSA yet.

.PARAMETER LoginRetryDelaySeconds
    Pause between two login attempts.

.EXAMPLE
    $sql = Get-Credential -UserName sqladmin -Message 'RDS master user (see the DBCredentialsSecretArn output)'
    .\Configure-Database.ps1 -SqlServerAddress <endpoint> -SqlCredential $sql -NetBiosName DIRECTORY
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $SqlServerAddress,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $SqlCredential,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[A-Za-z0-9-]{1,15}$')]
    [string] $NetBiosName,

    [ValidatePattern('^[A-Za-z0-9-]{1,15}$')]
    [string] $GmsaName = 'SampleWebApp',

    [ValidatePattern('^[A-Za-z0-9._-]{1,20}$')]
    [string] $AdAdminUserName = 'admin',

    [string] $DatabaseName = 'Chinook',

    # lerocha/chinook-database at a fixed commit: Chinook_SqlServer.sql creates [Chinook] (the AutoIncrementPKs file
    # creates [Chinook_AutoIncrement] since February 2024). Same values as lib/constructs/ad-management-bastion.ts.
    [string] $ChinookScriptUrl = 'https://raw.githubusercontent.com/lerocha/chinook-database/7f67772503d71ba90f19283c38e93923addb43fa/ChinookDatabase/DataSources/Chinook_SqlServer.sql',

    [ValidatePattern('^[0-9A-Fa-f]{64}$')]
    [string] $ChinookScriptHash = '5ea75c9e925ead917d3fabea6ed3cc8c1ff1d036b61e915c94631aafa2b0802b',

    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (certificate bundles)
    [string] $RdsCaBundleUrl = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.p7b',

    # The bounds: the same defaults as BASTION_RUN_BOUNDS in lib/constructs/ad-management-bastion.ts (a jest test
    # compares them), which Invoke-BastionSetup.ps1 passes explicitly.
    [ValidateRange(1, 720)] [int] $TimeBudgetMinutes = 30,
    [ValidateRange(1, 86400)] [int] $QueryTimeoutSeconds = 600,
    [ValidateRange(1, 600)] [int] $ConnectTimeoutSeconds = 30,
    [ValidateRange(1, 3600)] [int] $DownloadTimeoutSeconds = 300,
    [ValidateRange(1, 1000)] [int] $LoginRetryAttempts = 20,
    [ValidateRange(1, 3600)] [int] $LoginRetryDelaySeconds = 30
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
# -Encrypt Mandatory needs SqlServer 22 or later (older versions have no -Encrypt parameter at all).
Import-Module SqlServer -MinimumVersion 22.0
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

if ($DatabaseName -notmatch '^[A-Za-z0-9_]{1,64}$') {
    throw "DatabaseName '$DatabaseName' is not allowed: 1 to 64 letters, digits or underscores."
}

# Invoke-Sql, Get-SecondsLeft, Invoke-WithRetry and Grant-WindowsLogin, shared with Configure-SidecarUser.ps1.
. (Join-Path $PSScriptRoot 'SqlServerLogins.ps1')
Initialize-SqlSession -Caller 'Configure-Database.ps1' -SqlServerAddress $SqlServerAddress -SqlCredential $SqlCredential `
    -TimeBudgetMinutes $TimeBudgetMinutes -QueryTimeoutSeconds $QueryTimeoutSeconds `
    -ConnectTimeoutSeconds $ConnectTimeoutSeconds -LoginRetryAttempts $LoginRetryAttempts `
    -LoginRetryDelaySeconds $LoginRetryDelaySeconds

$bundle = Join-Path $PSScriptRoot 'rds-ca-bundle.p7b'
Invoke-WebRequest -Uri $RdsCaBundleUrl -OutFile $bundle -UseBasicParsing `
    -TimeoutSec (Get-SecondsLeft -Before "downloading $RdsCaBundleUrl" -Cap $DownloadTimeoutSeconds)
Import-Certificate -FilePath $bundle -CertStoreLocation Cert:\LocalMachine\Root | Out-Null
Write-Output 'RDS CA bundle trusted.'

function Get-DatabaseState {
    $row = Invoke-Sql -Query "SELECT state_desc FROM sys.databases WHERE name = N'$DatabaseName'"
    if ($row) { return $row.state_desc }
    return $null
}

function Set-DatabaseOnline {
    # RDS only lets its own procedure bring a database online.
    $state = Get-DatabaseState
    if ($state -and $state -ne 'ONLINE') {
        Invoke-Sql -Query "EXEC rdsadmin.dbo.rds_set_database_online N'$DatabaseName'" | Out-Null
        Write-Output "Database $DatabaseName set online."
    }
}

function Get-ChinookScript {
    # Downloads the script and refuses it unless its SHA-256 is the pinned one. Returns only the path: no output.
    $path = Join-Path $PSScriptRoot 'Chinook.sql'
    Invoke-WebRequest -Uri $ChinookScriptUrl -OutFile $path -UseBasicParsing `
        -TimeoutSec (Get-SecondsLeft -Before "downloading $ChinookScriptUrl" -Cap $DownloadTimeoutSeconds)
    $actual = (Get-FileHash -Algorithm SHA256 -Path $path).Hash.ToLowerInvariant()
    $expected = $ChinookScriptHash.ToLowerInvariant()
    if ($actual -ne $expected) {
        Remove-Item -Path $path -Force
        throw "The Chinook script $ChinookScriptUrl has SHA-256 $actual, expected ${expected}: not running it."
    }
    return $path
}

function Assert-DatabaseExists {
    $row = Invoke-Sql -Query "SELECT DB_ID(N'$DatabaseName') AS id"
    if ($null -eq $row -or $null -eq $row.id -or $row.id -is [DBNull]) {
        throw "There is no database [$DatabaseName] after loading ${ChinookScriptUrl}: that script must create [$DatabaseName]."
    }
}

# 1. Chinook: load it unless it is complete. Its script drops and re-creates the database, so an interrupted load
#    is simply loaded again.
Set-DatabaseOnline
$exists = [bool] (Get-DatabaseState)
$complete = $false
if ($exists) {
    $tracks = Invoke-Sql -Query "IF OBJECT_ID(N'[$DatabaseName].dbo.PlaylistTrack') IS NULL SELECT 0 AS n ELSE EXEC(N'SELECT COUNT(*) AS n FROM [$DatabaseName].dbo.PlaylistTrack')"
    $complete = $tracks.n -gt 0
}
if (-not $complete) {
    Write-Output "Downloading $ChinookScriptUrl..."
    $chinook = Get-ChinookScript
    Write-Output "SHA-256 checked: $ChinookScriptHash."
    if ($exists) {
        Write-Output "Database $DatabaseName is incomplete: dropping it before loading it again."
        Invoke-Sql -Query "ALTER DATABASE [$DatabaseName] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [$DatabaseName];" | Out-Null
    }
    Write-Output "Loading $DatabaseName..."
    Invoke-Sql -InputFile $chinook | Out-Null
    Write-Output "Database $DatabaseName loaded."
}
else {
    Write-Output "Database $DatabaseName is already loaded."
}
Assert-DatabaseExists

# 2. Online.
Set-DatabaseOnline

# 3. Windows logins, each with db_owner on the database (Grant-WindowsLogin reads before it writes, and retries the
#    CREATE LOGIN while SQL Server's domain controller does not know the just-created gMSA yet).
foreach ($principal in @("$NetBiosName\$GmsaName`$", "$NetBiosName\$AdAdminUserName")) {
    Grant-WindowsLogin -Principal $principal -DatabaseName $DatabaseName -Role db_owner
    Write-Output "Login and db_owner user $principal are in place."
}

Write-Output 'The database is configured.'
