# scripts/Configure-Database.ps1 on its own, against the fake SQL Server: repairs of a half-done load and the wait
# for RDS to see a just-created gMSA.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    function Invoke-ConfigureDatabase {
        param($World, [hashtable] $Extra = @{})
        $c = $World.Config
        $sql = [pscredential]::new('sqladmin', (ConvertTo-SecureString 'Sql-Pa55' -AsPlainText -Force))
        $parameters = @{
            SqlServerAddress    = $global:BastionFake.Rds.Address
            SqlCredential       = $sql
            NetBiosName         = $c.NetBiosName
            GmsaName            = $c.GmsaName
            DatabaseName        = $c.DatabaseName
            ChinookScriptUrl    = $c.ChinookScriptUrl
            ChinookScriptHash   = $c.ChinookScriptSha256
        }
        foreach ($key in $Extra.Keys) { $parameters[$key] = $Extra[$key] }
        & (Join-Path $World.Folder 'Configure-Database.ps1') @parameters
    }
}

Describe 'Configure-Database.ps1' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
    }

    BeforeEach {
        $world = New-FakeWorld -Mode domain-joined -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $global:BastionFake.Directory.ServiceAccounts['SampleWebApp'] = @{ Name = 'SampleWebApp' }
        $sql = $global:BastionFake.Sql
    }

    It 'GIVEN a Chinook database left incomplete WHEN it runs THEN it drops it, loads it again and creates the logins' {
        $sql.Databases['Chinook'] = @{ State = 'ONLINE'; Tracks = 0 }

        $output = Invoke-ConfigureDatabase -World $world

        $output | Should -Contain 'Database Chinook is incomplete: dropping it before loading it again.'
        (Get-FakeCall 'Invoke-Sqlcmd').Arguments.Statement | Should -Contain ((Get-FakeCall 'Invoke-Sqlcmd').Arguments.Statement | Where-Object { $_ -like 'ALTER DATABASE `[Chinook`] SET SINGLE_USER*' })
        $sql.Databases['Chinook'].Tracks | Should -Be 3
        $sql.Logins.Keys | Should -Contain 'DIRECTORY\SampleWebApp$'
    }

    It 'GIVEN a database left offline WHEN it runs THEN it brings it online through rdsadmin' {
        Invoke-ConfigureDatabase -World $world | Out-Null
        $sql.Databases['Chinook'].State = 'OFFLINE'

        $output = Invoke-ConfigureDatabase -World $world

        $output | Should -Contain 'Database Chinook set online.'
        $sql.Databases['Chinook'].State | Should -Be 'ONLINE'
    }

    It 'GIVEN RDS does not see the new gMSA yet WHEN it runs THEN it retries the login until it does' {
        $global:BastionFake.Directory.ServiceAccounts.Clear()
        Mock Start-Sleep { $global:BastionFake.Directory.ServiceAccounts['SampleWebApp'] = @{ Name = 'SampleWebApp' } }

        $output = Invoke-ConfigureDatabase -World $world

        $output | Should -Contain ($output | Where-Object { $_ -like "Creating the login DIRECTORY\SampleWebApp$ failed (attempt 1 of 20), retrying: Windows NT user or group*" })
        $sql.Logins['DIRECTORY\SampleWebApp$'].ViewServerState | Should -BeTrue
        Should -Invoke Start-Sleep -Times 1 -Exactly
    }

    It 'GIVEN RDS never sees the gMSA and a 5-minute budget WHEN it runs THEN it stops retrying within the budget, naming it and the last error' {
        $global:BastionFake.Directory.ServiceAccounts.Clear()

        { Invoke-ConfigureDatabase -World $world -Extra @{ TimeBudgetMinutes = 5; LoginRetryDelaySeconds = 30 } } |
            Should -Throw "Creating the login DIRECTORY\SampleWebApp$ failed * times and Configure-Database.ps1's 5-minute budget leaves no time for another attempt; last error: Windows NT user or group*"
        $slept = (Get-FakeCall 'Start-Sleep' | ForEach-Object { $_.Arguments.Seconds } | Measure-Object -Sum).Sum
        $slept | Should -BeLessOrEqual 300 -Because 'no retry starts after the budget'
        $slept | Should -BeGreaterOrEqual 240
    }

    It 'GIVEN a budget almost used up WHEN a query runs THEN it gets only the seconds left as its timeout' {
        Invoke-ConfigureDatabase -World $world | Out-Null
        $global:BastionFake.QueryTimeouts | Where-Object { $_ -ne 600 } | Should -BeNullOrEmpty -Because 'with time to spare each query gets QueryTimeoutSeconds'
        $global:BastionFake.QueryTimeouts.Clear()
        # The clock moves 1,790 seconds at the first query: 10 seconds of the 30-minute budget are left.
        $global:BastionFake.Sleeps = 0
        Mock Invoke-Sqlcmd -ParameterFilter { $global:BastionFake.Sleeps -eq 0 } {
            $global:BastionFake.Sleeps = 1
            $global:BastionFake.Clock = $global:BastionFake.Clock.AddSeconds(1790)
            $global:BastionFake.QueryTimeouts.Add($QueryTimeout)
        }

        Invoke-ConfigureDatabase -World $world | Out-Null

        $global:BastionFake.QueryTimeouts[0] | Should -Be 600
        $global:BastionFake.QueryTimeouts[1] | Should -BeLessOrEqual 10
    }

    It 'fails with one line naming the setting when the database name is not allowed' {
        { Invoke-ConfigureDatabase -World $world -Extra @{ DatabaseName = 'Chinook]; DROP' } } |
            Should -Throw "DatabaseName 'Chinook]; DROP' is not allowed: 1 to 64 letters, digits or underscores."
        Get-FakeCall 'Invoke-Sqlcmd' | Should -BeNullOrEmpty
    }
}
