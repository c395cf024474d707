<#
    Fake of the AWS Tools for Windows PowerShell commands the bastion scripts call, on the state in
    $global:BastionFake (secrets, CloudFormation signals, CloudWatch Logs, RDS, the SSM parameter, the S3 object,
    the ECS container instances' Auto Scaling group and EC2 instances).
    Errors look like the AWS Tools' ones: the SDK exception, carrying its ErrorCode, wrapped by the cmdlet.
#>
Set-StrictMode -Version 3.0

if (-not ('Amazon.CloudWatchLogs.Model.InputLogEvent' -as [type])) {
    Add-Type -TypeDefinition 'namespace Amazon.CloudWatchLogs.Model { public class InputLogEvent { public string Message { get; set; } public System.DateTime Timestamp { get; set; } } }'
}

function New-AwsError {
    param([string] $Message, [string] $ErrorCode)
    $inner = [System.Exception]::new($Message)
    $inner | Add-Member -NotePropertyName ErrorCode -NotePropertyValue $ErrorCode
    [System.InvalidOperationException]::new($Message, $inner)
}

function Add-AwsCall {
    param([string] $Command, [hashtable] $Arguments, [bool] $Change = $false)
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = $Command; Arguments = $Arguments; Change = $Change })
}

function Get-RoleSessionArn {
    # The caller as IAM names it in a refusal: the instance role's session, named after the instance.
    $iam = $global:BastionFake.Iam
    "arn:aws:sts::111111111111:assumed-role/$($iam.RoleName)/$($global:BastionFake.InstanceId)"
}

function Test-SecretReadAllowed {
    # IAM evaluates the role's policies before Secrets Manager looks for the secret: without an attached policy that
    # names it, the answer is AccessDeniedException, whether or not the secret exists (Secrets Manager API reference,
    # GetSecretValue; IAM policy evaluation logic: an implicit deny unless a policy allows).
    param([string] $SecretId)
    $iam = $global:BastionFake.Iam
    foreach ($arn in $iam.Attached) {
        if ($iam.Policies.ContainsKey($arn) -and $iam.Policies[$arn] -contains $SecretId) { return $true }
    }
    return $false
}

function Get-SECSecretValue {
    [CmdletBinding()]
    param([string] $SecretId, [string] $Region)
    Add-AwsCall 'Get-SECSecretValue' @{ SecretId = $SecretId }
    if (-not (Test-SecretReadAllowed -SecretId $SecretId)) {
        throw (New-AwsError ("User: $(Get-RoleSessionArn) is not authorized to perform: secretsmanager:GetSecretValue " +
                "on resource: $SecretId because no identity-based policy allows the secretsmanager:GetSecretValue action") 'AccessDeniedException')
    }
    $secrets = $global:BastionFake.Secrets
    if (-not $secrets.ContainsKey($SecretId)) { throw (New-AwsError "Secrets Manager can't find the specified secret." 'ResourceNotFoundException') }
    [pscustomobject]@{ SecretString = $secrets[$SecretId] }
}

function Send-CFNResourceSignal {
    # CloudFormation's SignalResource: a resource with a creation policy of Count 1 waits in CREATE_IN_PROGRESS for one
    # signal. SUCCESS completes it, FAILURE fails it; once it no longer waits, every signal (SUCCESS or FAILURE) is
    # refused: "Resource <id> is in CREATE_COMPLETE state and cannot be signaled" (ValidationError). An unknown
    # resource is refused too. (AWS CloudFormation API reference, SignalResource; CreationPolicy attribute.)
    [CmdletBinding()]
    param([string] $StackName, [string] $LogicalResourceId, [string] $UniqueId, [string] $Status, [string] $Region)
    Add-AwsCall 'Send-CFNResourceSignal' @{ Status = $Status }
    $resources = $global:BastionFake.Cfn.Resources
    if (-not $resources.ContainsKey($LogicalResourceId)) {
        throw (New-AwsError "Resource $LogicalResourceId does not exist for stack $StackName" 'ValidationError')
    }
    $state = $resources[$LogicalResourceId]
    if ($state -ne 'CREATE_IN_PROGRESS') {
        $global:BastionFake.Cfn.Refused.Add([pscustomobject]@{ LogicalResourceId = $LogicalResourceId; Status = $Status; State = $state })
        throw (New-AwsError "Resource $LogicalResourceId is in $state state and cannot be signaled" 'ValidationError')
    }
    $resources[$LogicalResourceId] = if ($Status -eq 'SUCCESS') { 'CREATE_COMPLETE' } else { 'CREATE_FAILED' }
    $global:BastionFake.Signals.Add([pscustomobject]@{ StackName = $StackName; LogicalResourceId = $LogicalResourceId; UniqueId = $UniqueId; Status = $Status })
}

