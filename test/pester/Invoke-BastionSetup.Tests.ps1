# The whole bastion run (scripts/Invoke-BastionSetup.ps1 and the three scripts it calls), in each mode, against the
# fake world of fakes/: what it creates, that a later boot (EC2Launch v2 runs the user data again) changes nothing and
# signals nothing, that CloudFormation refuses a signal to a resource that no longer waits, that every wait and step
# is bounded, that every failure ends in one FAILURE signal with its reason and exit code 1, and that the run gives up
# its keys: it detaches its secret reads from its role last, before SUCCESS, and nothing after it reads a secret.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Invoke-BastionSetup.ps1 in <_> mode' -ForEach @('domainless', 'domain-joined') {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
    }

    BeforeEach {
        $mode = $_
        $world = New-FakeWorld -Mode $mode -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $dir = $global:BastionFake.Directory
        $netbios = $world.Config.NetBiosName
    }

    Context 'GIVEN an empty directory, database and CredSpec store' {
        It 'WHEN it runs THEN it creates the group, the gMSA, the users, the logins and the CredSpec, signals SUCCESS, joins without restarting and stops' {
            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            $group = $dir.Groups['SampleWebAppGmsaPrincipals']
            $group | Should -Not -BeNullOrEmpty
            $group.DistinguishedName | Should -BeLike "CN=SampleWebAppGmsaPrincipals,OU=Users,OU=$netbios,*"
            $gmsa = $dir.ServiceAccounts['SampleWebApp']
            $gmsa.PrincipalsAllowedToRetrieveManagedPassword | Should -Be @($group.DistinguishedName)
            @($gmsa.ServicePrincipalNames) | Should -Be @('host/SampleWebApp', "host/SampleWebApp.$($world.Config.DomainName)")
            if ($mode -eq 'domain-joined') {
                $join = $dir.Users['ecs-domain-join']
                $join.MemberOf | Should -Contain $dir.Groups['AWS Delegated Add Workstations To Domain Users'].DistinguishedName
                $join.Password | Should -BeExactly 'Join-Pa55'
                $dir.Aces.Count | Should -Be 2 -Because 'the join user may write the group members and create computers'
            }
            else {
                $dir.Users.Keys | Should -Not -Contain 'ecs-domain-join' -Because 'nothing joins the domain in domainless mode'
                $dir.Aces.Count | Should -Be 0 -Because 'no one but admin may change the gMSA group or create computers'
                (Get-FakeCall 'Get-SECSecretValue').Arguments.SecretId | Should -Not -Match 'seamless-domain-join'
            }
            if ($mode -eq 'domainless') {
                $identity = $dir.Users['credentials-fetcher']
                $identity.MemberOf | Should -Be @($group.DistinguishedName)
                $identity.Password | Should -BeExactly 'Identity-Pa55'
                $identity.Enabled | Should -BeTrue
            }
            else {
                $dir.Users.Keys | Should -Not -Contain 'credentials-fetcher'
            }

            $sql = $global:BastionFake.Sql
            $sql.Databases['Chinook'].Tracks | Should -Be 3
            foreach ($principal in "$netbios\SampleWebApp`$", "$netbios\admin") {
                $sql.Logins[$principal].DefaultDatabase | Should -Be 'Chinook'
                $sql.Logins[$principal].ViewServerState | Should -BeTrue
                $sql.Users["Chinook|$principal"].Owner | Should -BeTrue
            }

            $parameter = $global:BastionFake.Ssm[$world.Config.CredSpecParameterName]
            $object = $global:BastionFake.S3["$($world.Config.CredSpecBucketName)/$($world.Config.CredSpecObjectKey)"]
            $object | Should -BeExactly $parameter -Because 'both copies are written from one string'
            ConvertTo-CanonicalJson $parameter | Should -BeExactly (ConvertTo-CanonicalJson $world.Expected)

            $global:BastionFake.Signals.Count | Should -Be 1
            $global:BastionFake.Signals[0].Status | Should -Be 'SUCCESS'
            $global:BastionFake.Signals[0].UniqueId | Should -Be $global:BastionFake.InstanceId
            $global:BastionFake.Signals[0].LogicalResourceId | Should -Be $world.Config.LogicalResourceId
            $global:BastionFake.Cfn.Resources[$world.Config.LogicalResourceId] | Should -Be 'CREATE_COMPLETE'
            $global:BastionFake.Power | Should -Be @("Add-Computer $($world.Config.DomainName)", 'Stop-Computer')
            (Get-FakeCall 'Stop-Computer')[0].Arguments.Force | Should -BeTrue
            $done = Get-Content -Raw -Path (Join-Path $world.Folder 'bastion-setup.done.json') | ConvertFrom-Json
            $done.ConfigurationDigest | Should -Be $world.Config.ConfigurationDigest
            $done.InstanceId | Should -Be $global:BastionFake.InstanceId
            Get-FakeCall 'Install-Module' | Should -BeNullOrEmpty -Because 'the pinned SqlServer version is there already'
            $global:BastionFake.QueryTimeouts | Should -Not -BeNullOrEmpty
            $global:BastionFake.QueryTimeouts | Where-Object { $_ -lt 1 -or $_ -gt 600 } | Should -BeNullOrEmpty

            # Contract order: directory, AD, CredSpec, RDS, database, detach the secret reads, signal, join, stop.
            $calls = $global:BastionFake.Calls
            $first = { param($command) for ($i = 0; $i -lt $calls.Count; $i++) { if ($calls[$i].Command -eq $command) { return $i } }; -1 }
            $order = 'Get-ADDomain', 'New-ADGroup', 'Write-SSMParameter', 'Write-S3Object', 'Get-RDSDBInstance', 'Invoke-Sqlcmd',
                'Unregister-IAMRolePolicy', 'Send-CFNResourceSignal', 'Add-Computer', 'Stop-Computer' | ForEach-Object { & $first $_ }
            $order | Should -Not -Contain -1
            $order | Should -Be ($order | Sort-Object) -Because 'each step depends on the one before it'

            # Its keys for its run only: the one policy detached, once, and no secret read after it.
            $detach = Get-FakeCall 'Unregister-IAMRolePolicy'
            $detach.Count | Should -Be 1
            $detach[0].Arguments.RoleName | Should -Be $world.Config.RoleName
            $detach[0].Arguments.PolicyArn | Should -Be $world.Config.RunPolicyArn
            $global:BastionFake.Iam.Attached | Should -BeNullOrEmpty
            $lastRead = -1
            for ($i = 0; $i -lt $calls.Count; $i++) { if ($calls[$i].Command -eq 'Get-SECSecretValue') { $lastRead = $i } }
            $lastRead | Should -BeLessThan (& $first 'Unregister-IAMRolePolicy')
            $run.Log | Should -Match ([regex]::Escape("Detached the run's secret access $($world.Config.RunPolicyArn) from the role $($world.Config.RoleName) (attempt 1): this instance reads no secret any more."))
            foreach ($secretId in $global:BastionFake.Secrets.Keys) {
                { Get-SECSecretValue -SecretId $secretId -Region 'us-east-1' } | Should -Throw '*is not authorized to perform: secretsmanager:GetSecretValue*' -Because 'the role keeps no read of any secret'
            }
        }
    }

    Context 'GIVEN the state a first run left' {
        BeforeEach {
            (Invoke-Bastion -World $world).ExitCode | Should -Be 0
            Reset-FakeCalls
        }

        It 'WHEN someone starts the stopped instance THEN EC2Launch runs the user data again, which changes nothing, signals nothing, logs one line and leaves it running' {
            $global:BastionFake.Host.Running | Should -BeFalse -Because 'the first run stopped the instance'
            $logLines = { @(Get-ChildItem -Path (Join-Path $world.Folder 'logs') -Filter '*.log' | Get-Content).Count }
            $before = & $logLines

            $run = Start-FakeInstance -World $world

            $run | Should -Not -BeNullOrEmpty -Because 'a run that stopped the computer runs again at the next boot'
            $run.ExitCode | Should -Be 0 -Because $run.Output
            $global:BastionFake.Calls | Should -BeNullOrEmpty -Because 'a later boot of the same configuration calls nothing: no AD, SQL, CredSpec, signal or AWS call'
            $global:BastionFake.Cfn.Refused | Should -BeNullOrEmpty
            $global:BastionFake.Power | Should -BeNullOrEmpty
            $global:BastionFake.Host.Running | Should -BeTrue
            $run.Log | Should -Match "Configuration abcd1234 ran and was signalled on .* \(instance $($global:BastionFake.InstanceId)\): nothing to do; the instance stays running\."
            (& $logLines) - $before | Should -Be 1

            Start-FakeInstance -World $world | Should -BeNullOrEmpty -Because 'that run ended without a stop or restart: EC2Launch v2 does not run it again'
        }

        It 'WHEN the run starts again anyway (its marker lost) THEN it cannot read the AD admin secret, changes nothing, and CloudFormation refuses its FAILURE' {
            Remove-Item -Path (Join-Path $world.Folder 'bastion-setup.done.json')

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            (Get-FakeChange).Command | Should -BeNullOrEmpty
            Get-FakeCall 'Get-ADDomain' | Should -BeNullOrEmpty -Because 'without the admin password it reaches nothing in AD'
            $global:BastionFake.Signals | Should -BeNullOrEmpty
            $global:BastionFake.Cfn.Refused.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match "FAILED: User: .* is not authorized to perform: secretsmanager:GetSecretValue on resource: $([regex]::Escape($world.Config.AdminSecretId))"
            $run.Log | Should -Match "Detached the run's secret access .* already"
            $run.Log | Should -Match 'Signalling FAILURE failed too: Resource .* is in CREATE_COMPLETE state and cannot be signaled'
            $global:BastionFake.Power | Should -BeNullOrEmpty
        }

        It 'WHEN the run starts again with BASTION_MAINTENANCE deployed (its marker lost) THEN CloudFormation refuses both its SUCCESS and its FAILURE, and it fails and stays up' {
            Remove-Item -Path (Join-Path $world.Folder 'bastion-setup.done.json')
            Grant-FakeMaintenance

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            (Get-FakeChange).Command | Should -BeNullOrEmpty -Because 'the configuration itself is idempotent, and the run policy is detached already'
            $global:BastionFake.Signals | Should -BeNullOrEmpty
            $global:BastionFake.Cfn.Refused.Status | Should -Be @('SUCCESS', 'FAILURE')
            $run.Log | Should -Match "FAILED: Resource $($world.Config.LogicalResourceId) is in CREATE_COMPLETE state and cannot be signaled"
            $global:BastionFake.Power | Should -BeNullOrEmpty
            $global:BastionFake.Iam.Attached | Should -Be @($global:BastionFake.Iam.MaintenanceArn) -Because 'the run may not detach the maintenance policy'
        }

        It 'WHEN it runs by hand without BASTION_MAINTENANCE THEN it fails with one line naming the secret it may not read, and changes nothing' {
            $run = Invoke-Bastion -World $world -Switches 'NoSignal', 'NoDomainJoin'

            $run.ExitCode | Should -Be 1
            $run.Output | Should -Match 'Bastion setup failed: User: .* is not authorized to perform: secretsmanager:GetSecretValue'
            (Get-FakeChange).Command | Should -BeNullOrEmpty
            @(Get-FakeCall 'Get-SECSecretValue').Count | Should -Be 1 -Because 'the first refusal ends the run'
        }

        It 'WHEN it runs by hand with -NoSignal -NoDomainJoin and BASTION_MAINTENANCE THEN it checks everything, changes nothing, signals nothing and keeps the marker' {
            $marker = Get-Content -Raw -Path (Join-Path $world.Folder 'bastion-setup.done.json')
            Grant-FakeMaintenance

            $run = Invoke-Bastion -World $world -Switches 'NoSignal', 'NoDomainJoin'

            $run.ExitCode | Should -Be 0 -Because $run.Output
            Get-FakeCall 'Get-ADDomain' | Should -Not -BeNullOrEmpty -Because 'a repair run ignores the marker'
            (Get-FakeChange).Command | Should -BeNullOrEmpty -Because 'a second run must not create, set or write anything'
            Get-FakeCall 'Send-CFNResourceSignal' | Should -BeNullOrEmpty
            $global:BastionFake.Power | Should -BeNullOrEmpty
            Get-Content -Raw -Path (Join-Path $world.Folder 'bastion-setup.done.json') | Should -BeExactly $marker
        }
    }

    Context 'GIVEN a failure on the way' {
        It 'WHEN the directory never answers THEN it waits DirectoryWaitMinutes by the clock, then signals FAILURE with the reason' {
            Set-FakeConfig -World $world -Settings @{ DirectoryWaitMinutes = 3 }
            $dir.Answers = $false

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $slept = (Get-FakeCall 'Start-Sleep' | ForEach-Object { $_.Arguments.Seconds } | Measure-Object -Sum).Sum
            $slept | Should -BeGreaterOrEqual 180
            $slept | Should -BeLessOrEqual 210 -Because 'the wait is bounded by DirectoryWaitMinutes'
            $run.Log | Should -Match "FAILED: The directory $([regex]::Escape($world.Config.DomainName)) was not ready after 3 minutes .*Unable to contact the server"
            $global:BastionFake.CloudWatch.Messages | Should -Contain ($global:BastionFake.CloudWatch.Messages | Where-Object { $_ -like 'FAILED: The directory*' } | Select-Object -First 1)
            $run.Output | Should -Match 'Bastion setup failed: The directory'
            Get-FakeCall 'New-ADGroup' | Should -BeNullOrEmpty
            $global:BastionFake.Power.Count | Should -Be 0 -Because 'a failed run neither joins nor stops'
        }

        It 'WHEN the RDS instance is not available within DatabaseWaitMinutes THEN it signals FAILURE naming the instance and its status' {
            Set-FakeConfig -World $world -Settings @{ DatabaseWaitMinutes = 2 }
            $global:BastionFake.Rds.Status = 'modifying'

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match "FAILED: The RDS instance amazon-ecs-gmsa-linux-sql was not ready after 2 minutes .*status is 'modifying'"
            Get-FakeCall 'Invoke-Sqlcmd' | Should -BeNullOrEmpty
        }

        It 'WHEN the Chinook download does not have the pinned SHA-256 THEN it signals FAILURE naming the URL and both hashes, and runs nothing' {
            Set-FakeConfig -World $world -Settings @{ ChinookScriptSha256 = $PinnedChinookSha256 }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $line = "The Chinook script $PinnedChinookUrl has SHA-256 $($world.Chinook.Sha256), expected $PinnedChinookSha256"
            $run.Log | Should -Match ([regex]::Escape("FAILED: $line"))
            $run.Output | Should -Match ([regex]::Escape($line))
            $global:BastionFake.Sql.Databases.Count | Should -Be 0
            (Get-FakeCall 'Invoke-Sqlcmd').Arguments.Statement | Should -Not -Match 'input file'
        }

        It 'WHEN the Chinook script creates another database THEN it signals FAILURE naming [Chinook] before creating any login' {
            $other = New-FakeChinookScript -Path (Join-Path $world.Folder '../autoincrement.sql') -DatabaseName 'Chinook_AutoIncrement'
            $global:BastionFake.Downloads[$PinnedChinookUrl] = $other.Path
            Set-FakeConfig -World $world -Settings @{ ChinookScriptSha256 = $other.Sha256 }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match ([regex]::Escape("FAILED: There is no database [Chinook] after loading $PinnedChinookUrl"))
            $global:BastionFake.Sql.Logins.Count | Should -Be 0
        }

        It 'WHEN writing the CredSpec is denied THEN it signals FAILURE with the AWS error, exits 1 and never SUCCESS' {
            Mock Write-SSMParameter { throw 'User: arn:aws:sts::111111111111:assumed-role/bastion is not authorized to perform: ssm:PutParameter' }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match 'FAILED: .*not authorized to perform: ssm:PutParameter'
            $global:BastionFake.Power.Count | Should -Be 0
        }
    }
}

