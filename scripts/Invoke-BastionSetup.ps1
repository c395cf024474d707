<#
.SYNOPSIS
    First-boot configuration of the AD management instance: AD objects, the CredSpec, the sample database.

.DESCRIPTION
    Runs unattended from the instance's user data during `cdk deploy`, against the directory with -Server/-Credential
    (the instance is not joined to the domain yet):
      1. imports the AD PowerShell tools and the SqlServer module (installing them if missing);
      2. waits, at most DirectoryWaitMinutes, until the directory answers;
      3. Configure-AD.ps1: the gMSA group, the gMSA, the domainless user (domainless mode) and the domain-join user;
      4. Generate-CredSpec.ps1: fills the CredSpec template and writes the SSM parameter and the S3 object from one
         string, each only when it differs (CloudFormation does not own either copy: no stack update can revert it);
      5. waits, at most DatabaseWaitMinutes, until the RDS instance DatabaseInstanceIdentifier is `available`, and
         takes its endpoint address;
      6. Configure-Database.ps1: the Chinook database (pinned URL, SHA-256 checked) and the Windows logins;
      7. signals CloudFormation SUCCESS; any error before this point signals FAILURE, logs the reason and exits 1;
      8. joins the domain (no restart), then stops the instance, or restarts it when KeepRunning is true (a restart
         completes the join). The signal comes first so that nothing after it can hold the stack.
    Every wait is bounded and every step is idempotent: run it again to repair, e.g.
    `C:\SampleConfig\Invoke-BastionSetup.ps1 -NoSignal -NoDomainJoin`.
    It logs to the logs folder beside the script and to the CloudWatch log group named in the configuration file.

.PARAMETER ConfigPath
    The JSON file the user data wrote (secret ids, names, the database instance identifier; no secret values).

.PARAMETER NoSignal
    Don't signal CloudFormation (for re-runs by hand: the stack has long been signalled).

.PARAMETER NoDomainJoin
    Don't join the domain at the end, and leave the instance running (for re-runs by hand).
