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

    [string] $DatabaseName = 'Chinook'
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
Import-Module SqlServer

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

function Invoke-Sql {
    # Every connection and query bounded, as in Configure-Database.ps1 (QueryTimeout 0 would mean "no timeout").
    param([string] $Query, [string] $Database = 'master')
    Invoke-Sqlcmd -ServerInstance $SqlServerAddress -Credential $SqlCredential -Database $Database `
        -Encrypt Mandatory -ConnectionTimeout 30 -QueryTimeout 600 -Query $Query
}

function Invoke-WithRetry {
    # SQL Server resolves the login in its own domain controller, which may not have the just-created user yet.
    param([scriptblock] $Action, [string] $What, [int] $Attempts = 20, [int] $DelaySeconds = 30)
    for ($attempt = 1; ; $attempt++) {
        try { return & $Action }
        catch {
            if ($attempt -ge $Attempts) { throw }
            Write-Output "$What failed (attempt $attempt of $Attempts), retrying: $($_.Exception.Message)"
            Start-Sleep -Seconds $DelaySeconds
        }
    }
}

if ([DBNull]::Value.Equals((Invoke-Sql -Query "SELECT DB_ID(N'$DatabaseName') AS id").id)) {
    throw "Database $DatabaseName does not exist on $SqlServerAddress`: run Configure-Database.ps1 first."
}

# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.html (creating logins)
$principal = "$($domain.NetBIOSName)\$userName"
$literal = $principal.Replace("'", "''")
$login = Invoke-Sql -Query @"
SELECT (SELECT COUNT(*) FROM sys.server_principals WHERE name = N'$literal') AS login_exists,
       (SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s ON p.grantee_principal_id = s.principal_id
         WHERE s.name = N'$literal' AND p.permission_name = N'VIEW SERVER STATE' AND p.state IN ('G', 'W')) AS view_server_state
"@
if ($login.login_exists -eq 0) {
    Invoke-WithRetry -What "Creating the login $principal" -Action {
        Invoke-Sql -Query "IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = N'$literal') CREATE LOGIN [$principal] FROM WINDOWS WITH DEFAULT_DATABASE = [$DatabaseName];" | Out-Null
    }
    Write-Output "Created the login $principal."
}
if ($login.view_server_state -eq 0) {
    Invoke-Sql -Query "GRANT VIEW SERVER STATE TO [$principal];" | Out-Null
    Write-Output "Granted VIEW SERVER STATE to $principal."
}
$user = Invoke-Sql -Database $DatabaseName -Query @"
SELECT (SELECT COUNT(*) FROM sys.database_principals WHERE name = N'$literal') AS user_exists,
       ISNULL(IS_ROLEMEMBER(N'db_datareader', N'$literal'), 0) AS db_datareader
"@
if ($user.user_exists -eq 0) {
    Invoke-Sql -Database $DatabaseName -Query "IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$literal') CREATE USER [$principal] FOR LOGIN [$principal] WITH DEFAULT_SCHEMA = [dbo];" | Out-Null
    Write-Output "Created the user $principal in $DatabaseName."
}
if ($user.db_datareader -eq 0) {
    Invoke-Sql -Database $DatabaseName -Query "ALTER ROLE [db_datareader] ADD MEMBER [$principal];" | Out-Null
    Write-Output "Added $principal to db_datareader in $DatabaseName."
}
Write-Output "The sidecar user $principal may read $DatabaseName."
