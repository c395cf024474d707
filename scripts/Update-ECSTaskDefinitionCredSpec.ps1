<#
.SYNOPSIS
    Migrates an ECS task definition's gMSA containers from the legacy dockerSecurityOptions entry to credentialSpecs.

.DESCRIPTION
    Reads a task definition with `aws ecs describe-task-definition`, replaces each gMSA container's legacy
    "credentialspec:<ARN>" entry in dockerSecurityOptions with a credentialSpecs entry, and registers the result as a
    new revision with `aws ecs register-task-definition`:
      - Domainless:   credentialSpecs = "credentialspecdomainless:<ARN>" (Fargate and EC2)
      - DomainJoined: credentialSpecs = "credentialspec:<ARN>" (EC2 container instances joined to the domain)
    Linux containers read their CredSpec only from credentialSpecs:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html

    Containers without gMSA are left unchanged; other dockerSecurityOptions entries and the tags are kept. The fields
    that describe-task-definition returns but register-task-definition refuses (taskDefinitionArn, revision, status,
    requiresAttributes, compatibilities, registeredAt, registeredBy, deregisteredAt) are dropped.
    When no container uses gMSA, or every gMSA container already has the requested credentialSpecs, the script says
    so and registers nothing. The old revision stays ACTIVE: point your service at the new one.

    Uses the AWS CLI (the same calls as scripts/update-ecs-task-definition-cred-spec.sh), with the CLI's usual
    credentials and configuration.

.PARAMETER TaskDefinition
    Task definition family (its latest ACTIVE revision), family:revision, or task definition ARN.

.PARAMETER Mode
    Domainless or DomainJoined: which credentialSpecs form to write.

.PARAMETER CredSpecArn
    Use this CredSpec (an S3 object ARN arn:aws:s3:::bucket/key, or an SSM parameter ARN) instead of the one found in
    the task definition.

.PARAMETER Region
    AWS Region. Default: the AWS CLI's configuration.

.PARAMETER DryRun
    Write the new task definition JSON (the register-task-definition input) and register nothing.

.EXAMPLE
    .\Update-ECSTaskDefinitionCredSpec.ps1 -TaskDefinition sample-web-app -Mode Domainless -DryRun

    Shows the JSON of the new revision without registering it.

.EXAMPLE
    .\Update-ECSTaskDefinitionCredSpec.ps1 arn:aws:ecs:us-east-1:111122223333:task-definition/sample-web-app:7 -Mode DomainJoined

    Registers a new revision whose gMSA containers use credentialspec:<ARN>, and writes its ARN.

.EXAMPLE
    .\Update-ECSTaskDefinitionCredSpec.ps1 sample-web-app -Mode Domainless -CredSpecArn arn:aws:s3:::my-bucket/credspecs/SampleWebApp.json -WhatIf

    Shows what would be registered, with a CredSpec of your choice.

.INPUTS
    None.

.OUTPUTS
    System.String. The ARN of the new revision, or with -DryRun the JSON of the new task definition.

.NOTES
    Needs the AWS CLI (v1 or v2) on PATH, and permission for ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition
    (ecs:TagResource too when the task definition has tags) and iam:PassRole on its task and execution roles.

.LINK
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
#>
[CmdletBinding(SupportsShouldProcess)]
[OutputType([string])]
param(
    [Parameter(Mandatory, Position = 0)]
    [ValidatePattern('^([A-Za-z0-9_-]{1,255}(:[0-9]+)?|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]{1,255}(:[0-9]+)?)$')]
    [string] $TaskDefinition,

    [Parameter(Mandatory)]
    [ValidateSet('Domainless', 'DomainJoined')]
    [string] $Mode,

    # A CredSpec lives in an S3 object or an SSM parameter.
    [ValidatePattern('^arn:aws[a-z-]*:(s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$')]
    [string] $CredSpecArn,

    [ValidatePattern('^[a-z]{2}(-[a-z]+)+-[0-9]+$')]
    [string] $Region,

    [switch] $DryRun
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Returned by describe-task-definition, refused by register-task-definition.
$readOnlyFields = @('taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities',
    'registeredAt', 'registeredBy', 'deregisteredAt')
$targetPrefix = if ($Mode -eq 'Domainless') { 'credentialspecdomainless:' } else { 'credentialspec:' }

function Get-PropertyItem {
    # Writes the items of an optional array property (nothing when the property is absent); StrictMode forbids
    # reading a property that does not exist.
    param(
        [Parameter(Mandatory)] [object] $InputObject,
        [Parameter(Mandatory)] [string] $Name
    )
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -ne $property -and $null -ne $property.Value) {
        $property.Value
    }
}

function Get-CredSpecArn {
    param([Parameter(Mandatory)] [string] $Entry)
    return $Entry -creplace '^credentialspec(domainless)?:', ''
}

function Get-AwsCliMajorVersion {
    # AWS CLI v1 prints its version on stderr: don't let that stop the script.
    $ErrorActionPreference = 'Continue'
    $versionText = (& aws --version 2>&1 | Out-String)
    if ($versionText -match 'aws-cli/(\d+)\.') {
        return [int] $Matches[1]
    }
    return 0
}

function Invoke-AwsCliJson {
    param([Parameter(Mandatory)] [string[]] $Arguments)
    $output = & aws @Arguments @awsCommonArguments
    if ($LASTEXITCODE -ne 0) {
        throw "aws $($Arguments[0]) $($Arguments[1]) failed with exit code $LASTEXITCODE (its message is above)."
    }
    return ($output -join [Environment]::NewLine) | ConvertFrom-Json
}

if (-not (Get-Command -Name aws -CommandType Application -ErrorAction SilentlyContinue)) {
    throw 'Required command not found: aws (AWS CLI: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html).'
}