function Unregister-IAMRolePolicy {
    # IAM's DetachRolePolicy (IAM API reference, DetachRolePolicy). Authorized first: the role may detach only the one
    # policy its statement's condition iam:PolicyARN names, from itself (Iam.DetachAllowed), anything else is
    # AccessDenied. Then NoSuchEntity (404) when that policy is not attached (any more). Iam.Failures: that many
    # ServiceFailure (500) answers first, as a service having a bad moment.
    [CmdletBinding()]
    param([string] $RoleName, [string] $PolicyArn, [string] $Region)
    Add-AwsCall 'Unregister-IAMRolePolicy' @{ RoleName = $RoleName; PolicyArn = $PolicyArn }
    $iam = $global:BastionFake.Iam
    if ($RoleName -ne $iam.RoleName -or $PolicyArn -ne $iam.DetachAllowed) {
        throw (New-AwsError ("User: $(Get-RoleSessionArn) is not authorized to perform: iam:DetachRolePolicy on resource: " +
                "role $RoleName because no identity-based policy allows the iam:DetachRolePolicy action") 'AccessDenied')
    }
    if ($iam.Failures -gt 0) {
        $iam.Failures--
        throw (New-AwsError 'We encountered an internal error. Please try again.' 'ServiceFailure')
    }
    if (-not $iam.Attached.Contains($PolicyArn)) {
        throw (New-AwsError "Policy $PolicyArn was not found." 'NoSuchEntity')
    }
    [void] $iam.Attached.Remove($PolicyArn)
    $global:BastionFake.Calls[$global:BastionFake.Calls.Count - 1].Change = $true
}

function New-CWLLogStream {
    [CmdletBinding()]
    param([string] $LogGroupName, [string] $LogStreamName, [string] $Region)
    $streams = $global:BastionFake.CloudWatch.Streams
    if ($streams.ContainsKey($LogStreamName)) { throw (New-AwsError 'The specified log stream already exists' 'ResourceAlreadyExistsException') }
    $streams[$LogStreamName] = $LogGroupName
}

function Write-CWLLogEvent {
    [CmdletBinding()]
    param([string] $LogGroupName, [string] $LogStreamName, [Amazon.CloudWatchLogs.Model.InputLogEvent[]] $LogEvent, [string] $Region)
    foreach ($e in $LogEvent) { $global:BastionFake.CloudWatch.Messages.Add($e.Message) }
}

function Get-RDSDBInstance {
    [CmdletBinding()]
    param([string] $DBInstanceIdentifier, [string] $Region)
    $rds = $global:BastionFake.Rds
    Add-AwsCall 'Get-RDSDBInstance' @{ DBInstanceIdentifier = $DBInstanceIdentifier }
    if ($DBInstanceIdentifier -ne $rds.Identifier) { throw (New-AwsError "DBInstance $DBInstanceIdentifier not found." 'DBInstanceNotFound') }
    # DescribeDBInstances reports the directory membership apart from the instance status: an `available` instance
    # may still be `pending-join` (RDS API reference, DBInstance.DomainMemberships, DomainMembership.Status). The
    # endpoint exists once the instance has been created.
    $rds.Checks++
    $status = if ($rds.Checks -gt $rds.AvailableAfterChecks) { $rds.Status } else { 'creating' }
    $membership = if ($rds.Checks -gt $rds.JoinedAfterChecks) { $rds.Membership } else { 'pending-join' }
    [pscustomobject]@{
        DBInstanceIdentifier = $rds.Identifier
        DBInstanceStatus     = $status
        DomainMemberships    = @(if ($membership) {
                [pscustomobject]@{ Domain = $rds.DirectoryId; FQDN = $rds.DirectoryName; IAMRoleName = 'rds-directory'; Status = $membership }
            })
        Endpoint             = $(if ($status -ne 'creating') { [pscustomobject]@{ Address = $rds.Address; Port = 1433 } } else { $null })
    }
}

