<#
.SYNOPSIS
    Writes the gMSA's CredSpec to the SSM parameter and the S3 object the ECS task definition reads.

.DESCRIPTION
    The CDK app writes the CredSpec at synth time (credspec-template.json) from what it knows: gMSA name, domain
    names and, in domainless mode, the HostAccountConfig with PluginInput {"CredentialArn": <identity secret ARN>}.
    Two values only AD knows stay as placeholders: __DOMAIN_SID__ and __DOMAIN_GUID__. This script reads them from
    Get-ADDomain (DomainSID, ObjectGUID), checks that the template names this domain and an existing gMSA, replaces
    the placeholders (a literal replace, as lib/constructs/credspec-document.ts tests it) and writes the minified
    JSON to the SSM parameter and the S3 object: the same string to both, each only where it differs from what is
    there (a missing parameter or object is written, not an error). CloudFormation owns neither copy, so no stack
    update can put a placeholder back. New-CredentialSpec is not used: it refuses hosts that are not joined.

.PARAMETER TemplatePath
    The CredSpec template the CDK app wrote (placeholders __DOMAIN_SID__ and __DOMAIN_GUID__).

.PARAMETER DomainName
    DNS name of the directory.

.PARAMETER Credential
    An AD account that may read the domain and the gMSA (DIRECTORY\admin).

.PARAMETER ParameterName
    SSM parameter the CredSpec is written to.

.PARAMETER BucketName
    S3 bucket the CredSpec object is written to.

.PARAMETER ObjectKey
    Key of the CredSpec object in the bucket.

.PARAMETER Region
    AWS Region of the parameter and the bucket.

.PARAMETER OutputPath
    Where a copy of the CredSpec is written for people to read.

.EXAMPLE
    .\Generate-CredSpec.ps1 -TemplatePath C:\SampleConfig\credspec-template.json -DomainName <domain> `
        -Credential (Get-Credential) -ParameterName /amazon-ecs-gmsa-linux/credspec -BucketName <bucket> `
        -ObjectKey credspecs/SampleWebApp.json -Region <region>
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $TemplatePath,

    [Parameter(Mandatory = $true)]
    [string] $DomainName,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $Credential,

    [Parameter(Mandatory = $true)]
    [string] $ParameterName,

    [Parameter(Mandatory = $true)]
    [string] $BucketName,

    [Parameter(Mandatory = $true)]
    [string] $ObjectKey,

    [Parameter(Mandatory = $true)]
    [string] $Region,

    # A copy for people to read.
    [string] $OutputPath = (Join-Path $PSScriptRoot 'credspec.json')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module ActiveDirectory

$SidPlaceholder = '__DOMAIN_SID__'
$GuidPlaceholder = '__DOMAIN_GUID__'

$template = (Get-Content -Raw -Path $TemplatePath).Trim()
if (-not $template.Contains($SidPlaceholder) -or -not $template.Contains($GuidPlaceholder)) {
    throw "$TemplatePath lacks the placeholders $SidPlaceholder and $GuidPlaceholder."
}

$domain = Get-ADDomain -Server $DomainName -Credential $Credential
# The PDC emulator, as Configure-AD.ps1 uses: it has the gMSA even if the other controller has not replicated it yet.
$ad = @{ Server = $domain.PDCEmulator; Credential = $Credential }
$expected = ($template | ConvertFrom-Json).DomainJoinConfig
$actual = @{ DnsName = $domain.DNSRoot; DnsTreeName = $domain.Forest; NetBiosName = $domain.NetBIOSName }
foreach ($field in $actual.Keys) {
    if ($expected.$field -ne $actual[$field]) {
        throw "The template's DomainJoinConfig.$field is '$($expected.$field)' but the directory says '$($actual[$field])'."
    }
}
$gmsaName = $expected.MachineAccountName
if (-not (Get-ADServiceAccount -Filter "Name -eq '$gmsaName'" @ad)) {
    throw "The gMSA $gmsaName does not exist: run Configure-AD.ps1 first."
}

$sid = $domain.DomainSID.Value
$guid = $domain.ObjectGUID.ToString()
if ($sid -notmatch '^S-1-5-21-\d+-\d+-\d+$') { throw "Unexpected domain SID '$sid'." }
$credSpec = $template.Replace($SidPlaceholder, $sid).Replace($GuidPlaceholder, $guid)
$credSpec | ConvertFrom-Json | Out-Null # must still be valid JSON
Set-Content -Path $OutputPath -Value $credSpec -Encoding UTF8
Write-Output "CredSpec for $gmsaName in $($domain.DNSRoot): $credSpec"

function Test-NotFound {
    # True when the AWS error (possibly wrapped by the cmdlet) says the parameter or object does not exist.
    param([System.Management.Automation.ErrorRecord] $ErrorRecord, [string[]] $ErrorCodes)
    for ($e = $ErrorRecord.Exception; $null -ne $e; $e = $e.InnerException) {
        $code = $e.PSObject.Properties['ErrorCode']
        if ($null -ne $code -and $ErrorCodes -contains $code.Value) { return $true }
    }
    return $false
}

function Get-CurrentParameterValue {
    # GetParameter (the action the bastion's role may call on this parameter); ParameterNotFound means absent.
    try {
        return (Get-SSMParameter -Name $ParameterName -Region $Region).Value
    }
    catch {
        if (Test-NotFound -ErrorRecord $_ -ErrorCodes 'ParameterNotFound') { return $null }
        throw
    }
}

function Get-CurrentObjectContent {
    # With s3:ListBucket on the bucket a missing key answers NoSuchKey (404) rather than AccessDenied.
    $download = [System.IO.Path]::GetTempFileName()
    try {
        Read-S3Object -BucketName $BucketName -Key $ObjectKey -File $download -Region $Region | Out-Null
        return (Get-Content -Raw -Path $download).Trim()
    }
    catch {
        if (Test-NotFound -ErrorRecord $_ -ErrorCodes 'NoSuchKey', 'NotFound') { return $null }
        throw
    }
    finally {
        Remove-Item -Path $download -Force -ErrorAction SilentlyContinue
    }
}

if ((Get-CurrentParameterValue) -ceq $credSpec) {
    Write-Output "SSM parameter $ParameterName already holds it."
}
else {
    Write-SSMParameter -Name $ParameterName -Value $credSpec -Type String -Overwrite $true -Region $Region | Out-Null
    Write-Output "Wrote SSM parameter $ParameterName."
}

if ((Get-CurrentObjectContent) -ceq $credSpec) {
    Write-Output "S3 object s3://$BucketName/$ObjectKey already holds it."
}
else {
    Write-S3Object -BucketName $BucketName -Key $ObjectKey -Content $credSpec -ContentType 'application/json' -Region $Region | Out-Null
    Write-Output "Wrote S3 object s3://$BucketName/$ObjectKey."
}
