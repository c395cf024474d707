# scripts/Configure-SidecarUser.ps1 on its own, against the fake directory and the fake SQL Server: the Kerberos
# sidecar's AD user and its read-only login on Chinook, created once and repaired when they drift.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:SidecarScript = Join-Path $PSScriptRoot '../../scripts/Configure-SidecarUser.ps1'

    function Invoke-ConfigureSidecarUser {
        param($World, [string] $UserName = 'ecs-sidecar-user', [string] $Password = 'Sidecar-Pa55', [hashtable] $Extra = @{})
        $c = $World.Config
        $secure = { param($p) ConvertTo-SecureString $p -AsPlainText -Force }
        $parameters = @{
            DomainName       = $c.DomainName
            Credential       = [pscredential]::new("admin@$($c.DomainName)", (& $secure 'Admin-Pa55'))
            SidecarUser      = [pscredential]::new($UserName, (& $secure $Password))
            SqlServerAddress = $global:BastionFake.Rds.Address
            SqlCredential    = [pscredential]::new('sqladmin', (& $secure 'Sql-Pa55'))
        }
        foreach ($key in $Extra.Keys) { $parameters[$key] = $Extra[$key] }
        & $script:SidecarScript @parameters
    }
}

Describe 'Configure-SidecarUser.ps1' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
        # The db_datareader statements only the sidecar path sends (SidecarSql.ps1).
        . (Join-Path $PSScriptRoot 'SidecarSql.ps1')
    }

    BeforeEach {
        $world = New-FakeWorld -Mode domain-joined -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $dir = $global:BastionFake.Directory
        $sql = $global:BastionFake.Sql
        # Configure-Database.ps1 has loaded Chinook.
        $sql.Databases['Chinook'] = @{ State = 'ONLINE'; Tracks = 3 }
        $netbios = $world.Config.NetBiosName
    }

    It 'GIVEN a directory without the user WHEN it runs THEN it creates the user and a login that may only read Chinook' {
        $output = Invoke-ConfigureSidecarUser -World $world

        $user = $dir.Users['ecs-sidecar-user']
        $user.DistinguishedName | Should -BeLike 'CN=ecs-sidecar-user,OU=Users,OU=*'
        $user.Enabled | Should -BeTrue
        $user.Password | Should -BeExactly 'Sidecar-Pa55'
        $sql.Logins["$netbios\ecs-sidecar-user"].ViewServerState | Should -BeTrue
        $sql.Users["Chinook|$netbios\ecs-sidecar-user"].Reader | Should -BeTrue
        $sql.Users["Chinook|$netbios\ecs-sidecar-user"].Owner | Should -BeFalse
        $output | Should -Contain "The sidecar user $netbios\ecs-sidecar-user may read Chinook."
    }

    It 'GIVEN everything in place WHEN it runs again THEN it changes nothing' {
        Invoke-ConfigureSidecarUser -World $world | Out-Null
        Reset-FakeCalls

        $output = Invoke-ConfigureSidecarUser -World $world

        Get-FakeChange | Should -BeNullOrEmpty
        $output | Should -Contain 'User ecs-sidecar-user exists with the secret''s password.'
    }

    It 'GIVEN a disabled user whose password drifted from the secret WHEN it runs THEN it enables it and resets the password, nothing else' {
        Invoke-ConfigureSidecarUser -World $world | Out-Null
        $dir.Users['ecs-sidecar-user'].Enabled = $false
        $dir.Users['ecs-sidecar-user'].Password = 'changed-by-someone'
        Reset-FakeCalls

        Invoke-ConfigureSidecarUser -World $world | Out-Null

        (Get-FakeChange).Command | Sort-Object | Should -Be @('Enable-ADAccount', 'Set-ADAccountPassword')
        $dir.Users['ecs-sidecar-user'].Password | Should -BeExactly 'Sidecar-Pa55'
    }

    It 'GIVEN a login whose database user lost db_datareader WHEN it runs THEN it adds the role back' {
        Invoke-ConfigureSidecarUser -World $world | Out-Null
        $sql.Users["Chinook|$netbios\ecs-sidecar-user"].Reader = $false
        Reset-FakeCalls

        $output = Invoke-ConfigureSidecarUser -World $world

        (Get-FakeChange).Arguments.Statement | Should -Be @("ALTER ROLE [db_datareader] ADD MEMBER [$netbios\ecs-sidecar-user];")
        $output | Should -Contain "Added $netbios\ecs-sidecar-user to db_datareader in Chinook."
    }

    It 'fails with one line naming the database when Chinook is not loaded yet, before any login' {
        $sql.Databases.Clear()

        { Invoke-ConfigureSidecarUser -World $world } | Should -Throw 'Database Chinook does not exist on *: run Configure-Database.ps1 first.'
        $sql.Logins.Count | Should -Be 0
    }

    It 'fails with one line naming the setting when the user name is not an sAMAccountName, before any call' {
        { Invoke-ConfigureSidecarUser -World $world -UserName 'a-user-name-of-21-chr' } |
            Should -Throw "SidecarUser 'a-user-name-of-21-chr' is not allowed: 1 to 20 letters, digits, dots, underscores or hyphens."
        $global:BastionFake.Calls | Should -BeNullOrEmpty
    }
}
