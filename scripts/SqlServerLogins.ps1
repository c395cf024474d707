<#
.SYNOPSIS
    Shared by Configure-Database.ps1 and Configure-SidecarUser.ps1 (dot-sourced, not run): bounded SQL statements,
    bounded retries, and the read-then-write Windows login with its database role.

.DESCRIPTION
    Dot-sourced (`. "$PSScriptRoot\SqlServerLogins.ps1"`) rather than imported as a .psm1 module: its functions then
    run in the calling script's scope, so the calling script's Invoke-Sqlcmd, Get-Date and Start-Sleep are the ones
    the Pester suites replace (a mock does not reach into a module unless each mock names it).
    Call Initialize-SqlSession first; every other function reads the session it sets.
#>


# The callers stop on the first error too; dot-sourcing keeps it so.
$ErrorActionPreference = 'Stop'

function Initialize-SqlSession {
    # The server, the credential, the time budget and the bounds of every statement and retry. -Caller names the
    # script in the messages ("Configure-Database.ps1 used up its 30-minute budget before ...").
    param(
        [Parameter(Mandatory = $true)] [string] $Caller,
        [Parameter(Mandatory = $true)] [string] $SqlServerAddress,
        [Parameter(Mandatory = $true)] [System.Management.Automation.PSCredential] $SqlCredential,
        [Parameter(Mandatory = $true)] [int] $TimeBudgetMinutes,
        [Parameter(Mandatory = $true)] [int] $QueryTimeoutSeconds,
        [Parameter(Mandatory = $true)] [int] $ConnectTimeoutSeconds,
        [Parameter(Mandatory = $true)] [int] $LoginRetryAttempts,
        [Parameter(Mandatory = $true)] [int] $LoginRetryDelaySeconds
    )
    # The clock is Get-Date, so that tests can move it.
    $script:SqlSession = @{
        Caller                 = $Caller
        Server                 = $SqlServerAddress
        Credential             = $SqlCredential
        TimeBudgetMinutes      = $TimeBudgetMinutes
        Deadline               = (Get-Date).AddMinutes($TimeBudgetMinutes)
        QueryTimeoutSeconds    = $QueryTimeoutSeconds
        ConnectTimeoutSeconds  = $ConnectTimeoutSeconds
        LoginRetryAttempts     = $LoginRetryAttempts
        LoginRetryDelaySeconds = $LoginRetryDelaySeconds
    }
}

function Get-SecondsLeft {
    # The seconds left of the budget, at most -Cap; fails, naming what was next, when none are left.
    param([string] $Before, [int] $Cap)
    $s = $script:SqlSession
    $left = [int][math]::Floor(($s.Deadline - (Get-Date)).TotalSeconds)
    if ($left -lt 1) { throw "$($s.Caller) used up its $($s.TimeBudgetMinutes)-minute budget before $Before." }
    return [math]::Min($left, $Cap)
}

function Invoke-Sql {
    # Never without a timeout: Invoke-Sqlcmd's QueryTimeout 0 means "no timeout". TLS is mandatory.
    param([string] $Query, [string] $Database = 'master', [string] $InputFile)
    $s = $script:SqlSession
    $sql = @{
        ServerInstance    = $s.Server
        Credential        = $s.Credential
        Database          = $Database
        Encrypt           = 'Mandatory'
        ConnectionTimeout = $s.ConnectTimeoutSeconds
        QueryTimeout      = Get-SecondsLeft -Before 'a query' -Cap $s.QueryTimeoutSeconds
    }
    if ($InputFile) { return Invoke-Sqlcmd @sql -InputFile $InputFile }
    return Invoke-Sqlcmd @sql -Query $Query
}

function Invoke-WithRetry {
    # At most LoginRetryAttempts, and none that would start after the budget: the last error, with the count, ends it.
    param([scriptblock] $Action, [string] $What)
    $s = $script:SqlSession
    $attempts = $s.LoginRetryAttempts
    $delay = $s.LoginRetryDelaySeconds
    for ($attempt = 1; ; $attempt++) {
        try { return & $Action }
        catch {
            $reason = $_.Exception.Message
            if ($attempt -ge $attempts) { throw "$What failed $attempt times; last error: $reason" }
            if (($s.Deadline - (Get-Date)).TotalSeconds -le $delay) {
                throw "$What failed $attempt times and $($s.Caller)'s $($s.TimeBudgetMinutes)-minute budget leaves no time for another attempt; last error: $reason"
            }
            Write-Output "$What failed (attempt $attempt of $attempts), retrying: $reason"
            Start-Sleep -Seconds $delay
        }
    }
}

function Grant-WindowsLogin {
    <#
        The Windows login -Principal (NETBIOS\name) with VIEW SERVER STATE (so the page can show its authentication
        scheme), and a database user in -DatabaseName that is a member of -Role. Each grant is read first and written
        only when missing, so a run on a configured server writes nothing. SQL Server resolves the login in its own
        domain controller, which may not have a just-created AD account yet: the CREATE LOGIN is retried.
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.html (creating logins)
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $Principal,
        [Parameter(Mandatory = $true)] [string] $DatabaseName,
        [Parameter(Mandatory = $true)] [ValidateSet('db_owner', 'db_datareader')] [string] $Role
    )
    $literal = $Principal.Replace("'", "''")
    $login = Invoke-Sql -Query @"
SELECT (SELECT COUNT(*) FROM sys.server_principals WHERE name = N'$literal') AS login_exists,
       (SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s ON p.grantee_principal_id = s.principal_id
         WHERE s.name = N'$literal' AND p.permission_name = N'VIEW SERVER STATE' AND p.state IN ('G', 'W')) AS view_server_state
"@
    if ($login.login_exists -eq 0) {
        Invoke-WithRetry -What "Creating the login $Principal" -Action {
            # Guarded as well: another run may have created it since the check.
            Invoke-Sql -Query "IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = N'$literal') CREATE LOGIN [$Principal] FROM WINDOWS WITH DEFAULT_DATABASE = [$DatabaseName];" | Out-Null
        }
        Write-Output "Created the login $Principal."
    }
    if ($login.view_server_state -eq 0) {
        Invoke-Sql -Query "GRANT VIEW SERVER STATE TO [$Principal];" | Out-Null
        Write-Output "Granted VIEW SERVER STATE to $Principal."
    }
    $user = Invoke-Sql -Database $DatabaseName -Query @"
SELECT (SELECT COUNT(*) FROM sys.database_principals WHERE name = N'$literal') AS user_exists,
       ISNULL(IS_ROLEMEMBER(N'$Role', N'$literal'), 0) AS $Role
"@
    if ($user.user_exists -eq 0) {
        Invoke-Sql -Database $DatabaseName -Query "IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$literal') CREATE USER [$Principal] FOR LOGIN [$Principal] WITH DEFAULT_SCHEMA = [dbo];" | Out-Null
        Write-Output "Created the user $Principal in $DatabaseName."
    }
    if ($user.$Role -eq 0) {
        Invoke-Sql -Database $DatabaseName -Query "ALTER ROLE [$Role] ADD MEMBER [$Principal];" | Out-Null
        Write-Output "Added $Principal to $Role in $DatabaseName."
    }
}