$awsCommonArguments = @('--output', 'json')
if ($Region) {
    $awsCommonArguments += @('--region', $Region)
}
if ((Get-AwsCliMajorVersion) -ge 2) {
    # AWS CLI v2 pages its output by default (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-pagination.html).
    $awsCommonArguments += '--no-cli-pager'
}

# ---- read ----------------------------------------------------------------------------------------------------------
Write-Verbose "Reading task definition $TaskDefinition"
$described = Invoke-AwsCliJson -Arguments @('ecs', 'describe-task-definition', '--task-definition', $TaskDefinition, '--include', 'TAGS')
$taskDefinitionObject = $described.taskDefinition
$sourceArn = $taskDefinitionObject.taskDefinitionArn
$requiresFargate = @(Get-PropertyItem -InputObject $taskDefinitionObject -Name 'requiresCompatibilities') -contains 'FARGATE'

# ---- transform -----------------------------------------------------------------------------------------------------
$changes = @()
$alreadyMigrated = @()
foreach ($container in $taskDefinitionObject.containerDefinitions) {
    $securityOptions = @(Get-PropertyItem -InputObject $container -Name 'dockerSecurityOptions')
    $legacy = @($securityOptions | Where-Object { $_ -clike 'credentialspec:*' })
    $specs = @(Get-PropertyItem -InputObject $container -Name 'credentialSpecs')
    $found = @(@($legacy) + @($specs) | ForEach-Object { Get-CredSpecArn -Entry $_ } | Select-Object -Unique)
    if ($found.Count -eq 0) {
        continue
    }

    if ($CredSpecArn) {
        $arn = $CredSpecArn
    }
    elseif ($found.Count -eq 1) {
        $arn = $found[0]
    }
    else {
        throw "Cannot migrate ${sourceArn}: container $($container.name) names more than one CredSpec ($($found -join ', ')): choose one with -CredSpecArn."
    }
    if ($arn -notlike 'arn:*') {
        throw "Cannot migrate ${sourceArn}: container $($container.name) uses CredSpec '$arn', which is not an S3 or SSM ARN: upload it and pass -CredSpecArn."
    }
    # Fargate: domainless gMSA only, CredSpec in S3 (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-linux-gmsa.html).
    if ($requiresFargate -and $Mode -eq 'DomainJoined') {
        throw "Cannot migrate ${sourceArn}: the task definition requires FARGATE, which supports domainless gMSA only: use -Mode Domainless."
    }
    if ($requiresFargate -and $arn -notmatch '^arn:[^:]+:s3:::') {
        throw "Cannot migrate ${sourceArn}: the task definition requires FARGATE, which reads the CredSpec from S3 only: pass an S3 object ARN with -CredSpecArn."
    }

    $target = $targetPrefix + $arn
    if ($legacy.Count -eq 0 -and $specs.Count -eq 1 -and $specs[0] -ceq $target) {
        $alreadyMigrated += $container.name
        continue
    }

    $from = @()
    if ($legacy.Count -gt 0) { $from += "dockerSecurityOptions [$($legacy -join ', ')]" }
    if ($specs.Count -gt 0) { $from += "credentialSpecs [$($specs -join ', ')]" }
    $changes += "container $($container.name): $($from -join ' + ') -> credentialSpecs [$target]"

    $remainingOptions = @($securityOptions | Where-Object { $_ -cnotlike 'credentialspec:*' })
    if ($remainingOptions.Count -gt 0) {
        $container.dockerSecurityOptions = $remainingOptions
    }
    else {
        $container.PSObject.Properties.Remove('dockerSecurityOptions')
    }
    $container | Add-Member -NotePropertyName 'credentialSpecs' -NotePropertyValue @($target) -Force
}

if ($changes.Count -eq 0) {
    if ($alreadyMigrated.Count -eq 0) {
        Write-Host "Nothing to migrate in ${sourceArn}: no container uses gMSA (no credentialspec entry in dockerSecurityOptions, no credentialSpecs)."
    }
    else {
        Write-Host "Nothing to migrate in ${sourceArn}: container(s) $($alreadyMigrated -join ', ') already use credentialSpecs ($Mode)."
    }
    return
}
$changes | ForEach-Object { Write-Host $_ }

foreach ($field in $readOnlyFields) {
    $taskDefinitionObject.PSObject.Properties.Remove($field)
}
$tags = @(Get-PropertyItem -InputObject $described -Name 'tags')
if ($tags.Count -gt 0) {
    $taskDefinitionObject | Add-Member -NotePropertyName 'tags' -NotePropertyValue $tags -Force
}

if ($DryRun) {
    Write-Host 'Dry run: the register-task-definition input follows; nothing registered.'
    Write-Output ($taskDefinitionObject | ConvertTo-Json -Depth 20)
    return
}

# ---- register ------------------------------------------------------------------------------------------------------
if (-not $PSCmdlet.ShouldProcess("task definition family $($taskDefinitionObject.family)", "Register a new revision with credentialSpecs ($Mode)")) {
    return
}
# Through a file: Windows PowerShell mangles the double quotes of a JSON string passed to a native command.
$inputFile = [System.IO.Path]::GetTempFileName()
try {
    $json = $taskDefinitionObject | ConvertTo-Json -Depth 20 -Compress
    [System.IO.File]::WriteAllText($inputFile, $json, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
    $registered = Invoke-AwsCliJson -Arguments @('ecs', 'register-task-definition', '--cli-input-json', "file://$inputFile")
}
finally {
    Remove-Item -LiteralPath $inputFile -Force -Confirm:$false -ErrorAction SilentlyContinue
}
$newArn = $registered.taskDefinition.taskDefinitionArn
Write-Host "Registered $newArn (from $sourceArn); update your service to use it."
Write-Output $newArn
