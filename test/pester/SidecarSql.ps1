<#
    Dot-sourced in a Describe's BeforeAll (after Mocks.ps1) by the suites that run Configure-SidecarUser.ps1: the
    fake SQL Server's answers to the db_datareader statements of Grant-WindowsLogin (scripts/SqlServerLogins.ps1).
#>
# The two statements only this script sends (db_datareader), modelled on SQL Server as the shared fake in
# fakes/modules/SqlServer models the others: IS_ROLEMEMBER is NULL (here 0 through ISNULL) for a user that does
# not exist, and ALTER ROLE ... ADD MEMBER fails for one. Kept here, apart from the shared fake, which another
# change is editing; they belong there once both are merged.
# https://learn.microsoft.com/sql/t-sql/functions/is-rolemember-transact-sql
Mock Invoke-Sqlcmd -ParameterFilter { $Query -match 'db_datareader' } {
    $f = $global:BastionFake
    if ($ServerInstance -ne $f.Rds.Address -or $Encrypt -ne 'Mandatory') { throw 'fake SqlServer: wrong server or no TLS.' }
    $q = $Query.Trim()
    if ($q -match 'AS user_exists') {
        $f.Calls.Add([pscustomobject]@{ Command = 'Invoke-Sqlcmd'; Arguments = @{ Statement = $q }; Change = $false })
        if (-not $f.Sql.Databases.ContainsKey($Database)) { throw "Cannot open database `"$Database`" requested by the login." }
        $null = $q -match "name = N'([^']+)'"
        $user = $f.Sql.Users["$Database|$($Matches[1])"]
        return [pscustomobject]@{
            user_exists   = $(if ($user) { 1 } else { 0 })
            db_datareader = $(if ($user -and $user.ContainsKey('Reader') -and $user.Reader) { 1 } else { 0 })
        }
    }
    if ($q -match '^ALTER ROLE \[db_datareader\] ADD MEMBER \[([^\]]+)\];$') {
        $f.Calls.Add([pscustomobject]@{ Command = 'Invoke-Sqlcmd'; Arguments = @{ Statement = $q }; Change = $true })
        $user = $f.Sql.Users["$Database|$($Matches[1])"]
        if (-not $user) { throw "Cannot add the principal '$($Matches[1])', because it does not exist or you do not have permission." }
        $user.Reader = $true
        return
    }
    throw "fake SqlServer: unexpected statement: $q"
}
