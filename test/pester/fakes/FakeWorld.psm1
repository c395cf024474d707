<#
    The world the bastion scripts see in the Pester suites: one directory, one RDS instance, the SSM/S3 store, the
    secrets, the Windows host, the clock. All of it is state in $global:BastionFake, read and changed by the fake
    modules beside this file (ActiveDirectory, SqlServer, AWSPowerShell: the names the scripts import) and by the
    Windows-host commands below. Every fake command logs its call, so tests can assert what was (not) changed.
#>
Set-StrictMode -Version 3.0

$RepositoryRoot = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
$FixtureFolder = Join-Path $RepositoryRoot 'test/fixtures/credspec'
$BastionScripts = 'Invoke-BastionSetup.ps1', 'Configure-AD.ps1', 'Configure-Database.ps1', 'Generate-CredSpec.ps1', 'SqlServerLogins.ps1', 'Configure-SidecarUser.ps1'

# The pinned values of contract 4 (the CDK construct's defaults), used to show a wrong hash is refused.
$PinnedChinookUrl = 'https://raw.githubusercontent.com/lerocha/chinook-database/7f67772503d71ba90f19283c38e93923addb43fa/ChinookDatabase/DataSources/Chinook_SqlServer.sql'
$PinnedChinookSha256 = '5ea75c9e925ead917d3fabea6ed3cc8c1ff1d036b61e915c94631aafa2b0802b'
$RdsCaBundleUrl = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.p7b'

function Add-FakeCall {
    # Logs a call to a fake command. -Change marks calls that modify the world.
    param([string] $Command, [hashtable] $Arguments = @{}, [switch] $Change)
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = $Command; Arguments = $Arguments; Change = [bool]$Change })
}

function Get-FakeChange {
    # The calls that changed the directory, the database, the SSM/S3 store or the host (not the logs or signals).
    @($global:BastionFake.Calls | Where-Object { $_.Change })
}

function Get-FakeCall {
    param([string] $Command)
    @($global:BastionFake.Calls | Where-Object { $_.Command -eq $Command })
}

function Reset-FakeCalls {
    $global:BastionFake.Calls.Clear()
    $global:BastionFake.Signals.Clear()
    $global:BastionFake.Power.Clear()
}

function New-FakeChinookScript {
    # A small stand-in for Chinook_SqlServer.sql: the fake SQL engine creates the database it names, with as many
    # PlaylistTrack rows as it inserts. Returns the file and its SHA-256.
    param([string] $Path, [string] $DatabaseName = 'Chinook', [int] $Tracks = 3)
    $lines = @("CREATE DATABASE [$DatabaseName]", 'GO', "USE [$DatabaseName]", 'GO')
    $lines += 1..$Tracks | ForEach-Object { "INSERT INTO [dbo].[PlaylistTrack] ([PlaylistId], [TrackId]) VALUES (1, $_);" }
    Set-Content -Path $Path -Value ($lines -join "`n") -NoNewline
    [pscustomobject]@{ Path = $Path; Sha256 = (Get-FileHash -Algorithm SHA256 -Path $Path).Hash.ToLowerInvariant() }
}

