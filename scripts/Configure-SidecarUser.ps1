<#
.SYNOPSIS
    Kerberos sidecar mode: creates, if missing, the AD user the sidecar signs in as, and its read-only SQL Server login
    on the sample database; repairs both when they drift.

.DESCRIPTION
    The sidecar (kerberos-sidecar/, docs/sidecar.md) runs `kinit` as an ordinary AD user whose password is in a Secrets
    Manager secret; no gMSA is involved. This script, run on the bastion after Configure-Database.ps1 (which loads the
    database and trusts the RDS CA bundle), makes the directory and SQL Server agree with that secret:
      - the user -SidecarUser in the delegated OU's Users OU (OU=Users,OU=<NetBIOS>,...), enabled, with the secret's
        password, the password never expiring (the rotation function changes it; AD must not expire it first) and not
        changeable by the user. It is in the delegated OU so that Directory Service ResetUserPassword, which the
        rotation function calls, may reset it;
      - the Windows login <NETBIOS>\<user> with VIEW SERVER STATE (so the page can show its authentication scheme), a
        database user in -DatabaseName, member of db_datareader only: the sidecar's user reads Chinook, nothing more.
    Works from a host that is not joined to the domain: every AD call passes -Server and -Credential. Re-running
    changes nothing that is already right: it reads before it writes.

.PARAMETER DomainName
    DNS name of the directory.

.PARAMETER Credential
    The directory's admin account.

.PARAMETER SidecarUser
    User name and password of the sidecar identity secret ({"username","password","domainName"}).

.PARAMETER SqlServerAddress
    Address of the RDS for SQL Server instance.

.PARAMETER SqlCredential
    The instance's master user name and password.

.PARAMETER DatabaseName
    Name of the sample database.

.PARAMETER TimeBudgetMinutes
    The whole script's bound: every AD call, query and login retry shares it; nothing starts after it, and the script
    then fails naming what it was about to do.

.PARAMETER QueryTimeoutSeconds
    The longest one query may run, within the budget.

.PARAMETER ConnectTimeoutSeconds
    The longest a connection attempt may take.

.PARAMETER LoginRetryAttempts
    Attempts at CREATE LOGIN ... FROM WINDOWS while SQL Server's domain controller does not know the new user yet.

.PARAMETER LoginRetryDelaySeconds
    Pause between two login attempts.

