<#
    Fake of the SqlServer module's Invoke-Sqlcmd for the Pester suites: a tiny SQL Server holding databases, logins
    and database users in $global:BastionFake.Sql. It understands exactly the statements Configure-Database.ps1 sends
    and throws on anything else, so a changed query cannot pass unnoticed. Windows logins resolve in the fake
    directory, as RDS resolves them in AWS Managed AD.
#>
Set-StrictMode -Version 3.0

function Add-SqlCall {
    param([string] $Statement, [bool] $Change)
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Invoke-Sqlcmd'; Arguments = @{ Statement = $Statement }; Change = $Change })
}

function Test-WindowsPrincipal {
    # NETBIOS\gmsa$ resolves when the gMSA exists, NETBIOS\user when the user (or admin) exists.
    param([string] $Principal)
    $dir = $global:BastionFake.Directory
    $netbios, $name = $Principal.Split('\', 2)
    if ($netbios -ne $dir.Domain.NetBIOSName) { return $false }
    if ($name.EndsWith('$')) { return $dir.ServiceAccounts.ContainsKey($name.TrimEnd('$')) }
    return $name -eq 'admin' -or $dir.Users.ContainsKey($name)
}

function Invoke-Sqlcmd {
    [CmdletBinding()]
    param([string] $ServerInstance, [pscredential] $Credential, [string] $Database = 'master', [string] $Encrypt,
        [int] $QueryTimeout, [int] $ConnectionTimeout, [string] $Query, [string] $InputFile)
    $f = $global:BastionFake
    # Invoke-Sqlcmd: QueryTimeout 0 (or none) means the query never times out (SqlServer module reference,
    # Invoke-Sqlcmd -QueryTimeout); the run must bound every query.
    if ($QueryTimeout -lt 1) { throw 'fake SqlServer: every query must have a QueryTimeout of at least 1 second.' }
    if ($ConnectionTimeout -lt 1) { throw 'fake SqlServer: every connection must have a ConnectionTimeout.' }
    $f.QueryTimeouts.Add($QueryTimeout)
    if ($ServerInstance -ne $f.Rds.Address) { throw "A network-related or instance-specific error occurred while establishing a connection to SQL Server '$ServerInstance'." }
    if ($Encrypt -ne 'Mandatory') { throw 'fake SqlServer: the scripts must connect with -Encrypt Mandatory.' }
    $sql = $f.Sql

    if ($InputFile) {
        Add-SqlCall -Statement "(input file) $InputFile" -Change $true
        $text = Get-Content -Raw -Path $InputFile
        foreach ($m in [regex]::Matches($text, 'CREATE DATABASE \[(\w+)\]')) {
            $tracks = [regex]::Matches($text, 'INSERT INTO \[dbo\]\.\[PlaylistTrack\]').Count
            $sql.Databases[$m.Groups[1].Value] = @{ State = 'ONLINE'; Tracks = $tracks }
        }
        return
    }

    $q = $Query.Trim()
    switch -Regex ($q) {
        "^SELECT state_desc FROM sys\.databases WHERE name = N'(\w+)'$" {
            Add-SqlCall -Statement $q -Change $false
            if ($sql.Databases.ContainsKey($Matches[1])) { return [pscustomobject]@{ state_desc = $sql.Databases[$Matches[1]].State } }
            return
        }
        "^IF OBJECT_ID\(N'\[(\w+)\]\.dbo\.PlaylistTrack'\)" {
            Add-SqlCall -Statement $q -Change $false
            $db = $sql.Databases[$Matches[1]]
            return [pscustomobject]@{ n = $(if ($db) { $db.Tracks } else { 0 }) }
        }
        "^SELECT DB_ID\(N'(\w+)'\) AS id$" {
            Add-SqlCall -Statement $q -Change $false
            return [pscustomobject]@{ id = $(if ($sql.Databases.ContainsKey($Matches[1])) { 5 } else { [DBNull]::Value }) }
        }
        "^ALTER DATABASE \[(\w+)\] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE \[\w+\];$" {
            Add-SqlCall -Statement $q -Change $true
            $sql.Databases.Remove($Matches[1])
            return
        }
        "^EXEC rdsadmin\.dbo\.rds_set_database_online N'(\w+)'$" {
            Add-SqlCall -Statement $q -Change $true
            $sql.Databases[$Matches[1]].State = 'ONLINE'
            return
        }
        "AS login_exists" {
            Add-SqlCall -Statement $q -Change $false
            $null = $q -match "name = N'([^']+)'"
            $login = $sql.Logins[$Matches[1]]
            return [pscustomobject]@{
                login_exists      = $(if ($login) { 1 } else { 0 })
                view_server_state = $(if ($login -and $login.ViewServerState) { 1 } else { 0 })
            }
        }
        "AS user_exists" {
            Add-SqlCall -Statement $q -Change $false
            if (-not $sql.Databases.ContainsKey($Database)) { throw "Cannot open database `"$Database`" requested by the login." }
            $null = $q -match "name = N'([^']+)'"
            $user = $sql.Users["$Database|$($Matches[1])"]
            return [pscustomobject]@{
                user_exists = $(if ($user) { 1 } else { 0 })
                db_owner    = $(if ($user -and $user.Owner) { 1 } else { 0 })
            }
        }
        "^IF NOT EXISTS \(SELECT 1 FROM sys\.server_principals WHERE name = N'[^']+'\) CREATE LOGIN \[([^\]]+)\] FROM WINDOWS WITH DEFAULT_DATABASE = \[(\w+)\];$" {
            Add-SqlCall -Statement $q -Change $true
            if (-not (Test-WindowsPrincipal $Matches[1])) { throw "Windows NT user or group '$($Matches[1])' not found. Check the name again." }
            if (-not $sql.Logins.ContainsKey($Matches[1])) { $sql.Logins[$Matches[1]] = @{ DefaultDatabase = $Matches[2]; ViewServerState = $false } }
            return
        }
        "^GRANT VIEW SERVER STATE TO \[([^\]]+)\];$" {
            Add-SqlCall -Statement $q -Change $true
            $sql.Logins[$Matches[1]].ViewServerState = $true
            return
        }
        "^IF NOT EXISTS \(SELECT 1 FROM sys\.database_principals WHERE name = N'[^']+'\) CREATE USER \[([^\]]+)\] FOR LOGIN \[[^\]]+\] WITH DEFAULT_SCHEMA = \[dbo\];$" {
            Add-SqlCall -Statement $q -Change $true
            if (-not $sql.Users.ContainsKey("$Database|$($Matches[1])")) { $sql.Users["$Database|$($Matches[1])"] = @{ Owner = $false } }
            return
        }
        "^ALTER ROLE \[db_owner\] ADD MEMBER \[([^\]]+)\];$" {
            Add-SqlCall -Statement $q -Change $true
            $sql.Users["$Database|$($Matches[1])"].Owner = $true
            return
        }
        default { throw "fake SqlServer: unexpected statement: $q" }
    }
}

Export-ModuleMember -Function Invoke-Sqlcmd