#>
[CmdletBinding()]
param(
    [string] $ConfigPath = (Join-Path $PSScriptRoot 'bastion-setup.json'),
    [switch] $NoSignal,
    [switch] $NoDomainJoin
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$logFolder = Join-Path $PSScriptRoot 'logs'
New-Item -ItemType Directory -Force -Path $logFolder | Out-Null
$script:LogFile = Join-Path $logFolder ('setup-{0:yyyyMMdd-HHmmss}.log' -f [DateTime]::UtcNow)
$script:LogStream = $null
$script:Config = $null

# Keys the CDK construct writes (lib/constructs/ad-management-bastion.ts); a missing one stops the run at once.
$RequiredKeys = @('Region', 'StackName', 'LogicalResourceId', 'LogGroupName', 'DomainName', 'NetBiosName',
    'AdminSecretId', 'IdentitySecretId', 'DomainJoinSecretId', 'DatabaseSecretId', 'DatabaseInstanceIdentifier',
    'DatabaseName', 'GmsaName', 'GmsaPrincipalsGroup', 'CredSpecTemplatePath', 'CredSpecParameterName',
    'CredSpecBucketName', 'CredSpecObjectKey', 'ChinookScriptUrl', 'ChinookScriptSha256')

function Read-BastionConfig {
    # Sets $script:Config as soon as the file parses, so that a run with a bad setting can still signal FAILURE.
    param([string] $Path)
    $raw = Get-Content -Raw -Path $Path | ConvertFrom-Json
    $script:Config = $raw
    $names = @($raw.PSObject.Properties.Name)
    $missing = @($RequiredKeys | Where-Object { $names -notcontains $_ })
    if ($missing.Count -gt 0) { throw "$Path lacks the setting(s) $($missing -join ', ')." }
    $defaults = @{ KeepRunning = $false; DirectoryWaitMinutes = 30; DatabaseWaitMinutes = 60 }
    foreach ($key in $defaults.Keys) {
        if ($names -notcontains $key) { $raw | Add-Member -NotePropertyName $key -NotePropertyValue $defaults[$key] }
    }
    foreach ($key in 'DirectoryWaitMinutes', 'DatabaseWaitMinutes') {
        if (-not ($raw.$key -is [int] -or $raw.$key -is [long]) -or $raw.$key -lt 1) {
            throw "$Path sets $key to '$($raw.$key)': a whole number of minutes, at least 1, is allowed."
        }
    }
    if ($raw.KeepRunning -isnot [bool]) { throw "$Path sets KeepRunning to '$($raw.KeepRunning)': true or false is allowed." }
    return $raw
}

function Get-InstanceId {
    # IMDSv2: the instance requires a session token. Timeouts: no call may hang the run.
    $token = Invoke-RestMethod -Method Put -Uri 'http://169.254.169.254/latest/api/token' `
        -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '300' } -UseBasicParsing -TimeoutSec 30
    return Invoke-RestMethod -Uri 'http://169.254.169.254/latest/meta-data/instance-id' `
        -Headers @{ 'X-aws-ec2-metadata-token' = $token } -UseBasicParsing -TimeoutSec 30
}

function Write-Log {
    # To the console (not the output stream: functions that return values log too), the file and CloudWatch Logs.
    param([Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Message)
    $line = '{0:yyyy-MM-ddTHH:mm:ssZ} {1}' -f [DateTime]::UtcNow, $Message
    Write-Host $line
    Add-Content -Path $script:LogFile -Value $line
    if ($null -ne $script:LogStream) {
        try {
            $logEvent = New-Object Amazon.CloudWatchLogs.Model.InputLogEvent
            $logEvent.Message = $Message
            $logEvent.Timestamp = [DateTime]::UtcNow
            $config = $script:Config
            Write-CWLLogEvent -LogGroupName $config.LogGroupName -LogStreamName $script:LogStream `
                -LogEvent $logEvent -Region $config.Region | Out-Null
        }
        catch {
            Add-Content -Path $script:LogFile -Value "CloudWatch Logs write failed: $($_.Exception.Message)"
        }
    }
}

function Start-CloudWatchLog {
    param([string] $StreamName)
    $config = $script:Config
    try {
        New-CWLLogStream -LogGroupName $config.LogGroupName -LogStreamName $StreamName -Region $config.Region
    }
    catch {
        # The stream exists when the script runs again on the same instance.
        if ($_.Exception.Message -notmatch 'already exists') { throw }
    }
    $script:LogStream = $StreamName
}

function Send-Signal {
    param([ValidateSet('SUCCESS', 'FAILURE')] [string] $Status, [string] $InstanceId)
    if ($NoSignal) {
        Write-Log "Not signalling CloudFormation ($Status): -NoSignal."
        return
    }
    $config = $script:Config
    Send-CFNResourceSignal -StackName $config.StackName -LogicalResourceId $config.LogicalResourceId `
        -UniqueId $InstanceId -Status $Status -Region $config.Region
    Write-Log "Signalled $Status to $($config.StackName)/$($config.LogicalResourceId)."
}

function Get-SecretString {
    param([string] $SecretId)
    $config = $script:Config
    return (Get-SECSecretValue -SecretId $SecretId -Region $config.Region).SecretString
}

function New-Credential {
    param([string] $UserName, [string] $Password)
    $secure = ConvertTo-SecureString -String $Password -AsPlainText -Force
    return New-Object System.Management.Automation.PSCredential($UserName, $secure)
}

function Import-BastionModules {
    # AWS Tools for Windows PowerShell ship with the Windows AMI; the AD tools are a Windows feature; SqlServer comes
    # from the PowerShell Gallery.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    if (-not (Get-WindowsFeature -Name 'RSAT-AD-Tools').Installed) {
        Write-Log 'Installing the AD management tools (RSAT-AD-Tools)...'
        Install-WindowsFeature -Name 'RSAT-AD-Tools' -IncludeAllSubFeature | Out-Null
    }
    Import-Module ActiveDirectory
    if (-not (Get-Module -ListAvailable -Name SqlServer)) {
        Write-Log 'Installing the SqlServer PowerShell module...'
        Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force -Scope AllUsers | Out-Null
        Install-Module -Name SqlServer -Scope AllUsers -Force -AllowClobber -Repository PSGallery
    }
    Import-Module SqlServer
}

function Wait-Until {
    # (The deadline uses Get-Date and the pause Start-Sleep, so that tests can move the clock instead of waiting.)
    # Runs -Probe until it succeeds, for at most -Minutes by the clock, and returns its output; a probe's error says
    # why it is not ready yet.
    param([string] $What, [int] $Minutes, [scriptblock] $Probe, [int] $DelaySeconds = 30)
    $deadline = (Get-Date).AddMinutes($Minutes)
    for ($attempt = 1; ; $attempt++) {
        try {
            $result = & $Probe
            Write-Log "$What is ready (attempt $attempt)."
            return $result
        }
        catch {
            $reason = $_.Exception.Message
        }
        if ((Get-Date) -ge $deadline) {
            throw "$What was not ready after $Minutes minutes ($attempt attempts); last reason: $reason"
        }
        Write-Log "$What is not ready yet (attempt $attempt): $reason"
        Start-Sleep -Seconds $DelaySeconds
    }
}

function Wait-Directory {
    param([System.Management.Automation.PSCredential] $Credential)
    $config = $script:Config
    Wait-Until -What "The directory $($config.DomainName)" -Minutes $config.DirectoryWaitMinutes -Probe {
        Get-ADDomain -Server $config.DomainName -Credential $Credential | Out-Null
    } | Out-Null
}

function Wait-Database {
    # The endpoint is looked up at run time: the instance is created in parallel with this one.
    $config = $script:Config
    return Wait-Until -What "The RDS instance $($config.DatabaseInstanceIdentifier)" -Minutes $config.DatabaseWaitMinutes -Probe {
        $db = Get-RDSDBInstance -DBInstanceIdentifier $config.DatabaseInstanceIdentifier -Region $config.Region
        if ($db.DBInstanceStatus -ne 'available') { throw "its status is '$($db.DBInstanceStatus)'" }
        if (-not $db.Endpoint -or -not $db.Endpoint.Address) { throw 'it has no endpoint address yet' }
        $db.Endpoint.Address
    }
}

function Join-Domain {
    param([System.Management.Automation.PSCredential] $Credential)
    if ((Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain) {
        Write-Log 'Already joined to the domain.'
        return
    }
    # No -Restart: the stop or restart below ends the run, after the log says what happened.
    $config = $script:Config
    Add-Computer -DomainName $config.DomainName -Credential $Credential -Force
    Write-Log "Joined $($config.DomainName); it takes effect at the next start."
}

$instanceId = 'unknown-instance'
$adminCredential = $null
try {
    # The configuration first: with it, any later failure (even IMDS) can be signalled; a FAILURE from any unique id
    # fails the resource.
    $config = Read-BastionConfig -Path $ConfigPath
    $script:Config = $config
    $instanceId = Get-InstanceId
    Import-Module AWSPowerShell
    try {
        Start-CloudWatchLog -StreamName $instanceId
    }
    catch {
        Add-Content -Path $script:LogFile -Value "CloudWatch Logs unavailable, logging to the file only: $($_.Exception.Message)"
    }
    Write-Log "Configuration run started on $instanceId (log file $script:LogFile)."
    Import-BastionModules

    $adminCredential = New-Credential -UserName "admin@$($config.DomainName)" -Password (Get-SecretString $config.AdminSecretId)
    Wait-Directory -Credential $adminCredential

    $joinSecret = Get-SecretString $config.DomainJoinSecretId | ConvertFrom-Json
    $adParameters = @{
        DomainName          = $config.DomainName
        Credential          = $adminCredential
        GmsaName            = $config.GmsaName
        GmsaPrincipalsGroup = $config.GmsaPrincipalsGroup
        DomainJoinUser      = New-Credential -UserName $joinSecret.awsSeamlessDomainUsername -Password $joinSecret.awsSeamlessDomainPassword
    }
    if ($config.IdentitySecretId) {
        $identity = Get-SecretString $config.IdentitySecretId | ConvertFrom-Json
        $adParameters.DomainlessUser = New-Credential -UserName $identity.username -Password $identity.password
    }
    Write-Log 'Configuring Active Directory...'
    & "$PSScriptRoot\Configure-AD.ps1" @adParameters | ForEach-Object { Write-Log "  $_" }

    Write-Log 'Writing the CredSpec...'
    & "$PSScriptRoot\Generate-CredSpec.ps1" -TemplatePath $config.CredSpecTemplatePath `
        -DomainName $config.DomainName -Credential $adminCredential `
        -ParameterName $config.CredSpecParameterName -BucketName $config.CredSpecBucketName `
        -ObjectKey $config.CredSpecObjectKey -Region $config.Region | ForEach-Object { Write-Log "  $_" }

    $databaseAddress = Wait-Database
    $database = Get-SecretString $config.DatabaseSecretId | ConvertFrom-Json
    Write-Log "Configuring the database on $databaseAddress..."
    & "$PSScriptRoot\Configure-Database.ps1" -SqlServerAddress $databaseAddress `
        -SqlCredential (New-Credential -UserName $database.username -Password $database.password) `
        -NetBiosName $config.NetBiosName -GmsaName $config.GmsaName -AdAdminUserName 'admin' `
        -DatabaseName $config.DatabaseName -ChinookScriptUrl $config.ChinookScriptUrl `
        -ChinookScriptHash $config.ChinookScriptSha256 | ForEach-Object { Write-Log "  $_" }

    Write-Log 'Active Directory, CredSpec and database are configured.'
    Send-Signal -Status SUCCESS -InstanceId $instanceId
}
catch {
    $reason = $_.Exception.Message
    # Without a readable configuration there is nothing to signal: the creation policy's timeout fails the stack.
    if ($null -ne $script:Config) {
        Write-Log "FAILED: $reason"
        Write-Log ($_.ScriptStackTrace | Out-String)
        try { Send-Signal -Status FAILURE -InstanceId $instanceId }
        catch { Write-Log "Signalling FAILURE failed too: $($_.Exception.Message)" }
    }
    Write-Error -Message "Bastion setup failed: $reason" -ErrorAction Continue
    exit 1
}

if ($NoDomainJoin) {
    Write-Log 'Not joining the domain and leaving the instance running: -NoDomainJoin.'
    exit 0
}
try {
    Join-Domain -Credential $adminCredential
}
catch {
    # The stack already has its signal: a failed join leaves a working, non-joined instance; say so in the log.
    Write-Log "Joining the domain failed (configuration itself succeeded): $($_.Exception.Message)"
}
if ($config.KeepRunning) {
    Write-Log 'KeepRunning: restarting to complete the domain join.'
    Restart-Computer -Force
}
else {
    Write-Log 'Stopping the instance: it is not needed until someone starts it (KeepRunning is false).'
    Stop-Computer -Force
}