function Get-SSMParameter {
    [CmdletBinding()]
    param([string] $Name, [string] $Region)
    Add-AwsCall 'Get-SSMParameter' @{ Name = $Name }
    $store = $global:BastionFake.Ssm
    if (-not $store.ContainsKey($Name)) { throw (New-AwsError "Parameter $Name not found." 'ParameterNotFound') }
    [pscustomobject]@{ Name = $Name; Value = $store[$Name] }
}

function Write-SSMParameter {
    [CmdletBinding()]
    param([string] $Name, [string] $Value, [string] $Type, [bool] $Overwrite, [string] $Region)
    Add-AwsCall 'Write-SSMParameter' @{ Name = $Name; Overwrite = $Overwrite; Type = $Type } -Change $true
    $store = $global:BastionFake.Ssm
    if ($store.ContainsKey($Name) -and -not $Overwrite) { throw (New-AwsError 'The parameter already exists.' 'ParameterAlreadyExists') }
    $store[$Name] = $Value
    1
}

function Read-S3Object {
    [CmdletBinding()]
    param([string] $BucketName, [string] $Key, [string] $File, [string] $Region)
    Add-AwsCall 'Read-S3Object' @{ BucketName = $BucketName; Key = $Key }
    $store = $global:BastionFake.S3
    if (-not $store.ContainsKey("$BucketName/$Key")) { throw (New-AwsError 'The specified key does not exist.' 'NoSuchKey') }
    [System.IO.File]::WriteAllText($File, $store["$BucketName/$Key"])
    Get-Item -Path $File
}

function Write-S3Object {
    [CmdletBinding()]
    param([string] $BucketName, [string] $Key, [string] $Content, [string] $ContentType, [string] $Region)
    Add-AwsCall 'Write-S3Object' @{ BucketName = $BucketName; Key = $Key; ContentType = $ContentType } -Change $true
    $global:BastionFake.S3["$BucketName/$Key"] = $Content
}

function Get-ASAutoScalingGroup {
    # Like DescribeAutoScalingGroups: an unknown name gives no group, not an error.
    [CmdletBinding()]
    param([string[]] $AutoScalingGroupName, [string] $Region)
    Add-AwsCall 'Get-ASAutoScalingGroup' @{ AutoScalingGroupName = "$AutoScalingGroupName"; Region = $Region }
    $groups = $global:BastionFake.AutoScaling
    foreach ($name in $AutoScalingGroupName) {
        if ($groups.ContainsKey($name)) {
            [pscustomobject]@{
                AutoScalingGroupName = $name
                Instances            = @($groups[$name] | ForEach-Object { [pscustomobject]@{ InstanceId = $_; LifecycleState = 'InService' } })
            }
        }
    }
}

function Get-EC2Instance {
    # Returns reservations, as the AWS Tools do; an unknown id is the service's error.
    [CmdletBinding()]
    param([object[]] $InstanceId, [string] $Region)
    Add-AwsCall 'Get-EC2Instance' @{ InstanceId = "$InstanceId"; Region = $Region }
    $instances = $global:BastionFake.Ec2
    foreach ($id in $InstanceId) {
        if (-not $instances.ContainsKey("$id")) { throw (New-AwsError "The instance ID '$id' does not exist" 'InvalidInstanceID.NotFound') }
        [pscustomobject]@{ Instances = @([pscustomobject]@{ InstanceId = "$id"; PrivateDnsName = $instances["$id"] }) }
    }
}

Export-ModuleMember -Function Get-ASAutoScalingGroup, Get-EC2Instance, Get-SECSecretValue, Unregister-IAMRolePolicy, Send-CFNResourceSignal, New-CWLLogStream, Write-CWLLogEvent,
    Get-RDSDBInstance, Get-SSMParameter, Write-SSMParameter, Read-S3Object, Write-S3Object