function New-FakeWorld {
    <#
        A fresh world for one test: the bastion's folder (the four scripts, the CredSpec template, the config JSON),
        a fake Chinook script served at the config's URL, and an empty directory/database/store.
        -Mode domainless sets IdentitySecretId (and the identity secret); domain-joined leaves it ''. -Mode sidecar
        (TICKET_SOURCE=sidecar) sets SidecarIdentitySecretId (and the sidecar's secret) instead, with the domain-joined
        CredSpec (no HostAccountConfig), as the database stack writes it in that mode.
    #>
    param(
        [Parameter(Mandatory = $true)] [ValidateSet('domainless', 'domain-joined', 'sidecar')] [string] $Mode,
        [Parameter(Mandatory = $true)] [string] $Root,
        [hashtable] $ConfigOverrides = @{}
    )
    $inputs = Get-Content -Raw -Path (Join-Path $FixtureFolder 'inputs.json') | ConvertFrom-Json
    $credSpecMode = if ($Mode -eq 'sidecar') { 'domain-joined' } else { $Mode }
    $folder = New-Item -ItemType Directory -Force -Path (Join-Path $Root 'SampleConfig')
    foreach ($script in $BastionScripts) { Copy-Item -Path (Join-Path $RepositoryRoot "scripts/$script") -Destination $folder }

    # The bastion receives the template minified, as buildCredSpecTemplate returns it.
    $templatePath = Join-Path $folder 'credspec-template.json'
    $template = Get-Content -Raw -Path (Join-Path $FixtureFolder "template-$credSpecMode.json") | ConvertFrom-Json |
        ConvertTo-Json -Depth 10 -Compress
    Set-Content -Path $templatePath -Value $template

    $chinook = New-FakeChinookScript -Path (Join-Path $Root 'served-chinook.sql')
    $bundle = Join-Path $Root 'served-rds-ca-bundle.p7b'
    Set-Content -Path $bundle -Value 'fake certificate bundle'

    $dnsName = $inputs.dnsName
    $domainDn = ($dnsName.Split('.') | ForEach-Object { "DC=$_" }) -join ','
    $netbios = $inputs.netbiosName
    $arn = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:'
    $config = [ordered]@{
        Region                     = 'us-east-1'
        StackName                  = 'amazon-ecs-gmsa-linux-database'
        LogicalResourceId          = 'AdManagementInstanceABCD1234'
        LogGroupName               = '/amazon-ecs-gmsa-linux/ad-management'
        DomainName                 = $dnsName
        NetBiosName                = $netbios
        AdminSecretId              = "${arn}admin"
        IdentitySecretId           = if ($Mode -eq 'domainless') { $inputs.domainlessCredentialArn } else { '' }
        SidecarIdentitySecretId    = if ($Mode -eq 'sidecar') { "${arn}amazon-ecs-gmsa-linux/sidecar-identity" } else { '' }
        DomainJoinSecretId         = if ($Mode -eq 'domain-joined') { "${arn}aws/directory-services/d-1234567890/seamless-domain-join" } else { '' }
        DatabaseSecretId           = "${arn}database"
        DatabaseInstanceIdentifier = 'amazon-ecs-gmsa-linux-sql'
        DatabaseName               = 'Chinook'
        GmsaName                   = $inputs.gmsaName
        GmsaPrincipalsGroup        = 'SampleWebAppGmsaPrincipals'
        CredSpecTemplatePath       = $templatePath
        CredSpecParameterName      = '/amazon-ecs-gmsa-linux/credspec'
        CredSpecBucketName         = 'credspec-bucket'
        CredSpecObjectKey          = 'credspecs/SampleWebApp.json'
        ChinookScriptUrl           = $PinnedChinookUrl
        ChinookScriptSha256        = $chinook.Sha256
        SqlServerModuleVersion     = '22.3.0'
        ConfigurationDigest        = 'abcd1234' + ('0' * 56)
        KeepRunning                = $false
        # BASTION_RUN_BOUNDS of lib/constructs/ad-management-bastion.ts.
        DirectoryWaitMinutes       = 30
        DatabaseWaitMinutes        = 60
        MetadataTimeoutSeconds     = 30
        ModuleInstallMinutes       = 15
        DatabaseConfigurationMinutes = 30
        SqlConnectTimeoutSeconds   = 30
        QueryTimeoutSeconds        = 600
        DownloadTimeoutSeconds     = 300
        LoginRetryAttempts         = 20
        LoginRetryDelaySeconds     = 30
        RevokeAttempts             = 4
        RevokeRetryDelaySeconds    = 15
        RoleName                   = 'database-AdManagementBastionRole-ABC'
        RunPolicyArn               = 'arn:aws:iam::111111111111:policy/database-AdManagementRunSecretsABCD1234-XYZ'
    }
    foreach ($key in $ConfigOverrides.Keys) { $config[$key] = $ConfigOverrides[$key] }
    $configPath = Join-Path $folder 'bastion-setup.json'
    Set-Content -Path $configPath -Value ($config | ConvertTo-Json -Depth 5)

    # Only the secrets the bastion's role may read in this mode: a read of any other fails as Secrets Manager would.
    $secrets = @{
        $config.AdminSecretId      = 'Admin-Pa55' # the directory's admin password, as a plain string
        $config.DatabaseSecretId   = '{"username":"sqladmin","password":"Sql-Pa55"}'
    }
    if ($Mode -eq 'domain-joined') {
        $secrets[$config.DomainJoinSecretId] = '{"awsSeamlessDomainUsername":"ecs-domain-join","awsSeamlessDomainPassword":"Join-Pa55"}'
    }
    if ($Mode -eq 'sidecar') {
        $secrets[$config.SidecarIdentitySecretId] = '{"username":"ecs-sidecar-user","password":"Sidecar-Pa55","domainName":"' + $dnsName + '"}'
    }
    if ($Mode -eq 'domainless') {
        $secrets[$inputs.domainlessCredentialArn] = '{"username":"credentials-fetcher","password":"Identity-Pa55","domainName":"' + $dnsName + '"}'
    }

    # The bastion's role (lib/constructs/ad-management-bastion.ts): the run's policy reads the run's secrets and is
    # attached; the role may detach that policy, and only that one, from itself.
    $maintenanceArn = 'arn:aws:iam::111111111111:policy/database-AdManagementBastionMaintenanceSecrets-XYZ'
    $iam = @{
        RoleName      = $config.RoleName
        DetachAllowed = $config.RunPolicyArn
        Attached      = [System.Collections.Generic.List[string]]::new([string[]]@($config.RunPolicyArn))
        Policies      = @{ $config.RunPolicyArn = @($secrets.Keys); $maintenanceArn = @($secrets.Keys) }
        Failures      = 0
        MaintenanceArn = $maintenanceArn
    }

    $global:BastionFake = @{
        Iam           = $iam
        Clock         = [datetime]::new(2026, 1, 1, 0, 0, 0, [DateTimeKind]::Utc)
        Calls         = [System.Collections.Generic.List[object]]::new()
        Signals       = [System.Collections.Generic.List[object]]::new()
        Power         = [System.Collections.Generic.List[object]]::new()
        InstanceId    = 'i-0123456789abcdef0'
        Secrets       = $secrets
        Downloads     = @{ $PinnedChinookUrl = $chinook.Path; $RdsCaBundleUrl = $bundle }
        # UserDataPending: EC2Launch v2 runs the user data at the next boot (first boot; and again after a run that
        # stopped or restarted the computer, see Stop-Computer below).
        Host          = @{ RsatInstalled = $true; JoinedDomain = $null; Running = $true; UserDataPending = $true; Boots = 1 }
        # The database stack's resources that wait for a signal (creation policy, Count 1); see the fake
        # Send-CFNResourceSignal. Refused: the signals CloudFormation turned down.
        Cfn           = @{
            Resources = @{ $config.LogicalResourceId = 'CREATE_IN_PROGRESS' }
            Refused   = [System.Collections.Generic.List[object]]::new()
        }
        CloudWatch    = @{ Streams = @{}; Messages = [System.Collections.Generic.List[string]]::new() }
        Directory     = @{
            Answers        = $true
            AdminPassword  = 'Admin-Pa55'
            Domain         = [pscustomobject]@{
                DNSRoot           = $dnsName
                Forest            = $dnsName
                NetBIOSName       = $netbios
                DistinguishedName = $domainDn
                PDCEmulator       = "dc1.$dnsName"
                DomainSID         = [pscustomobject]@{ Value = $inputs.domainSid }
                ObjectGUID        = [guid]$inputs.domainGuid
            }
            OUs            = @("OU=$netbios,$domainDn", "OU=Users,OU=$netbios,$domainDn", "OU=Computers,OU=$netbios,$domainDn")
            Users          = @{}
            Groups         = @{
                'AWS Delegated Add Workstations To Domain Users' = @{
                    DistinguishedName = "CN=AWS Delegated Add Workstations To Domain Users,OU=AWS Delegated Groups,$domainDn"
                }
            }
            ServiceAccounts = @{}
            Computers      = @{}
            Aces           = [System.Collections.Generic.List[object]]::new()
            NextRid        = 1100
        }
        Rds           = @{
            Identifier           = $config.DatabaseInstanceIdentifier
            Status               = 'available'
            AvailableAfterChecks = 0
            JoinedAfterChecks    = 0
            Membership           = 'joined'
            DirectoryId          = 'd-1234567890'
            DirectoryName        = $dnsName
            Checks               = 0
            Address              = 'amazon-ecs-gmsa-linux-sql.abcdefghijkl.us-east-1.rds.amazonaws.com'
        }
        Sql           = @{ Databases = @{}; Logins = @{}; Users = @{} }
        QueryTimeouts = [System.Collections.Generic.List[int]]::new()
        Installed     = [System.Collections.Generic.List[string]]::new()
        Ssm           = @{}
        S3            = @{}
        AutoScaling   = @{}
        Ec2           = @{}
    }
    [pscustomobject]@{
        Mode       = $Mode
        Folder     = $folder.FullName
        ConfigPath = $configPath
        Config     = [pscustomobject]$config
        Setup      = Join-Path $folder 'Invoke-BastionSetup.ps1'
        Chinook    = $chinook
        Expected   = Get-Content -Raw -Path (Join-Path $FixtureFolder "expected-$credSpecMode.json") | ConvertFrom-Json
    }
}

function Grant-FakeMaintenance {
    # BASTION_MAINTENANCE=1 deployed: CloudFormation attaches the maintenance policy (the same reads) to the role.
    $iam = $global:BastionFake.Iam
    if (-not $iam.Attached.Contains($iam.MaintenanceArn)) { $iam.Attached.Add($iam.MaintenanceArn) }
}

function Set-FakeConfig {
    # Changes settings of a world's config JSON after New-FakeWorld.
    param([Parameter(Mandatory = $true)] $World, [Parameter(Mandatory = $true)] [hashtable] $Settings)
    $config = Get-Content -Raw -Path $World.ConfigPath | ConvertFrom-Json
    foreach ($key in $Settings.Keys) { $config.$key = $Settings[$key] }
    Set-Content -Path $World.ConfigPath -Value ($config | ConvertTo-Json -Depth 5)
}

function New-FakeAwsError {
    # An AWS service error as the AWS Tools cmdlets raise it: the SDK exception, with its ErrorCode, wrapped.
    param([string] $Message, [string] $ErrorCode, [int] $StatusCode = 400)
    $inner = [System.Exception]::new($Message)
    $inner | Add-Member -NotePropertyName ErrorCode -NotePropertyValue $ErrorCode
    $inner | Add-Member -NotePropertyName StatusCode -NotePropertyValue $StatusCode
    [System.InvalidOperationException]::new($Message, $inner)
}

# --- The Windows host ------------------------------------------------------------------------------------------
# Functions win over cmdlets of the same name: Stop-Computer and Restart-Computer, which exist on Linux too, can
# never run for real while this module is imported.

function Get-WindowsFeature {
    param([string] $Name)
    Add-FakeCall 'Get-WindowsFeature' @{ Name = $Name }
    [pscustomobject]@{ Name = $Name; Installed = $global:BastionFake.Host.RsatInstalled }
}

function Install-WindowsFeature {
    param([string] $Name, [switch] $IncludeAllSubFeature)
    Add-FakeCall 'Install-WindowsFeature' @{ Name = $Name } -Change
    $global:BastionFake.Host.RsatInstalled = $true
}

function Get-CimInstance {
    param([string] $ClassName)
    if ($ClassName -ne 'Win32_ComputerSystem') { throw "fake Get-CimInstance: unexpected class $ClassName" }
    [pscustomobject]@{ PartOfDomain = $null -ne $global:BastionFake.Host.JoinedDomain }
}

function Add-Computer {
    param([string] $DomainName, [pscredential] $Credential, [switch] $Force, [switch] $Restart)
    Add-FakeCall 'Add-Computer' @{ DomainName = $DomainName; Restart = [bool]$Restart } -Change
    $global:BastionFake.Power.Add("Add-Computer $DomainName$(if ($Restart) { ' -Restart' })")
    $global:BastionFake.Host.JoinedDomain = $DomainName
}

# EC2Launch v2: user data that stops or restarts the computer itself (or is interrupted) keeps its run state and runs
# again at the next boot ("Service runs user data more than once", EC2Launch v2 troubleshooting:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2launchv2-troubleshoot.html). The two fakes below leave the
# user data pending; a run that ends without either (exit 0 or 1) completes it.

function Stop-Computer {
    param([switch] $Force)
    Add-FakeCall 'Stop-Computer' @{ Force = [bool]$Force }
    $global:BastionFake.Power.Add('Stop-Computer')
    $global:BastionFake.Host.Running = $false
    $global:BastionFake.Host.UserDataPending = $true
}

function Restart-Computer {
    param([switch] $Force)
    Add-FakeCall 'Restart-Computer' @{ Force = [bool]$Force }
    $global:BastionFake.Power.Add('Restart-Computer')
    $global:BastionFake.Host.UserDataPending = $true
}

function Install-PackageProvider {
    # PowerShellGet's, which exists on Linux too: never for real here.
    param([string] $Name, [string] $MinimumVersion, [switch] $Force, [string] $Scope)
    Add-FakeCall 'Install-PackageProvider' @{ Name = $Name } -Change
}

function Install-Module {
    # PowerShellGet's, which exists on Linux too: never for real here. Records what would be installed.
    param([string] $Name, [string] $RequiredVersion, [string] $MinimumVersion, [string] $Scope, [switch] $Force,
        [switch] $AllowClobber, [string] $Repository)
    Add-FakeCall 'Install-Module' @{ Name = $Name; RequiredVersion = $RequiredVersion; MinimumVersion = $MinimumVersion } -Change
    $global:BastionFake.Installed.Add("$Name $RequiredVersion")
}

function Invoke-Bounded {
    # Stands for Invoke-BastionSetup.ps1's function of the same name (a background job stopped at a bound; a job is
    # another process, which would not see these fakes): the tests Mock it to run the block here and record the bound.
    param($What, $Seconds, $ScriptBlock, $ArgumentList)
    throw 'Invoke-Bounded must be mocked in the tests.'
}

function Import-Certificate {
    param([string] $FilePath, [string] $CertStoreLocation)
    Add-FakeCall 'Import-Certificate' @{ FilePath = $FilePath; CertStoreLocation = $CertStoreLocation }
}

function Add-AceIfMissing {
    # Stands for Configure-AD.ps1's function of the same name (Windows ACL APIs do not exist on Linux): the tests
    # Mock it, and the mock calls Add-FakeAce.
    param($DistinguishedName, $Sid, $Rights, $ObjectType, $Inheritance, $InheritedObjectType)
    throw 'Add-AceIfMissing must be mocked in the tests.'
}

function Open-ADDrive {
    # Stands for Configure-AD.ps1's function of the same name (the ActiveDirectory PS provider): mocked in the tests.
    throw 'Open-ADDrive must be mocked in the tests.'
}

function Add-FakeAce {
    param($DistinguishedName, $Sid, $Rights, $ObjectType)
    $key = "$DistinguishedName|$Sid|$Rights|$ObjectType"
    $aces = $global:BastionFake.Directory.Aces
    if ($aces -contains $key) { Add-FakeCall 'Add-AceIfMissing' @{ DistinguishedName = $DistinguishedName }; return }
    Add-FakeCall 'Set-Acl' @{ DistinguishedName = $DistinguishedName; Rights = "$Rights" } -Change
    $aces.Add($key)
}

Export-ModuleMember -Function * -Variable PinnedChinookUrl, PinnedChinookSha256, RdsCaBundleUrl, RepositoryRoot
