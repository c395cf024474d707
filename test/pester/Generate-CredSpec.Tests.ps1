# scripts/Generate-CredSpec.ps1 on its own: the CredSpec it writes is the shared fixture
# (test/fixtures/credspec/expected-<mode>.json, which jest checks against buildCredSpecTemplate), one string in both
# stores, written only where it differs; only "not found" counts as absent.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Import-Module AWSPowerShell, ActiveDirectory -DisableNameChecking

    function Invoke-GenerateCredSpec {
        param($World)
        $c = $World.Config
        $admin = [pscredential]::new("admin@$($c.DomainName)", (ConvertTo-SecureString 'Admin-Pa55' -AsPlainText -Force))
        & (Join-Path $World.Folder 'Generate-CredSpec.ps1') -TemplatePath $c.CredSpecTemplatePath -DomainName $c.DomainName `
            -Credential $admin -ParameterName $c.CredSpecParameterName -BucketName $c.CredSpecBucketName `
            -ObjectKey $c.CredSpecObjectKey -Region $c.Region
    }
}

Describe 'Generate-CredSpec.ps1 in <_> mode' -ForEach @('domainless', 'domain-joined') {
    BeforeEach {
        $world = New-FakeWorld -Mode $_ -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $global:BastionFake.Directory.ServiceAccounts['SampleWebApp'] = @{
            Name = 'SampleWebApp'; DNSHostName = ''; ServicePrincipalNames = @(); PrincipalsAllowedToRetrieveManagedPassword = @()
        }
        $parameterName = $world.Config.CredSpecParameterName
        $objectKey = "$($world.Config.CredSpecBucketName)/$($world.Config.CredSpecObjectKey)"
    }

    It 'GIVEN neither copy exists WHEN it runs THEN both hold the same string, equal to the shared expected fixture' {
        Invoke-GenerateCredSpec -World $world | Out-Null

        $parameter = $global:BastionFake.Ssm[$parameterName]
        $parameter | Should -Not -BeNullOrEmpty
        $global:BastionFake.S3[$objectKey] | Should -BeExactly $parameter
        ConvertTo-CanonicalJson $parameter | Should -BeExactly (ConvertTo-CanonicalJson $world.Expected)
        $parameter | Should -Not -Match '__DOMAIN_(SID|GUID)__'
        (Get-FakeCall 'Write-SSMParameter')[0].Arguments.Overwrite | Should -BeTrue
        (Get-FakeCall 'Write-S3Object')[0].Arguments.ContentType | Should -Be 'application/json'
    }

    It 'GIVEN both copies already hold it WHEN it runs THEN it writes nothing' {
        Invoke-GenerateCredSpec -World $world | Out-Null
        Reset-FakeCalls

        $output = Invoke-GenerateCredSpec -World $world

        (Get-FakeChange).Command | Should -BeNullOrEmpty
        $output | Should -Contain "SSM parameter $parameterName already holds it."
    }

    It 'GIVEN the SSM copy holds an old placeholder WHEN it runs THEN only the parameter is written' {
        Invoke-GenerateCredSpec -World $world | Out-Null
        $global:BastionFake.Ssm[$parameterName] = 'CREDSPEC'
        Reset-FakeCalls

        Invoke-GenerateCredSpec -World $world | Out-Null

        (Get-FakeChange).Command | Should -Be @('Write-SSMParameter')
        $global:BastionFake.Ssm[$parameterName] | Should -BeExactly $global:BastionFake.S3[$objectKey]
    }
}

Describe 'Generate-CredSpec.ps1 refuses what it must not write' {
    BeforeEach {
        $world = New-FakeWorld -Mode domainless -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $global:BastionFake.Directory.ServiceAccounts['SampleWebApp'] = @{
            Name = 'SampleWebApp'; DNSHostName = ''; ServicePrincipalNames = @(); PrincipalsAllowedToRetrieveManagedPassword = @()
        }
    }

    It 'fails when reading the parameter is denied (not "not found"), and writes nothing' {
        Mock Get-SSMParameter { throw (New-FakeAwsError 'User is not authorized to perform: ssm:GetParameter' 'AccessDeniedException' 403) }

        { Invoke-GenerateCredSpec -World $world } | Should -Throw '*not authorized to perform: ssm:GetParameter*'

        Get-FakeChange | Should -BeNullOrEmpty
    }

    It 'fails when reading the object is denied, and writes no S3 object' {
        Mock Read-S3Object { throw (New-FakeAwsError 'Access Denied' 'AccessDenied' 403) }

        { Invoke-GenerateCredSpec -World $world } | Should -Throw '*Access Denied*'

        Get-FakeCall 'Write-S3Object' | Should -BeNullOrEmpty
    }

    It 'fails naming the field when the template is for another domain' {
        $global:BastionFake.Directory.Domain.NetBIOSName = 'OTHER'

        { Invoke-GenerateCredSpec -World $world } | Should -Throw "The template's DomainJoinConfig.NetBiosName is 'DIRECTORY' but the directory says 'OTHER'."
        Get-FakeChange | Should -BeNullOrEmpty
    }

    It 'fails when the gMSA does not exist yet' {
        $global:BastionFake.Directory.ServiceAccounts.Clear()

        { Invoke-GenerateCredSpec -World $world } | Should -Throw 'The gMSA SampleWebApp does not exist: run Configure-AD.ps1 first.'
    }
}
