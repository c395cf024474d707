# The whole bastion run (scripts/Invoke-BastionSetup.ps1 and the three scripts it calls), in each mode, against the
# fake world of fakes/: what it creates, that a second run changes nothing, and that every failure ends in one
# FAILURE signal with its reason and exit code 1.

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
            $join = $dir.Users['ecs-domain-join']
            $join.MemberOf | Should -Contain $dir.Groups['AWS Delegated Add Workstations To Domain Users'].DistinguishedName
            $join.Password | Should -BeExactly 'Join-Pa55'
            $dir.Aces.Count | Should -Be 2 -Because 'the join user may write the group members and create computers'
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
            $global:BastionFake.Power | Should -Be @("Add-Computer $($world.Config.DomainName)", 'Stop-Computer')
            (Get-FakeCall 'Stop-Computer')[0].Arguments.Force | Should -BeTrue

            # Contract order: directory, AD, CredSpec, RDS, database, signal, join, stop.
            $calls = $global:BastionFake.Calls
            $first = { param($command) for ($i = 0; $i -lt $calls.Count; $i++) { if ($calls[$i].Command -eq $command) { return $i } }; -1 }
            $order = 'Get-ADDomain', 'New-ADGroup', 'Write-SSMParameter', 'Write-S3Object', 'Get-RDSDBInstance', 'Invoke-Sqlcmd',
                'Send-CFNResourceSignal', 'Add-Computer', 'Stop-Computer' | ForEach-Object { & $first $_ }
            $order | Should -Not -Contain -1
            $order | Should -Be ($order | Sort-Object) -Because 'each step depends on the one before it'
        }
    }

    Context 'GIVEN the state a first run left' {
        BeforeEach {
            (Invoke-Bastion -World $world).ExitCode | Should -Be 0
            Reset-FakeCalls
        }

        It 'WHEN it runs again THEN it changes nothing and signals SUCCESS again' {
            $run = Invoke-Bastion -World $world

            $run.ExitCode | Should -Be 0 -Because $run.Output
            (Get-FakeChange).Command | Should -BeNullOrEmpty -Because 'a second run must not create, set or write anything'
            Get-FakeCall 'Write-SSMParameter' | Should -BeNullOrEmpty
            Get-FakeCall 'Write-S3Object' | Should -BeNullOrEmpty
            $global:BastionFake.Signals.Status | Should -Be @('SUCCESS')
            $global:BastionFake.Power | Should -Be @('Stop-Computer') -Because 'the instance is already joined'
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
        It 'WHEN KeepRunning is true THEN it restarts instead of stopping' {
            Set-FakeConfig -World $world -Settings @{ KeepRunning = $true }

            (Invoke-Bastion -World $world).ExitCode | Should -Be 0

            $global:BastionFake.Power | Should -Be @("Add-Computer $($world.Config.DomainName)", 'Restart-Computer')
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

        It 'WHEN someone changed the S3 copy THEN only the S3 object is written back' {
            $key = "$($world.Config.CredSpecBucketName)/$($world.Config.CredSpecObjectKey)"
            $global:BastionFake.S3[$key] = '{"stale":true}'

            (Invoke-Bastion -World $world).ExitCode | Should -Be 0

            (Get-FakeChange).Command | Should -Be @('Write-S3Object')
            $global:BastionFake.S3[$key] | Should -BeExactly $global:BastionFake.Ssm[$world.Config.CredSpecParameterName]
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
