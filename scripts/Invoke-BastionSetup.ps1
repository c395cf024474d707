<#
.SYNOPSIS
    First-boot configuration of the AD management instance: AD objects, the sample database, the CredSpec.

.DESCRIPTION
    Runs unattended from the instance's user data during `cdk deploy`, against the directory with -Server/-Credential
    (the instance is not joined to the domain yet):
      1. installs the AD PowerShell tools and the SqlServer module, then waits until the directory answers;
      2. Configure-AD.ps1: the gMSA group, the gMSA, the domainless user (domainless mode) and the domain-join user;
      3. Configure-Database.ps1: the Chinook database and the Windows logins of the gMSA and the AD admin;
      4. Generate-CredSpec.ps1: fills the CredSpec template and writes it to the SSM parameter and the S3 object;
      5. signals CloudFormation (SUCCESS, or FAILURE with the error in the log);
      6. joins the domain, which reboots the instance. This comes last so the reboot can't cut the run short.
    Every step is idempotent: run it again to repair, e.g. `C:\SampleConfig\Invoke-BastionSetup.ps1 -NoSignal`.
    It logs to C:\SampleConfig\logs and to the CloudWatch log group named in the configuration file.

.PARAMETER ConfigPath
    The JSON file the user data wrote (secret ids, names, addresses; no secret values).

.PARAMETER NoSignal
    Don't signal CloudFormation (for re-runs by hand: the stack has long been signalled).

.PARAMETER NoDomainJoin
    Don't join the domain at the end.
#>
[CmdletBinding()]
param(
    [string] $ConfigPath = "$PSScriptRoot\bastion-setup.json",
    [switch] $NoSignal,
    [switch] $NoDomainJoin
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$config = Get-Content -Raw -Path $ConfigPath | ConvertFrom-Json
$logFolder = Join-Path $PSScriptRoot 'logs'
New-Item -ItemType Directory -Force -Path $logFolder | Out-Null
$script:LogFile = Join-Path $logFolder ("setup-{0:yyyyMMdd-HHmmss}.log" -f (Get-Date).ToUniversalTime())
$script:LogStream = $null

function Get-InstanceId {
    # IMDSv2: the instance requires a session token.
    $token = Invoke-RestMethod -Method Put -Uri 'http://169.254.169.254/latest/api/token' `
        -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '300' } -UseBasicParsing
    return Invoke-RestMethod -Uri 'http://169.254.169.254/latest/meta-data/instance-id' `
        -Headers @{ 'X-aws-ec2-metadata-token' = $token } -UseBasicParsing
}

function Write-Log {
    param([Parameter(Mandatory = $true)] [string] $Message)
    $line = '{0:yyyy-MM-ddTHH:mm:ssZ} {1}' -f (Get-Date).ToUniversalTime(), $Message
    Write-Output $line
    Add-Content -Path $script:LogFile -Value $line
    if ($null -ne $script:LogStream) {
        try {
            $logEvent = New-Object Amazon.CloudWatchLogs.Model.InputLogEvent
            $logEvent.Message = $Message
            $logEvent.Timestamp = [DateTime]::UtcNow
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
    Send-CFNResourceSignal -StackName $config.StackName -LogicalResourceId $config.LogicalResourceId `
        -UniqueId $InstanceId -Status $Status -Region $config.Region
    Write-Log "Signalled $Status to $($config.StackName)/$($config.LogicalResourceId)."
}

function Get-SecretString {
    param([string] $SecretId)
    return (Get-SECSecretValue -SecretId $SecretId -Region $config.Region).SecretString
}

function New-Credential {
    param([string] $UserName, [string] $Password)
    $secure = ConvertTo-SecureString -String $Password -AsPlainText -Force
    return New-Object System.Management.Automation.PSCredential($UserName, $secure)
}

function Install-Prerequisites {
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

function Wait-Directory {
    param([System.Management.Automation.PSCredential] $Credential, [int] $Attempts = 40, [int] $DelaySeconds = 15)
    for ($attempt = 1; $attempt -le $Attempts; $attempt++) {
        try {
            $domain = Get-ADDomain -Server $config.DomainName -Credential $Credential
            Write-Log "Directory $($domain.DNSRoot) answers (attempt $attempt)."
            return
        }
        catch {
            Write-Log "Directory not answering yet (attempt $attempt of $Attempts): $($_.Exception.Message)"
            Start-Sleep -Seconds $DelaySeconds
        }
    }
    throw "The directory $($config.DomainName) did not answer after $Attempts attempts."
}

function Join-Domain {
    param([System.Management.Automation.PSCredential] $Credential)
    if ((Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain) {
        Write-Log 'Already joined to the domain.'
        return
    }
    Write-Log "Joining $($config.DomainName); the instance reboots now."
    Add-Computer -DomainName $config.DomainName -Credential $Credential -Force -Restart
}

Import-Module AWSPowerShell -ErrorAction SilentlyContinue
$instanceId = Get-InstanceId
try {
    Start-CloudWatchLog -StreamName $instanceId
}
catch {
    Add-Content -Path $script:LogFile -Value "CloudWatch Logs unavailable, logging to the file only: $($_.Exception.Message)"
}

$adminCredential = $null
try {
    Write-Log "Configuration run started on $instanceId (log file $script:LogFile)."
    Install-Prerequisites

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

    $database = Get-SecretString $config.DatabaseSecretId | ConvertFrom-Json
    Write-Log 'Configuring the database...'
    & "$PSScriptRoot\Configure-Database.ps1" -SqlServerAddress $config.DatabaseAddress `
        -SqlCredential (New-Credential -UserName $database.username -Password $database.password) `
        -NetBiosName $config.NetBiosName -GmsaName $config.GmsaName -AdAdminUserName 'admin' `
        -ChinookScriptUrl $config.ChinookScriptUrl | ForEach-Object { Write-Log "  $_" }

    Write-Log 'Writing the CredSpec...'
    & "$PSScriptRoot\Generate-CredSpec.ps1" -TemplatePath $config.CredSpecTemplatePath `
        -DomainName $config.DomainName -Credential $adminCredential `
        -ParameterName $config.CredSpecParameterName -BucketName $config.CredSpecBucketName `
        -ObjectKey $config.CredSpecObjectKey -Region $config.Region | ForEach-Object { Write-Log "  $_" }

    Write-Log 'Active Directory, database and CredSpec are configured.'
    Send-Signal -Status SUCCESS -InstanceId $instanceId
}
catch {
    Write-Log "FAILED: $($_.Exception.Message)"
    Write-Log ($_.ScriptStackTrace | Out-String)
    Send-Signal -Status FAILURE -InstanceId $instanceId
    exit 1
}

if ($NoDomainJoin) {
    Write-Log 'Not joining the domain: -NoDomainJoin.'
    exit 0
}
try {
    Join-Domain -Credential $adminCredential
}
catch {
    # The stack already has its signal: a failed join leaves a working, non-joined instance; say so in the log.
    Write-Log "Joining the domain failed (configuration itself succeeded): $($_.Exception.Message)"
}
