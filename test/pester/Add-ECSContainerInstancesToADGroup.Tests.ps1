# scripts/Add-ECSContainerInstancesToADGroup.ps1 run for real, against the fake directory and the fake Auto Scaling
# group / EC2 instances of fakes/modules (AWSPowerShell, ActiveDirectory).

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # The script relies on the AWS Tools being loaded (Get-ASAutoScalingGroup, Get-EC2Instance): load the fake.
    Import-Module AWSPowerShell -Force -DisableNameChecking
    $script:Script = Join-Path $RepositoryRoot 'scripts/Add-ECSContainerInstancesToADGroup.ps1'
    $script:AsgName = 'amazon-ecs-gmsa-linux-cluster-AsgASG1234-ABCDEF'
    $script:Group = 'SampleWebAppGmsaPrincipals'

    function Invoke-AddInstances {
        # Runs the script as an admin would from the AD management instance; returns its output and warnings.
        param([string] $AsgName = $script:AsgName, [string] $Region = 'us-east-1')
        $credential = [pscredential]::new('admin@directory.example.com', (ConvertTo-SecureString 'Admin-Pa55' -AsPlainText -Force))
        $records = & $script:Script -EcsAsgName $AsgName -GmsaPrincipalsGroup $script:Group -Server 'directory.example.com' `
            -Credential $credential -Region $Region 3>&1
        [pscustomobject]@{
            Output   = @($records | Where-Object { $_ -isnot [System.Management.Automation.WarningRecord] } | ForEach-Object { "$_" })
            Warnings = @($records | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object { $_.Message })
        }
    }

    function Add-FakeHost {
        # An ECS container instance of the group; -Joined also gives it its computer account (short host name,
        # upper case, at most 15 characters, as a Linux host joins).
        param([string] $InstanceId, [string] $PrivateDnsName, [string] $ComputerName, [switch] $Joined)
        $global:BastionFake.Ec2[$InstanceId] = $PrivateDnsName
        $global:BastionFake.AutoScaling[$script:AsgName] += @($InstanceId)
        if ($Joined) {
            $dir = $global:BastionFake.Directory
            $dir.Computers[$ComputerName] = @{
                Name              = $ComputerName
                SamAccountName    = "$ComputerName`$"
                DistinguishedName = "CN=$ComputerName,OU=Computers,OU=directory,DC=directory,DC=example,DC=com"
                MemberOf          = [System.Collections.Generic.List[string]]::new()
            }
        }
    }

    function Get-GroupMemberNames {
        $dn = $global:BastionFake.Directory.Groups[$script:Group].DistinguishedName
        @($global:BastionFake.Directory.Computers.Values | Where-Object { $_.MemberOf -contains $dn } |
            ForEach-Object { $_.SamAccountName } | Sort-Object)
    }
}

Describe 'Add-ECSContainerInstancesToADGroup.ps1' {
    BeforeEach {
        New-FakeWorld -Mode domain-joined -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid()))) | Out-Null
        $global:BastionFake.Directory.Groups[$Group] = @{ DistinguishedName = "CN=$Group,OU=Users,OU=directory,DC=directory,DC=example,DC=com" }
        $global:BastionFake.AutoScaling[$AsgName] = @()
        Add-FakeHost -InstanceId 'i-0aaaaaaaaaaaaaaa1' -PrivateDnsName 'ip-10-0-1-23.ec2.internal' -ComputerName 'IP-10-0-1-23' -Joined
        # 17 characters of host name: the computer account has the first 15 (NetBIOS).
        Add-FakeHost -InstanceId 'i-0bbbbbbbbbbbbbbb2' -PrivateDnsName 'ip-10-100-200-123.us-west-2.compute.internal' -ComputerName 'IP-10-100-200-1' -Joined
    }

    It 'GIVEN two joined instances WHEN it runs THEN both computer accounts are added to the gMSA principals group' {
        $run = Invoke-AddInstances

        Get-GroupMemberNames | Should -Be @('IP-10-0-1-23$', 'IP-10-100-200-1$')
        $run.Output | Should -Be @(
            "i-0aaaaaaaaaaaaaaa1: added IP-10-0-1-23`$ to $Group.",
            "i-0bbbbbbbbbbbbbbb2: added IP-10-100-200-1`$ to $Group.")
        $run.Warnings | Should -BeNullOrEmpty
        (Get-FakeCall 'Get-ASAutoScalingGroup').Arguments.Region | Should -Be 'us-east-1'
        (Get-FakeCall 'Get-EC2Instance').Arguments.InstanceId | Should -Be @('i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2')
    }

    It 'GIVEN it already ran WHEN it runs again THEN it adds nothing and says each computer is already in the group' {
        Invoke-AddInstances | Out-Null
        Reset-FakeCalls

        $run = Invoke-AddInstances

        Get-FakeChange | Should -BeNullOrEmpty
        Get-GroupMemberNames | Should -Be @('IP-10-0-1-23$', 'IP-10-100-200-1$')
        $run.Output | Should -Be @(
            "i-0aaaaaaaaaaaaaaa1: IP-10-0-1-23`$ is already in $Group.",
            "i-0bbbbbbbbbbbbbbb2: IP-10-100-200-1`$ is already in $Group.")
    }

    It 'GIVEN an instance without a computer account WHEN it runs THEN it warns about that instance and adds the others' {
        Add-FakeHost -InstanceId 'i-0ccccccccccccccc3' -PrivateDnsName 'ip-10-0-2-99.ec2.internal' -ComputerName 'IP-10-0-2-99'

        $run = Invoke-AddInstances

        $run.Warnings | Should -Be @('i-0ccccccccccccccc3: no computer account IP-10-0-2-99 (not joined yet?).')
        Get-GroupMemberNames | Should -Be @('IP-10-0-1-23$', 'IP-10-100-200-1$')
        (Get-FakeChange).Command | Should -Be @('Add-ADGroupMember', 'Add-ADGroupMember')
        $run.Output | Should -HaveCount 2
    }

    It 'GIVEN an Auto Scaling group without instances WHEN it runs THEN it changes nothing and writes nothing' {
        $global:BastionFake.AutoScaling[$AsgName] = @()

        $run = Invoke-AddInstances

        Get-FakeChange | Should -BeNullOrEmpty
        Get-FakeCall 'Get-EC2Instance' | Should -BeNullOrEmpty
        $run.Output | Should -BeNullOrEmpty
        $run.Warnings | Should -BeNullOrEmpty
        Get-GroupMemberNames | Should -BeNullOrEmpty
    }

    It 'GIVEN an Auto Scaling group name that does not exist WHEN it runs THEN it stops with the name, before any AD call' {
        { Invoke-AddInstances -AsgName 'no-such-asg' } | Should -Throw -ExpectedMessage 'Auto Scaling group no-such-asg not found.'

        Get-FakeChange | Should -BeNullOrEmpty
        Get-FakeCall 'Get-EC2Instance' | Should -BeNullOrEmpty
    }
}
