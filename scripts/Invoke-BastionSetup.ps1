<#
.SYNOPSIS
    First-boot configuration of the AD management instance: AD objects, the CredSpec, the sample database.

.DESCRIPTION
    Runs unattended from the instance's user data during `cdk deploy`, against the directory with -Server/-Credential
    (the instance is not joined to the domain yet):
      1. imports the AD PowerShell tools and the SqlServer module at the pinned SqlServerModuleVersion, installing
         what is missing in a background job stopped after ModuleInstallMinutes;
      2. waits, at most DirectoryWaitMinutes, until the directory answers;
      3. Configure-AD.ps1: the gMSA group, the gMSA, the domainless user (domainless mode) and the domain-join user;
      4. Generate-CredSpec.ps1: fills the CredSpec template and writes the SSM parameter and the S3 object from one
         string, each only when it differs (CloudFormation does not own either copy: no stack update can revert it);
      5. waits, at most DatabaseWaitMinutes, until the RDS instance DatabaseInstanceIdentifier is `available` (or
         `backing-up`) and its directory membership is `joined`; a state it does not leave by itself fails at once;
      6. Configure-Database.ps1, within DatabaseConfigurationMinutes: the Chinook database (pinned URL, SHA-256
         checked) and the Windows logins; in Kerberos sidecar mode (SidecarIdentitySecretId set) then
         Configure-SidecarUser.ps1, within its own DatabaseConfigurationMinutes: the sidecar's AD user with the secret's
         password and its read-only login on Chinook;
      7. detaches RunPolicyArn (the reads of the AD admin, SQL Server and the mode's join, identity or sidecar secrets)
         from its own role RoleName: from here on the instance reads no secret (docs/bastion.md, "The run's keys");
      8. signals CloudFormation SUCCESS and records it in bastion-setup.done.json (the configuration's digest); any
         error before this point (a refused detach included) detaches what it can, signals FAILURE, logs the reason
         and exits 1;
      9. joins the domain (no restart) with the admin credential it read at the start, then stops the instance, or
         restarts it when KeepRunning is true (a restart completes the join). The signal comes first so that nothing
         after it can hold the stack.
    Every step is bounded (lib/constructs/ad-management-bastion.ts, BASTION_RUN_BOUNDS, sums the bounds against the
    signal timeout) and idempotent.

    Later boots. EC2Launch v2 runs user data again at the next boot when the run stopped or restarted the computer
    (EC2Launch v2 troubleshooting, "Service runs user data more than once"), and CloudFormation refuses a signal to a
    resource that is no longer waiting. So a run that finds bastion-setup.done.json naming its own configuration logs
    one line and exits: nothing in AD, SQL Server or the CredSpec changes, nothing is signalled, the instance stays up.
    A different digest there means the user data changed in place (a new configuration normally comes with a new
    instance): the run applies it without signalling (nothing waits for it) and stays up.
    Re-run it by hand to repair: `C:\SampleConfig\Invoke-BastionSetup.ps1 -NoSignal -NoDomainJoin`.
    It logs to the logs folder beside the script and to the CloudWatch log group named in the configuration file.

.PARAMETER ConfigPath
    The JSON file the user data wrote (secret ids, names, bounds, the database instance identifier; no secret values).

.PARAMETER NoSignal
    Don't signal CloudFormation and ignore bastion-setup.done.json (for re-runs by hand: the stack has long been
    signalled).

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

# What a successful, signalled run leaves beside the scripts (BASTION_DONE_MARKER in the construct).
$script:DoneMarker = Join-Path $PSScriptRoot 'bastion-setup.done.json'

# Keys the CDK construct writes (lib/constructs/ad-management-bastion.ts); a missing one stops the run at once.
$RequiredKeys = @('Region', 'StackName', 'LogicalResourceId', 'LogGroupName', 'DomainName', 'NetBiosName',
    'AdminSecretId', 'IdentitySecretId', 'SidecarIdentitySecretId', 'DomainJoinSecretId', 'DatabaseSecretId', 'DatabaseInstanceIdentifier',
    'DatabaseName', 'GmsaName', 'GmsaPrincipalsGroup', 'CredSpecTemplatePath', 'CredSpecParameterName',
    'CredSpecBucketName', 'CredSpecObjectKey', 'ChinookScriptUrl', 'ChinookScriptSha256', 'SqlServerModuleVersion',
    'ConfigurationDigest', 'KeepRunning', 'RoleName', 'RunPolicyArn')
# The bounds (BASTION_RUN_BOUNDS): whole numbers, at least 1.
$BoundKeys = @('DirectoryWaitMinutes', 'DatabaseWaitMinutes', 'MetadataTimeoutSeconds', 'ModuleInstallMinutes',
    'DatabaseConfigurationMinutes', 'SqlConnectTimeoutSeconds', 'QueryTimeoutSeconds', 'DownloadTimeoutSeconds',
    'LoginRetryAttempts', 'LoginRetryDelaySeconds', 'RevokeAttempts', 'RevokeRetryDelaySeconds')

# DescribeDBInstances reports the instance's status and, separately, its directory membership
# (DomainMemberships[].Status); Windows logins need both: `available` (or `backing-up`, which serves connections) and
# `joined`. States the instance does not leave by itself fail the wait at once.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DomainMembership.html
$DatabaseReadyStatuses = @('available', 'backing-up')
$DatabaseFinalStatuses = @('failed', 'stopped', 'stopping', 'deleting', 'delete-precheck', 'storage-full',
    'restore-error', 'insufficient-capacity', 'inaccessible-encryption-credentials',
    'inaccessible-encryption-credentials-recoverable', 'incompatible-create', 'incompatible-network',
    'incompatible-option-group', 'incompatible-parameters', 'incompatible-restore')
$MembershipFinalStatuses = @('failed', 'removed', 'pending-removal', 'pending-maintenance-removal',
    'pending-maintenance-join')

function Read-BastionConfig {
    # Sets $script:Config as soon as the file parses, so that a run with a bad setting can still signal FAILURE.
    param([string] $Path)
    $raw = Get-Content -Raw -Path $Path | ConvertFrom-Json
    $script:Config = $raw
    $names = @($raw.PSObject.Properties.Name)
    $missing = @($RequiredKeys + $BoundKeys | Where-Object { $names -notcontains $_ })
    if ($missing.Count -gt 0) { throw "$Path lacks the setting(s) $($missing -join ', ')." }
    foreach ($key in $BoundKeys) {
        if (-not ($raw.$key -is [int] -or $raw.$key -is [long]) -or $raw.$key -lt 1) {
            throw "$Path sets $key to '$($raw.$key)': a whole number, at least 1, is allowed."
        }
    }
    if ($raw.KeepRunning -isnot [bool]) { throw "$Path sets KeepRunning to '$($raw.KeepRunning)': true or false is allowed." }
    return $raw
}

function Read-DoneMarker {
    # The record of the last signalled run on this instance, or $null (none, or unreadable: then the run goes ahead).
    if (-not (Test-Path -Path $script:DoneMarker)) { return $null }
    try { return Get-Content -Raw -Path $script:DoneMarker | ConvertFrom-Json }
    catch { return $null }
}

function Write-DoneMarker {
    param([string] $InstanceId)
    $config = $script:Config
    [pscustomobject]@{
        ConfigurationDigest = $config.ConfigurationDigest
        InstanceId          = $InstanceId
        SignalledAt         = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    } | ConvertTo-Json | Set-Content -Path $script:DoneMarker
}

function Get-InstanceId {
    # IMDSv2: the instance requires a session token. Timeouts: no call may hang the run.
    $timeout = $script:Config.MetadataTimeoutSeconds
    $token = Invoke-RestMethod -Method Put -Uri 'http://169.254.169.254/latest/api/token' `
        -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '300' } -UseBasicParsing -TimeoutSec $timeout
    return Invoke-RestMethod -Uri 'http://169.254.169.254/latest/meta-data/instance-id' `
        -Headers @{ 'X-aws-ec2-metadata-token' = $token } -UseBasicParsing -TimeoutSec $timeout
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
    # Returns whether it signalled. CloudFormation accepts one signal per waiting resource and refuses any signal once
    # the resource no longer waits: a run that nothing waits for must not signal.
    param([ValidateSet('SUCCESS', 'FAILURE')] [string] $Status, [string] $InstanceId)
    if ($NoSignal) {
        Write-Log "Not signalling CloudFormation ($Status): -NoSignal."
        return $false
    }
    if ($script:ChangedInPlace) {
        Write-Log "Not signalling CloudFormation ($Status): nothing waits for a configuration changed in place."
        return $false
    }
    $config = $script:Config
    Send-CFNResourceSignal -StackName $config.StackName -LogicalResourceId $config.LogicalResourceId `
        -UniqueId $InstanceId -Status $Status -Region $config.Region | Out-Null
    Write-Log "Signalled $Status to $($config.StackName)/$($config.LogicalResourceId)."
    return $true
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

function Invoke-Bounded {
    # Runs -ScriptBlock in a background job and stops it after -Seconds: Install-WindowsFeature and Install-Module
    # have no timeout of their own, and a hung PowerShell Gallery download would otherwise outlast the signal timeout.
    # The job is another process: pass what it needs in -ArgumentList. Its errors come back as this function's.
    param([string] $What, [int] $Seconds, [scriptblock] $ScriptBlock, [object[]] $ArgumentList = @())
    $job = Start-Job -ScriptBlock $ScriptBlock -ArgumentList $ArgumentList
    try {
        if (-not (Wait-Job -Job $job -Timeout $Seconds)) {
            throw "$What did not finish within $Seconds seconds: stopped."
        }
        if ($job.State -eq 'Failed') {
            throw "$What failed: $($job.ChildJobs[0].JobStateInfo.Reason.Message)"
        }
        return Receive-Job -Job $job -ErrorAction Stop
    }
    finally {
        Stop-Job -Job $job -ErrorAction SilentlyContinue
        Remove-Job -Job $job -Force -ErrorAction SilentlyContinue
    }
}

function Import-BastionModules {
    # AWS Tools for Windows PowerShell ship with the Windows AMI; the AD tools are a Windows feature; SqlServer comes
    # from the PowerShell Gallery at exactly SqlServerModuleVersion (-Encrypt Mandatory needs 22 or later).
    $config = $script:Config
    $version = $config.SqlServerModuleVersion
    $needAdTools = -not (Get-WindowsFeature -Name 'RSAT-AD-Tools').Installed
    $needSqlServer = -not (Get-Module -ListAvailable -Name SqlServer | Where-Object { "$($_.Version)" -eq $version })
    if ($needAdTools -or $needSqlServer) {
        $what = @(if ($needAdTools) { 'the AD management tools (RSAT-AD-Tools)' }
            if ($needSqlServer) { "the SqlServer module $version" }) -join ' and '
        Write-Log "Installing $what, at most $($config.ModuleInstallMinutes) minutes..."
        Invoke-Bounded -What "Installing $what" -Seconds ($config.ModuleInstallMinutes * 60) `
            -ArgumentList $needAdTools, $needSqlServer, $version -ScriptBlock {
            param([bool] $adTools, [bool] $sqlServer, [string] $version)
            $ErrorActionPreference = 'Stop'
            [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
            if ($adTools) { Install-WindowsFeature -Name 'RSAT-AD-Tools' -IncludeAllSubFeature | Out-Null }
            if ($sqlServer) {
                Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force -Scope AllUsers | Out-Null
                Install-Module -Name SqlServer -RequiredVersion $version -Scope AllUsers -Force -AllowClobber -Repository PSGallery
            }
        } | Out-Null
    }
    Import-Module ActiveDirectory
    Import-Module SqlServer -RequiredVersion $version
}

function Stop-Waiting {
    # A state the resource does not leave by itself: Wait-Until fails at once instead of waiting out its bound.
    param([string] $Reason)
    $final = [System.InvalidOperationException]::new($Reason)
    $final.Data['FinalState'] = $true
    throw $final
}

function Wait-Until {
    # (The deadline uses Get-Date and the pause Start-Sleep, so that tests can move the clock instead of waiting.)
    # Runs -Probe until it succeeds, for at most -Minutes by the clock, and returns its output; a probe's error says
    # why it is not ready yet, and a probe that calls Stop-Waiting ends the wait at once.
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
            if ($_.Exception.Data['FinalState']) {
                throw "$What is in a state it does not leave by itself (attempt $attempt): $reason"
            }
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
        $status = "$($db.DBInstanceStatus)"
        if ($DatabaseFinalStatuses -contains $status) { Stop-Waiting "its status is '$status'" }
        if ($DatabaseReadyStatuses -notcontains $status) { throw "its status is '$status'" }
        $memberships = @($db.DomainMemberships | Where-Object { $null -ne $_ })
        if ($memberships.Count -eq 0) { Stop-Waiting "its status is '$status' but it belongs to no directory" }
        foreach ($membership in $memberships) {
            $state = "$($membership.Status)"
            $about = "its status is '$status', its membership of the directory $($membership.Domain) is '$state'"
            if ($MembershipFinalStatuses -contains $state) { Stop-Waiting $about }
            if ($state -ne 'joined') { throw $about }
        }
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

function Get-AwsErrorCode {
    # The service's error code of an AWS Tools error (the SDK exception may be wrapped by the cmdlet), or ''.
    param([System.Management.Automation.ErrorRecord] $ErrorRecord)
    for ($e = $ErrorRecord.Exception; $null -ne $e; $e = $e.InnerException) {
        $code = $e.PSObject.Properties['ErrorCode']
        if ($null -ne $code -and $code.Value) { return "$($code.Value)" }
    }
    return ''
}

# DetachRolePolicy's errors (IAM API reference, DetachRolePolicy): NoSuchEntity (404) when the policy is not attached
# (or the role or policy does not exist), ServiceFailure (500) and throttling may pass; AccessDenied, InvalidInput,
# UnmodifiableEntity and LimitExceeded will not. An error without a code (no answer) may pass too.
$RevokeRetryableCodes = @('', 'ServiceFailure', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded',
    'ServiceUnavailable', 'InternalFailure')

function Remove-RunSecretAccess {
    # The run's keys are for the run only: the role detaches RunPolicyArn from itself (the one thing its
    # iam:DetachRolePolicy right allows). Bounded: RevokeAttempts attempts, RevokeRetryDelaySeconds apart, for failures
    # that may pass; a refusal throws at once, and the run then fails.
    $config = $script:Config
    $script:RevokeTried = $true
    $what = "the run's secret access $($config.RunPolicyArn) from the role $($config.RoleName)"
    for ($attempt = 1; ; $attempt++) {
        try {
            Unregister-IAMRolePolicy -RoleName $config.RoleName -PolicyArn $config.RunPolicyArn -Region $config.Region | Out-Null
            Write-Log "Detached $what (attempt $attempt): this instance reads no secret any more."
            return
        }
        catch {
            $code = Get-AwsErrorCode -ErrorRecord $_
            if ($code -eq 'NoSuchEntity') {
                Write-Log "Detached $what already: this instance reads no secret any more."
                return
            }
            $reason = $_.Exception.Message
            if ($RevokeRetryableCodes -notcontains $code -or $attempt -ge $config.RevokeAttempts) {
                throw "Could not detach $what (attempt $attempt of $($config.RevokeAttempts)): $reason"
            }
            Write-Log "Detaching $what failed (attempt $attempt of $($config.RevokeAttempts)), trying again: $reason"
            Start-Sleep -Seconds $config.RevokeRetryDelaySeconds
        }
    }
}

$instanceId = 'unknown-instance'
$adminCredential = $null
$script:ChangedInPlace = $false
$script:RevokeTried = $false
try {
    # The configuration first: with it, any later failure (even IMDS) can be signalled; a FAILURE from any unique id
    # fails the resource.
    $config = Read-BastionConfig -Path $ConfigPath
    $script:Config = $config
    $done = if ($NoSignal) { $null } else { Read-DoneMarker }
    if ($null -ne $done) {
        if ($done.ConfigurationDigest -eq $config.ConfigurationDigest) {
            # A later boot of the configuration that ran: the resource no longer waits, so there is nothing to do. One
            # line, no AWS call, and the instance stays up for whoever started it.
            Write-Log "Configuration $($config.ConfigurationDigest.Substring(0, 8)) ran and was signalled on $($done.SignalledAt) (instance $($done.InstanceId)): nothing to do; the instance stays running."
            exit 0
        }
        $script:ChangedInPlace = $true
    }
    $instanceId = Get-InstanceId
    Import-Module AWSPowerShell
    try {
        Start-CloudWatchLog -StreamName $instanceId
    }
    catch {
        Add-Content -Path $script:LogFile -Value "CloudWatch Logs unavailable, logging to the file only: $($_.Exception.Message)"
    }
    Write-Log "Configuration run started on $instanceId (log file $script:LogFile)."
    if ($script:ChangedInPlace) {
        Write-Log ("The configuration changed in place since the run signalled on $($done.SignalledAt) " +
            "($($done.ConfigurationDigest.Substring(0, 8)) -> $($config.ConfigurationDigest.Substring(0, 8))): nothing waits " +
            'for a signal (a new configuration normally comes with a new instance); applying it, and staying up.')
    }
    Import-BastionModules

    $adminCredential = New-Credential -UserName "admin@$($config.DomainName)" -Password (Get-SecretString $config.AdminSecretId)
    Wait-Directory -Credential $adminCredential

    $adParameters = @{
        DomainName          = $config.DomainName
        Credential          = $adminCredential
        GmsaName            = $config.GmsaName
        GmsaPrincipalsGroup = $config.GmsaPrincipalsGroup
    }
    # Domain-joined mode only: the user that joins the ECS hosts and adds them to the gMSA group. Elsewhere nothing
    # joins, so the user and its rights on the group are not created (and the role may not read the secret).
    if ($config.DomainJoinSecretId) {
        $joinSecret = Get-SecretString $config.DomainJoinSecretId | ConvertFrom-Json
        $adParameters.DomainJoinUser = New-Credential -UserName $joinSecret.awsSeamlessDomainUsername -Password $joinSecret.awsSeamlessDomainPassword
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
    Write-Log "Configuring the database on $databaseAddress, at most $($config.DatabaseConfigurationMinutes) minutes..."
    & "$PSScriptRoot\Configure-Database.ps1" -SqlServerAddress $databaseAddress `
        -SqlCredential (New-Credential -UserName $database.username -Password $database.password) `
        -NetBiosName $config.NetBiosName -GmsaName $config.GmsaName -AdAdminUserName 'admin' `
        -DatabaseName $config.DatabaseName -ChinookScriptUrl $config.ChinookScriptUrl `
        -ChinookScriptHash $config.ChinookScriptSha256 -TimeBudgetMinutes $config.DatabaseConfigurationMinutes `
        -QueryTimeoutSeconds $config.QueryTimeoutSeconds -ConnectTimeoutSeconds $config.SqlConnectTimeoutSeconds `
        -DownloadTimeoutSeconds $config.DownloadTimeoutSeconds -LoginRetryAttempts $config.LoginRetryAttempts `
        -LoginRetryDelaySeconds $config.LoginRetryDelaySeconds | ForEach-Object { Write-Log "  $_" }

    if ($config.SidecarIdentitySecretId) {
        # Kerberos sidecar mode: the AD user the sidecar signs in as, with the secret's current password, and its
        # read-only login. After Configure-Database.ps1: the login's default database is Chinook.
        $sidecar = Get-SecretString $config.SidecarIdentitySecretId | ConvertFrom-Json
        Write-Log "Configuring the Kerberos sidecar's user $($sidecar.username), at most $($config.DatabaseConfigurationMinutes) minutes..."
        & "$PSScriptRoot\Configure-SidecarUser.ps1" -DomainName $config.DomainName -Credential $adminCredential `
            -SidecarUser (New-Credential -UserName $sidecar.username -Password $sidecar.password) `
            -SqlServerAddress $databaseAddress `
            -SqlCredential (New-Credential -UserName $database.username -Password $database.password) `
            -DatabaseName $config.DatabaseName -TimeBudgetMinutes $config.DatabaseConfigurationMinutes `
            -QueryTimeoutSeconds $config.QueryTimeoutSeconds -ConnectTimeoutSeconds $config.SqlConnectTimeoutSeconds `
            -LoginRetryAttempts $config.LoginRetryAttempts -LoginRetryDelaySeconds $config.LoginRetryDelaySeconds |
            ForEach-Object { Write-Log "  $_" }
    }

    Write-Log 'Active Directory, CredSpec and database are configured.'
    # The last step before the signal: a run that cannot give up its keys fails (below), and says why.
    Remove-RunSecretAccess
    if ((Send-Signal -Status SUCCESS -InstanceId $instanceId) -or $script:ChangedInPlace) {
        # The next boot of this configuration (EC2Launch v2 runs user data again after Stop- or Restart-Computer)
        # finds this and does nothing.
        Write-DoneMarker -InstanceId $instanceId
    }
}
catch {
    $reason = $_.Exception.Message
    # Without a readable configuration there is nothing to signal: the creation policy's timeout fails the stack.
    if ($null -ne $script:Config) {
        Write-Log "FAILED: $reason"
        Write-Log ($_.ScriptStackTrace | Out-String)
        # A failed run gives up its keys too (the stack rolls back anyway; with --no-rollback the instance stays), once:
        # a detach that failed already is not tried again (its attempts are bounded once, in the signal timeout).
        $names = @(Get-Member -InputObject $script:Config -MemberType NoteProperty | ForEach-Object Name)
        if (-not $script:RevokeTried -and $names -contains 'RunPolicyArn' -and $names -contains 'RoleName') {
            try { Remove-RunSecretAccess }
            catch { Write-Log "Detaching the run's secret access failed too: $($_.Exception.Message)" }
        }
        try { Send-Signal -Status FAILURE -InstanceId $instanceId | Out-Null }
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
if ($script:ChangedInPlace) {
    Write-Log 'Leaving the instance running: it was running for this change, not for a first run.'
}
elseif ($config.KeepRunning) {
    Write-Log 'KeepRunning: restarting to complete the domain join.'
    Restart-Computer -Force
}
else {
    Write-Log 'Stopping the instance: it is not needed until someone starts it (KeepRunning is false).'
    Stop-Computer -Force
}