.EXAMPLE
    $admin = Get-Credential -UserName "admin@directory.amazon-ecs-gmsa-linux.com" -Message 'AD admin'
    $sidecar = Get-Credential -UserName ecs-sidecar-user -Message 'The sidecar identity secret'
    $sql = Get-Credential -UserName sqladmin -Message 'RDS master user'
    .\Configure-SidecarUser.ps1 -DomainName directory.amazon-ecs-gmsa-linux.com -Credential $admin `
        -SidecarUser $sidecar -SqlServerAddress <endpoint> -SqlCredential $sql
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $DomainName,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $Credential,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $SidecarUser,

    [Parameter(Mandatory = $true)]
    [string] $SqlServerAddress,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $SqlCredential,

    [string] $DatabaseName = 'Chinook',

    # The bounds: the same defaults as Configure-Database.ps1 (BASTION_RUN_BOUNDS), which Invoke-BastionSetup.ps1
    # passes explicitly.
    [ValidateRange(1, 720)] [int] $TimeBudgetMinutes = 30,
    [ValidateRange(1, 86400)] [int] $QueryTimeoutSeconds = 600,
    [ValidateRange(1, 600)] [int] $ConnectTimeoutSeconds = 30,
    [ValidateRange(1, 1000)] [int] $LoginRetryAttempts = 20,
    [ValidateRange(1, 3600)] [int] $LoginRetryDelaySeconds = 30
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# One line naming the setting, before anything is touched. sAMAccountName: at most 20 characters.
$userName = $SidecarUser.UserName
if ($userName -notmatch '^[A-Za-z0-9._-]{1,20}$') {
    throw "SidecarUser '$userName' is not allowed: 1 to 20 letters, digits, dots, underscores or hyphens."
}
if ($DatabaseName -notmatch '^[A-Za-z0-9_]{1,64}$') {
    throw "DatabaseName '$DatabaseName' is not allowed: 1 to 64 letters, digits or underscores."
}

Import-Module ActiveDirectory
# -Encrypt Mandatory needs SqlServer 22 or later (older versions have no -Encrypt parameter at all).
Import-Module SqlServer -MinimumVersion 22.0

# ---- Active Directory ----

# Every call goes to the PDC emulator: a user created on one domain controller may not have replicated to the other
# yet when the next call looks for it.
$domain = Get-ADDomain -Server $DomainName -Credential $Credential
$ad = @{ Server = $domain.PDCEmulator; Credential = $Credential }
$delegatedOu = "OU=$($domain.NetBIOSName),$($domain.DistinguishedName)"
$usersOu = "OU=Users,$delegatedOu"
if (-not (Get-ADOrganizationalUnit -Filter "DistinguishedName -eq '$usersOu'" @ad)) { $usersOu = $delegatedOu }

function Test-SidecarPassword {
    # True when the directory accepts the secret's password: no reset needed.
    try {
        $upn = New-Object System.Management.Automation.PSCredential("$userName@$DomainName", $SidecarUser.Password)
        Get-ADDomain -Server $ad.Server -Credential $upn | Out-Null
        return $true
    }
    catch {
        return $false
    }
}

$existing = Get-ADUser -Filter "SamAccountName -eq '$userName'" @ad
if (-not $existing) {
    New-ADUser -Name $userName -SamAccountName $userName -UserPrincipalName "$userName@$DomainName" -Path $usersOu `
        -Description 'Kerberos sidecar of the sample web app (kinit with the secret in Secrets Manager)' `
        -AccountPassword $SidecarUser.Password -Enabled $true -PasswordNeverExpires $true -CannotChangePassword $true @ad
    Write-Output "Created user $userName in $usersOu."
}
else {
    if (-not $existing.Enabled) {
        Enable-ADAccount -Identity $existing @ad
        Write-Output "Enabled user $userName."
    }
    if (-not (Test-SidecarPassword)) {
        Set-ADAccountPassword -Identity $existing -Reset -NewPassword $SidecarUser.Password @ad
        Write-Output "Reset the password of $userName to the secret's value."
    }
    else {
        Write-Output "User $userName exists with the secret's password."
    }
}

# ---- SQL Server ----

# Invoke-Sql, Invoke-WithRetry and Grant-WindowsLogin, shared with Configure-Database.ps1.
. (Join-Path $PSScriptRoot 'SqlServerLogins.ps1')
Initialize-SqlSession -Caller 'Configure-SidecarUser.ps1' -SqlServerAddress $SqlServerAddress -SqlCredential $SqlCredential `
    -TimeBudgetMinutes $TimeBudgetMinutes -QueryTimeoutSeconds $QueryTimeoutSeconds `
    -ConnectTimeoutSeconds $ConnectTimeoutSeconds -LoginRetryAttempts $LoginRetryAttempts `
    -LoginRetryDelaySeconds $LoginRetryDelaySeconds

if ([DBNull]::Value.Equals((Invoke-Sql -Query "SELECT DB_ID(N'$DatabaseName') AS id").id)) {
    throw "Database $DatabaseName does not exist on $SqlServerAddress`: run Configure-Database.ps1 first."
}

# Read access only: db_datareader, nothing more (and VIEW SERVER STATE for the page's authentication scheme).
$principal = "$($domain.NetBIOSName)\$userName"
Grant-WindowsLogin -Principal $principal -DatabaseName $DatabaseName -Role db_datareader
Write-Output "The sidecar user $principal may read $DatabaseName."