Describe 'Invoke-BastionSetup.ps1 in Kerberos sidecar mode (TICKET_SOURCE=sidecar)' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
        . (Join-Path $PSScriptRoot 'SidecarSql.ps1')
    }

    BeforeEach {
        $world = New-FakeWorld -Mode sidecar -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $dir = $global:BastionFake.Directory
        $sql = $global:BastionFake.Sql
        $netbios = $world.Config.NetBiosName
        $principal = "$netbios\ecs-sidecar-user"
    }

    It 'GIVEN an empty directory and database WHEN it runs THEN it creates the sidecar user with the secret''s password and a read-only login, after the database, before the signal' {
        $run = Invoke-Bastion -World $world

        $run.ExitCode | Should -Be 0 -Because $run.Output
        $user = $dir.Users['ecs-sidecar-user']
        $user.Password | Should -BeExactly 'Sidecar-Pa55'
        $user.Enabled | Should -BeTrue
        $user.MemberOf | Should -BeNullOrEmpty -Because 'the sidecar user is no gMSA principal'
        $dir.Users.Keys | Should -Not -Contain 'credentials-fetcher'
        $sql.Logins[$principal].DefaultDatabase | Should -Be 'Chinook'
        $sql.Logins[$principal].ViewServerState | Should -BeTrue
        $sql.Users["Chinook|$principal"].Reader | Should -BeTrue
        $sql.Users["Chinook|$principal"].Owner | Should -BeFalse
        # Kept in this mode (docs/sidecar.md): the gMSA, its login and the CredSpec, without HostAccountConfig.
        $dir.ServiceAccounts.Keys | Should -Contain 'SampleWebApp'
        ConvertTo-CanonicalJson $global:BastionFake.Ssm[$world.Config.CredSpecParameterName] |
            Should -BeExactly (ConvertTo-CanonicalJson $world.Expected)
        $global:BastionFake.Signals.Status | Should -Be @('SUCCESS')
        $run.Log | Should -Match "Configuring the Kerberos sidecar's user ecs-sidecar-user, at most 30 minutes"

        # The sidecar's login comes after Chinook is loaded, and everything before the signal.
        $calls = $global:BastionFake.Calls
        $index = { param($predicate) for ($i = 0; $i -lt $calls.Count; $i++) { if (& $predicate $calls[$i]) { return $i } }; -1 }
        $loaded = & $index { param($c) $c.Command -eq 'Invoke-Sqlcmd' -and "$($c.Arguments.Statement)" -match 'input file' }
        $sidecarUser = & $index { param($c) $c.Command -eq 'New-ADUser' -and $c.Arguments.Name -eq 'ecs-sidecar-user' }
        $reader = & $index { param($c) "$($c.Arguments.Statement)" -match 'ALTER ROLE \[db_datareader\]' }
        $signal = & $index { param($c) $c.Command -eq 'Send-CFNResourceSignal' }
        @($loaded, $sidecarUser, $reader, $signal) | Should -Not -Contain -1
        $loaded | Should -BeLessThan $sidecarUser
        $reader | Should -BeLessThan $signal
    }

    It 'GIVEN a first run done WHEN it runs again by hand (BASTION_MAINTENANCE) THEN it changes nothing in AD or SQL Server' {
        (Invoke-Bastion -World $world).ExitCode | Should -Be 0
        Reset-FakeCalls
        # The first run gave up its keys; a repair run needs the maintenance policy (docs/bastion.md).
        Grant-FakeMaintenance

        $run = Invoke-Bastion -World $world -Switches NoSignal, NoDomainJoin

        $run.ExitCode | Should -Be 0 -Because $run.Output
        Get-FakeChange | Where-Object { $_.Command -ne 'Import-Certificate' } | Should -BeNullOrEmpty
    }

    It 'WHEN AD refuses the sidecar user (password policy) THEN it signals FAILURE with AD''s reason, exits 1, and creates no login for it' {
        # What AD answers when a password does not meet the domain's policy (New-ADUser -AccountPassword).
        Mock New-ADUser -ParameterFilter { $Name -eq 'ecs-sidecar-user' } {
            throw 'The password does not meet the length, complexity, or history requirement of the domain.'
        }

        $run = Invoke-Bastion -World $world

        $run.ExitCode | Should -Be 1
        $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
        $run.Log | Should -Match 'FAILED: The password does not meet the length, complexity, or history requirement'
        $sql.Logins.Keys | Should -Not -Contain $principal
        $global:BastionFake.Power.Count | Should -Be 0
    }

    It 'WHEN SQL Server never resolves the sidecar user THEN it retries LoginRetryAttempts times, then signals FAILURE naming the login' {
        Set-FakeConfig -World $world -Settings @{ LoginRetryAttempts = 3; LoginRetryDelaySeconds = 10 }
        # SQL Server asks its own domain controller, which has not seen the new user (AD replication): the fake refuses.
        Mock Invoke-Sqlcmd -ParameterFilter { $Query -match 'CREATE LOGIN \[[^\]]+\\ecs-sidecar-user\]' } {
            $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Invoke-Sqlcmd'; Arguments = @{ Statement = $Query }; Change = $false })
            throw "Windows NT user or group '$principal' not found. Check the name again."
        }

        $run = Invoke-Bastion -World $world

        $run.ExitCode | Should -Be 1
        $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
        $run.Log | Should -Match ([regex]::Escape("FAILED: Creating the login $principal failed 3 times; last error: Windows NT user or group"))
        @(Get-FakeCall 'Invoke-Sqlcmd' | Where-Object { "$($_.Arguments.Statement)" -match 'ecs-sidecar-user\] FROM WINDOWS' }).Count | Should -Be 3
        $sql.Users.Keys | Should -Not -Contain "Chinook|$principal"
    }
}

