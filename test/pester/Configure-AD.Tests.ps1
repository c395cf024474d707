# scripts/Configure-AD.ps1 on its own, against the fake directory: it repairs what drifted and nothing else.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    function Invoke-ConfigureAd {
        param($World)
        $c = $World.Config
        $secure = { param($p) ConvertTo-SecureString $p -AsPlainText -Force }
        & (Join-Path $World.Folder 'Configure-AD.ps1') -DomainName $c.DomainName `
            -Credential ([pscredential]::new("admin@$($c.DomainName)", (& $secure 'Admin-Pa55'))) `
            -GmsaName $c.GmsaName -GmsaPrincipalsGroup $c.GmsaPrincipalsGroup `
            -DomainlessUser ([pscredential]::new('credentials-fetcher', (& $secure 'Identity-Pa55'))) `
            -DomainJoinUser ([pscredential]::new('ecs-domain-join', (& $secure 'Join-Pa55')))
    }
}

Describe 'Configure-AD.ps1' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
    }

    BeforeEach {
        $world = New-FakeWorld -Mode domainless -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $dir = $global:BastionFake.Directory
        Invoke-ConfigureAd -World $world | Out-Null
        Reset-FakeCalls
    }

    It 'GIVEN a disabled identity user with another password and a gMSA that lost an SPN and its group WHEN it runs THEN it repairs exactly those' {
        $dir.Users['credentials-fetcher'].Enabled = $false
        $dir.Users['credentials-fetcher'].Password = 'changed-by-someone'
        $gmsa = $dir.ServiceAccounts['SampleWebApp']
        $gmsa.ServicePrincipalNames.Remove('host/SampleWebApp') | Out-Null
        $gmsa.PrincipalsAllowedToRetrieveManagedPassword = @()

        Invoke-ConfigureAd -World $world | Out-Null

        (Get-FakeChange).Command | Sort-Object | Should -Be @('Enable-ADAccount', 'Set-ADAccountPassword', 'Set-ADServiceAccount', 'Set-ADServiceAccount')
        $dir.Users['credentials-fetcher'].Enabled | Should -BeTrue
        $dir.Users['credentials-fetcher'].Password | Should -BeExactly 'Identity-Pa55'
        $gmsa.ServicePrincipalNames | Should -Contain 'host/SampleWebApp'
        $gmsa.PrincipalsAllowedToRetrieveManagedPassword | Should -Be @($dir.Groups['SampleWebAppGmsaPrincipals'].DistinguishedName)
    }

    It 'GIVEN the identity user was removed from the group WHEN it runs THEN it adds it back, and only that' {
        $dir.Users['credentials-fetcher'].MemberOf.Clear()

        Invoke-ConfigureAd -World $world | Out-Null

        (Get-FakeChange).Command | Should -Be @('Add-ADGroupMember')
        $dir.Users['credentials-fetcher'].MemberOf | Should -Be @($dir.Groups['SampleWebAppGmsaPrincipals'].DistinguishedName)
    }

    It 'sends every call after the first to the PDC emulator' {
        Invoke-ConfigureAd -World $world | Out-Null

        $servers = (Get-FakeCall 'Get-ADDomain').Arguments.Server
        $servers[0] | Should -Be $world.Config.DomainName
        $servers | Select-Object -Skip 1 | Should -Not -Contain $world.Config.DomainName
    }
}