Describe 'Invoke-BastionSetup.ps1, behaviour that does not depend on the mode (domainless world)' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Mocks.ps1')
    }

    BeforeEach {
        $mode = 'domainless'
        $world = New-FakeWorld -Mode $mode -Root (New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid())))
        $dir = $global:BastionFake.Directory
        $netbios = $world.Config.NetBiosName
    }

    Context 'GIVEN an empty directory, database and CredSpec store' {
        It 'WHEN KeepRunning is true THEN it restarts instead of stopping, and the boot after the restart changes nothing' {
            Set-FakeConfig -World $world -Settings @{ KeepRunning = $true }

            (Invoke-Bastion -World $world).ExitCode | Should -Be 0

            $global:BastionFake.Power | Should -Be @("Add-Computer $($world.Config.DomainName)", 'Restart-Computer')
            Reset-FakeCalls
            $run = Start-FakeInstance -World $world
            $run.ExitCode | Should -Be 0
            $global:BastionFake.Calls | Should -BeNullOrEmpty
            $global:BastionFake.Power | Should -BeNullOrEmpty
        }

        It 'WHEN the SqlServer module and the AD tools are missing THEN it installs the pinned version and the feature in one job bounded by ModuleInstallMinutes' {
            $global:BastionFake.Host.RsatInstalled = $false
            Set-FakeConfig -World $world -Settings @{ SqlServerModuleVersion = '22.9.9'; ModuleInstallMinutes = 7 }
            # The fake module folder holds 22.3.0 only: the freshly "installed" version is imported through this mock.
            Mock Import-Module { } -ParameterFilter { $Name -eq 'SqlServer' -and $RequiredVersion -eq '22.9.9' }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            $bounded = Get-FakeCall 'Invoke-Bounded'
            $bounded.Count | Should -Be 1
            $bounded[0].Arguments.Seconds | Should -Be 420
            (Get-FakeCall 'Install-Module')[0].Arguments.RequiredVersion | Should -Be '22.9.9'
            Get-FakeCall 'Install-WindowsFeature' | Should -Not -BeNullOrEmpty
            $run.Log | Should -Match 'Installing the AD management tools \(RSAT-AD-Tools\) and the SqlServer module 22\.9\.9, at most 7 minutes'
        }

        It 'WHEN it runs with -NoSignal -NoDomainJoin (a repair by hand) THEN it configures everything but neither signals, joins nor stops' {
            $run = Invoke-Bastion -World $world -Switches 'NoSignal', 'NoDomainJoin'

            $run.ExitCode | Should -Be 0
            $dir.ServiceAccounts.Keys | Should -Contain 'SampleWebApp'
            $global:BastionFake.Signals.Count | Should -Be 0
            $global:BastionFake.Power.Count | Should -Be 0
        }
    }

    Context 'GIVEN the state a first run left' {
        BeforeEach {
            (Invoke-Bastion -World $world).ExitCode | Should -Be 0
            Reset-FakeCalls
        }

        It 'WHEN someone changed the S3 copy THEN a repair run writes back only the S3 object' {
            $key = "$($world.Config.CredSpecBucketName)/$($world.Config.CredSpecObjectKey)"
            $global:BastionFake.S3[$key] = '{"stale":true}'
            Grant-FakeMaintenance

            (Invoke-Bastion -World $world -Switches 'NoSignal', 'NoDomainJoin').ExitCode | Should -Be 0

            (Get-FakeChange).Command | Should -Be @('Write-S3Object')
            $global:BastionFake.S3[$key] | Should -BeExactly $global:BastionFake.Ssm[$world.Config.CredSpecParameterName]
        }
    }

    Context 'GIVEN the state a first run left, and user data changed in place' {
        BeforeEach {
            (Invoke-Bastion -World $world).ExitCode | Should -Be 0
            Reset-FakeCalls
        }

        It 'WHEN the instance boots with another configuration digest THEN it applies it without signalling, records it and stays up' {
            # Its reads come from the maintenance policy: the run's own policy was detached by the first run.
            Grant-FakeMaintenance
            Set-FakeConfig -World $world -Settings @{ ConfigurationDigest = 'ef567890' + ('1' * 56) }

            $run = Start-FakeInstance -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            $run.Log | Should -Match 'The configuration changed in place .* \(abcd1234 -> ef567890\): nothing waits for a signal'
            Get-FakeCall 'Get-ADDomain' | Should -Not -BeNullOrEmpty
            Get-FakeCall 'Send-CFNResourceSignal' | Should -BeNullOrEmpty
            $global:BastionFake.Power | Should -BeNullOrEmpty
            (Get-Content -Raw -Path (Join-Path $world.Folder 'bastion-setup.done.json') | ConvertFrom-Json).ConfigurationDigest |
                Should -Be ('ef567890' + ('1' * 56))
            Reset-FakeCalls
            (Start-FakeInstance -World $world) | Should -BeNullOrEmpty -Because 'that run neither stopped nor restarted'
        }
    }

    Context 'GIVEN SQL Server that is available but not joined, or in a state it does not leave' {
        It 'WHEN its directory membership stays <_> THEN it fails after DatabaseWaitMinutes by the clock, naming the state' -ForEach @('joining', 'pending-join') {
            Set-FakeConfig -World $world -Settings @{ DatabaseWaitMinutes = 4 }
            $global:BastionFake.Rds.Membership = $_

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match "FAILED: The RDS instance amazon-ecs-gmsa-linux-sql was not ready after 4 minutes .*its status is 'available', its membership of the directory d-1234567890 is '$_'"
            $slept = (Get-FakeCall 'Start-Sleep' | ForEach-Object { $_.Arguments.Seconds } | Measure-Object -Sum).Sum
            $slept | Should -BeGreaterOrEqual 240
            $slept | Should -BeLessOrEqual 270
            Get-FakeCall 'Invoke-Sqlcmd' | Should -BeNullOrEmpty -Because 'no login is tried against an unjoined SQL Server'
        }

        It 'WHEN its directory membership is <_> THEN it fails at once, naming the state' -ForEach @('failed', 'removed', 'pending-maintenance-join') {
            $global:BastionFake.Rds.Membership = $_

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match "FAILED: The RDS instance amazon-ecs-gmsa-linux-sql is in a state it does not leave by itself \(attempt 1\): its status is 'available', its membership of the directory d-1234567890 is '$_'"
            (Get-FakeCall 'Get-RDSDBInstance').Count | Should -Be 1
            Get-FakeCall 'Start-Sleep' | Where-Object { $_.Arguments.Seconds -eq 30 } | Should -BeNullOrEmpty -Because 'a final state is not waited out'
        }

        It 'WHEN its status is <_> THEN it fails at once, naming the status' -ForEach @('stopped', 'failed', 'incompatible-network', 'storage-full') {
            $global:BastionFake.Rds.Status = $_

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $run.Log | Should -Match "FAILED: The RDS instance amazon-ecs-gmsa-linux-sql is in a state it does not leave by itself \(attempt 1\): its status is '$_'"
            (Get-FakeCall 'Get-RDSDBInstance').Count | Should -Be 1
        }

        It 'WHEN it is backing-up and joins after two checks THEN it waits for the join and goes on' {
            $global:BastionFake.Rds.Status = 'backing-up'
            $global:BastionFake.Rds.JoinedAfterChecks = 2

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            (Get-FakeCall 'Get-RDSDBInstance').Count | Should -Be 3
            $run.Log | Should -Match "not ready yet \(attempt 1\): its status is 'backing-up', its membership of the directory d-1234567890 is 'pending-join'"
        }

        It 'WHEN it has no directory membership at all THEN it fails at once' {
            $global:BastionFake.Rds.Membership = $null
            $global:BastionFake.Rds.JoinedAfterChecks = -1

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $run.Log | Should -Match "its status is 'available' but it belongs to no directory"
        }
    }

    Context 'GIVEN IAM that refuses or fails the detach of the run''s secret access' {
        It 'WHEN the role may not detach that policy THEN it signals FAILURE with one line naming the policy and the refusal, and never SUCCESS' {
            $global:BastionFake.Iam.DetachAllowed = 'arn:aws:iam::111111111111:policy/some-other-policy'

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $line = "FAILED: Could not detach the run's secret access $($world.Config.RunPolicyArn) from the role $($world.Config.RoleName) (attempt 1 of 4): User: "
            @($run.Log -split "`n" | Where-Object { $_ -like "*$line*" }).Count | Should -Be 1
            $run.Log | Should -Match 'is not authorized to perform: iam:DetachRolePolicy'
            $run.Output | Should -Match "Bastion setup failed: Could not detach the run's secret access"
            (Get-FakeCall 'Unregister-IAMRolePolicy').Count | Should -Be 1 -Because 'a refusal is not retried, and the failure path does not try again'
            $global:BastionFake.Iam.Attached | Should -Contain $world.Config.RunPolicyArn
            $global:BastionFake.Power | Should -BeNullOrEmpty
            Test-Path (Join-Path $world.Folder 'bastion-setup.done.json') | Should -BeFalse
        }

        It 'WHEN IAM fails twice THEN it tries again RevokeRetryDelaySeconds apart, detaches, and signals SUCCESS' {
            $global:BastionFake.Iam.Failures = 2

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            $global:BastionFake.Signals.Status | Should -Be @('SUCCESS')
            (Get-FakeCall 'Unregister-IAMRolePolicy').Count | Should -Be 3
            $global:BastionFake.Iam.Attached | Should -BeNullOrEmpty
            $run.Log | Should -Match 'failed \(attempt 2 of 4\), trying again: We encountered an internal error'
            @(Get-FakeCall 'Start-Sleep' | Where-Object { $_.Arguments.Seconds -eq 15 }).Count | Should -Be 2
        }

        It 'WHEN IAM keeps failing THEN it stops after RevokeAttempts and signals FAILURE naming the last error' {
            $global:BastionFake.Iam.Failures = 100

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            (Get-FakeCall 'Unregister-IAMRolePolicy').Count | Should -Be 4
            $run.Log | Should -Match "FAILED: Could not detach .* \(attempt 4 of 4\): We encountered an internal error"
        }

        It 'WHEN an earlier step fails THEN the failed run gives up its keys too, before its FAILURE signal' {
            $global:BastionFake.Rds.Status = 'stopped'

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $global:BastionFake.Iam.Attached | Should -BeNullOrEmpty
            $calls = @($global:BastionFake.Calls.Command)
            [array]::LastIndexOf($calls, 'Unregister-IAMRolePolicy') | Should -BeLessThan ([array]::IndexOf($calls, 'Send-CFNResourceSignal'))
        }
    }

    Context 'GIVEN a dependency that is slow or failing, or a bad setting' {
        It 'WHEN the directory answers after a few attempts THEN it goes on and succeeds' {
            $dir.Answers = $false
            $global:BastionFake.Sleeps = 0
            Mock Start-Sleep {
                $global:BastionFake.Clock = $global:BastionFake.Clock.AddSeconds($Seconds)
                if (++$global:BastionFake.Sleeps -ge 3) { $global:BastionFake.Directory.Answers = $true }
            }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            $global:BastionFake.Signals.Status | Should -Be @('SUCCESS')
        }

        It 'WHEN the RDS instance is still creating at first THEN it waits and uses the endpoint it reports' {
            $global:BastionFake.Rds.AvailableAfterChecks = 2

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            (Get-FakeCall 'Get-RDSDBInstance').Count | Should -Be 3
            $global:BastionFake.Sql.Databases.Keys | Should -Contain 'Chinook'
        }

        It 'WHEN a secret cannot be read THEN it signals FAILURE with the reason' {
            $global:BastionFake.Secrets.Remove($world.Config.DatabaseSecretId)

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match "FAILED: Secrets Manager can't find the specified secret"
        }

        It 'WHEN signalling FAILURE itself fails THEN it still exits 1 and logs both' {
            $dir.Answers = $false
            Set-FakeConfig -World $world -Settings @{ DirectoryWaitMinutes = 1 }
            Mock Send-CFNResourceSignal { throw 'Rate exceeded' }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $run.Log | Should -Match 'Signalling FAILURE failed too: Rate exceeded'
        }

        It 'WHEN the instance metadata service does not answer THEN it signals FAILURE all the same' {
            Mock Invoke-RestMethod { throw 'The operation has timed out.' }

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            $run.Log | Should -Match 'FAILED: The operation has timed out.'
        }

        It 'WHEN the configuration lacks a setting THEN it signals FAILURE and exits 1 with one line naming it' {
            $config = Get-Content -Raw -Path $world.ConfigPath | ConvertFrom-Json
            $config.PSObject.Properties.Remove('DatabaseInstanceIdentifier')
            Set-Content -Path $world.ConfigPath -Value ($config | ConvertTo-Json)

            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 1
            $run.Output | Should -Match 'lacks the setting\(s\) DatabaseInstanceIdentifier\.'
            $global:BastionFake.Signals.Status | Should -Be @('FAILURE')
            Get-FakeCall 'Get-ADDomain' | Should -BeNullOrEmpty

            Set-Content -Path $world.ConfigPath -Value '{ not json'
            $global:BastionFake.Signals.Clear()
            $run = Invoke-Bastion -World $world
            $run.ExitCode | Should -Be 1 -Because 'an unreadable configuration still ends the run with an error'
            $global:BastionFake.Signals.Count | Should -Be 0
        }
    }
}

Describe 'Invoke-Bounded (Invoke-BastionSetup.ps1), for real: a background job stopped at its bound' {
    BeforeAll {
        # The function itself, taken from the script (the suites above mock it: their fakes live in this process).
        $script = Join-Path $PSScriptRoot '../../scripts/Invoke-BastionSetup.ps1'
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($script, [ref]$null, [ref]$null)
        $definition = $ast.Find({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Invoke-Bounded' }, $true)
        . ([scriptblock]::Create($definition.Extent.Text))
    }

    It 'WHEN the job outlasts its bound THEN it throws naming the step and the bound, and the job is gone' {
        $started = Get-Date
        { Invoke-Bounded -What 'Installing SqlServer' -Seconds 3 -ScriptBlock { Start-Sleep -Seconds 60 } } |
            Should -Throw 'Installing SqlServer did not finish within 3 seconds: stopped.'
        ((Get-Date) - $started).TotalSeconds | Should -BeLessThan 30
        Get-Job | Should -BeNullOrEmpty
    }

    It 'WHEN the job fails THEN its error comes back' {
        { Invoke-Bounded -What 'Installing SqlServer' -Seconds 60 -ScriptBlock { throw 'No match was found for the specified search criteria' } } |
            Should -Throw '*No match was found for the specified search criteria*'
    }

    It 'WHEN the job finishes in time THEN its output comes back' {
        Invoke-Bounded -What 'Adding' -Seconds 60 -ArgumentList 2, 3 -ScriptBlock { param($a, $b) $a + $b } | Should -Be 5
    }
}
